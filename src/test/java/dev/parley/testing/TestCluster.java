package dev.parley.testing;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigValueFactory;
import dev.parley.Node;
import dev.parley.auth.Tokens;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Down;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Several real Parley nodes in this JVM forming one Pekko cluster on one fresh PostgreSQL database
 * ({@code parley_it_<random>} on the tests' server, {@link TestPostgres}; dropped on {@link #close()}). Every node binds
 * HTTP and management to ports chosen by the OS and remoting to a free port; the first node started
 * is the seed of all of them. Failure detection, the Split Brain Resolver and the removal margin
 * are application.conf's (a crashed node is served again within about 10 s).
 */
public final class TestCluster implements AutoCloseable, BeforeEachCallback, AfterEachCallback {

  private String database;
  private final Tokens tokens = new Tokens(TestNode.JWT_SECRET, Clock.systemUTC());
  private final List<Node> running = new CopyOnWriteArrayList<>();
  private String seedAddress;

  private TestCluster() {}

  /**
   * For {@code @RegisterExtension}: a cluster per test, on its own database, created before the
   * test and stopped (nodes and database) after it, also when the test fails.
   */
  public static TestCluster perTest() {
    return new TestCluster();
  }

  @Override
  public void beforeEach(ExtensionContext context) throws Exception {
    createDatabase();
  }

  @Override
  public void afterEach(ExtensionContext context) throws Exception {
    close();
  }

  private void createDatabase() throws Exception {
    database = TestPostgres.createDatabase();
  }

  /** Starts a node that joins the first one (or forms the cluster, when it is the first). */
  public Node startNode() throws Exception {
    return startNode(Map.of());
  }

  /** Starts a node with settings of its own on top of the cluster's test settings. */
  public Node startNode(Map<String, Object> extra) throws Exception {
    int port = freePort();
    if (seedAddress == null) seedAddress = "pekko://parley@127.0.0.1:" + port;
    Map<String, Object> overrides = new HashMap<>();
    overrides.put("parley.http.interface", "127.0.0.1");
    overrides.put("parley.http.port", 0);
    overrides.put("parley.cluster.host", "127.0.0.1");
    overrides.put("parley.cluster.port", port);
    overrides.put("parley.cluster.seed-nodes", seedAddress);
    overrides.put("parley.management.port", 0);
    overrides.put("parley.jwt.secret", TestNode.JWT_SECRET);
    TestPostgres.Server postgres = TestPostgres.server();
    overrides.put("parley.db.url", postgres.url(database));
    overrides.put("parley.db.user", postgres.user());
    overrides.put("parley.db.password", postgres.password());
    overrides.put("parley.db.pool-size", 4);
    overrides.put("parley.drain.readiness-delay", "0s");
    overrides.put("parley.drain.window", "1s");
    overrides.put("pekko.cluster.shutdown-after-unsuccessful-join-seed-nodes", "30s");
    overrides.put("pekko.coordinated-shutdown.run-by-jvm-shutdown-hook", "off");
    overrides.put("pekko.cluster.jmx.multi-mbeans-in-same-jvm", "on");
    // Abuse limits off unless a test sets them (in extra): load tests send far above a human's pace.
    overrides.put("parley.limits.sends-per-second", 0);
    overrides.put("parley.limits.typing-per-second", 0);
    overrides.put("parley.limits.subscriptions-per-connection", 0);
    overrides.put("parley.limits.connections-per-user", 0);
    overrides.put("parley.limits.conversations-created-per-minute", 0);
    overrides.putAll(extra);
    Config config = ConfigFactory.empty();
    for (Map.Entry<String, Object> e : overrides.entrySet()) {
      config = config.withValue(e.getKey(), ConfigValueFactory.fromAnyRef(e.getValue()));
    }
    // Layered under the unresolved application.conf (not over ConfigFactory.load()), so that its
    // substitutions, e.g. pekko.remote.artery.canonical.port = ${parley.cluster.port}, see them.
    ConfigFactory.invalidateCaches();
    Node node = Node.start(ConfigFactory.load(config.withFallback(ConfigFactory.defaultApplication())));
    running.add(node);
    awaitReady(node);
    return node;
  }

  /**
   * Up in the cluster is not yet ready: the node's shard region registers with the coordinator a
   * moment later, and until it has, no shard is allocated to it (tests that need conversations on
   * a given node would find none). /ready says when (its sharding check).
   */
  private static void awaitReady(Node node) {
    HttpClient http = HttpClient.newHttpClient();
    HttpRequest ready = HttpRequest.newBuilder(URI.create(node.managementUri() + "/ready")).timeout(Duration.ofSeconds(5)).build();
    Awaitility.await("node ready")
        .atMost(Duration.ofSeconds(60))
        .ignoreExceptions()
        .until(() -> http.send(ready, HttpResponse.BodyHandlers.discarding()).statusCode() == 200);
  }

  /** Mints a valid token for {@code user}. */
  public String token(String user) {
    return tokens.mint(user, Duration.ofHours(1));
  }

  public static URI wsUri(Node node, String token) {
    return URI.create(
        "ws://127.0.0.1:" + node.httpPort() + "/v1/ws?token=" + URLEncoder.encode(token, StandardCharsets.UTF_8));
  }

  /** Opens a websocket to {@code node} as {@code user}. */
  public WsClient connect(Node node, String user) {
    return WsClient.connect(wsUri(node, token(user)));
  }

  /** Leaves gracefully (CoordinatedShutdown, as on SIGTERM) and forgets the node. */
  public void leave(Node node) throws Exception {
    running.remove(node);
    node.close();
  }

  /** Leaves as {@link #leave} does, on another thread: for tests that act while the node drains. */
  public CompletableFuture<Void> leaveInBackground(Node node) {
    return CompletableFuture.runAsync(
        () -> {
          try {
            leave(node);
          } catch (Exception e) {
            throw new IllegalStateException("leaving " + node, e);
          }
        });
  }

  /** Forgets a node the test stopped in its own way (e.g. killed). */
  public void forget(Node node) {
    running.remove(node);
  }

  /**
   * Stops every node still running, all at once: each marks itself down and stops as a downed node
   * does (CoordinatedShutdown without the leave), then the database is dropped. The test is over,
   * so there is nothing to hand over: leaving gracefully one node after the other (nodes leaving
   * together wait for each other's exit confirmation until a phase timeout) took 7-11 s of every
   * three-node test, and tests that are about leaving do it themselves ({@link #leave}).
   */
  @Override
  public void close() throws Exception {
    try {
      for (Node node : running) {
        Cluster cluster = Cluster.get(node.system());
        cluster.manager().tell(new Down(cluster.selfMember().address()));
      }
      for (Node node : running) {
        try {
          node.system().getWhenTerminated().toCompletableFuture().get(20, TimeUnit.SECONDS);
        } catch (TimeoutException e) { // not a member yet, say: no downing reaches it
          node.system().terminate();
          node.system().getWhenTerminated().toCompletableFuture().get(60, TimeUnit.SECONDS);
        }
      }
      running.clear();
    } finally {
      if (database != null) TestPostgres.dropDatabase(database);
      database = null;
    }
  }

  private static int freePort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0)) {
      return socket.getLocalPort();
    }
  }
}
