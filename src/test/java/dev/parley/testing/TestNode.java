package dev.parley.testing;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigValueFactory;
import dev.parley.Node;
import dev.parley.auth.Tokens;
import dev.parley.inbox.InboxStore;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.util.Comparator;
import java.util.HashMap;
import java.util.Map;
import java.util.stream.Stream;

/**
 * A real Parley node for end-to-end tests, started through {@link Node#start} on ports chosen by
 * the OS, on storage of its own: an embedded H2 database in a fresh temporary directory, or a
 * fresh PostgreSQL database that is dropped again on {@link #close()}. The node can be stopped and
 * a new one started on the same storage ({@link #restart()}), which is how a test proves that
 * nothing lives only in memory.
 *
 * <p>The recent window is deliberately tiny ({@link #RECENT_WINDOW}) and snapshots frequent
 * ({@link #SNAPSHOT_EVERY}), so that history pages and resumes below the window really come from
 * the journal and restarts really recover from a snapshot plus events.
 */
public final class TestNode implements AutoCloseable {

  public static final String JWT_SECRET = "parley-end-to-end-tests-secret-0123456789-abcdef";
  public static final int RECENT_WINDOW = 8;
  public static final int SNAPSHOT_EVERY = 5;
  public static final int MAX_FRAME_BYTES = 2048;
  public static final int MAX_TEXT_LENGTH = 1000;
  /** Small, so that a replay longer than the outbound buffer is cheap to set up. */
  public static final int OUTBOUND_BUFFER = 64;
  public static final int HISTORY_MAX_LIMIT = 100;
  public static final String ADMIN_TOKEN = "parley-end-to-end-admin-token";

  private final Storage storage;
  private final String jwtSecret;
  private final Tokens tokens;
  /** Settings of this test on top of the ones above (e.g. a larger frame for a 1,000-member create). */
  private final Map<String, Object> extraSettings = new HashMap<>();
  private Node node;

  private TestNode(Storage storage, String jwtSecret, Map<String, Object> extraSettings) {
    this.storage = storage;
    this.jwtSecret = jwtSecret;
    this.extraSettings.putAll(extraSettings);
    this.tokens = new Tokens(Tokens.usesDevelopmentSecret(jwtSecret) ? Tokens.DEVELOPMENT_SECRET : jwtSecret, Clock.systemUTC());
  }

  /** A node on a new PostgreSQL database, with {@code settings} on top of the test defaults. */
  public static TestNode onPostgresWith(Map<String, Object> settings) throws Exception {
    return onPostgres(settings);
  }

  /** A node on an embedded H2 database in a new temporary directory. */
  /** Starts a node on storage of its own; see {@link #storages()}. */
  public interface Factory {
    TestNode start() throws Exception;
  }

  /**
   * For {@code @MethodSource("dev.parley.testing.TestNode#storages")}: the same test on embedded H2
   * and on PostgreSQL, named by the storage.
   */
  /**
   * Settings for a node whose test is about storage, not about shutdown: a node stopped a moment
   * after it started on PostgreSQL can find its projections' shards still being allocated, and
   * its regions then wait out the whole region-shutdown phase (25 s in application.conf) for a
   * handoff that never comes. Such a test loses nothing by a short phase.
   */
  public static final Map<String, Object> STOPS_QUICKLY =
      Map.of("pekko.coordinated-shutdown.phases.cluster-sharding-shutdown-region.timeout", "2s");

  /** {@link #storages()} for nodes with {@link #STOPS_QUICKLY}. */
  public static java.util.stream.Stream<org.junit.jupiter.params.provider.Arguments> storagesStoppingQuickly() {
    return java.util.stream.Stream.of(
        org.junit.jupiter.params.provider.Arguments.of("h2", (Factory) () -> onH2(STOPS_QUICKLY)),
        org.junit.jupiter.params.provider.Arguments.of("postgresql", (Factory) () -> onPostgres(STOPS_QUICKLY)));
  }

  public static java.util.stream.Stream<org.junit.jupiter.params.provider.Arguments> storages() {
    return java.util.stream.Stream.of(
        org.junit.jupiter.params.provider.Arguments.of("h2", (Factory) TestNode::onH2),
        org.junit.jupiter.params.provider.Arguments.of("postgresql", (Factory) TestNode::onPostgres));
  }

  public static TestNode onH2() throws Exception {
    return onH2(Map.of());
  }

  /** A node on H2 with {@code settings} (e.g. {@code parley.limits.sends-per-second}) on top of the test defaults. */
  public static TestNode onH2(Map<String, Object> settings) throws Exception {
    return startOn(new H2(Files.createTempDirectory("parley-it-")), settings);
  }

  /** A node on a new PostgreSQL database with {@code settings} on top of the test defaults. */
  public static TestNode onPostgres(Map<String, Object> settings) throws Exception {
    return startOn(newPostgresDatabase(TestPostgres.server().port()), settings);
  }

  /**
   * A node on H2 without a configured JWT secret, as {@code parley server} runs out of the box: it
   * accepts tokens of the public development secret (and offers the browser's development sign-in).
   */
  public static TestNode onH2WithDevelopmentSecret() throws Exception {
    return startOn(new H2(Files.createTempDirectory("parley-it-")), "");
  }

  /** As {@link #onH2WithDevelopmentSecret()}, with {@code settings} on top of the test defaults. */
  public static TestNode onH2WithDevelopmentSecret(Map<String, Object> settings) throws Exception {
    return startOn(new H2(Files.createTempDirectory("parley-it-")), "", settings);
  }

  /** A node on a new PostgreSQL database {@code parley_it_<random>} on the tests' server ({@link TestPostgres}). */
  public static TestNode onPostgres() throws Exception {
    return onPostgres(Map.of());
  }

  /**
   * A node on a new PostgreSQL database reached through {@code port} on 127.0.0.1, e.g. a
   * {@link TcpProxy} in front of {@link TestPostgres#server()} that a test cuts to make the
   * database go away.
   */
  public static TestNode onPostgresAt(int port) throws Exception {
    return onPostgresAt(port, Map.of());
  }

  public static TestNode onPostgresAt(int port, Map<String, Object> settings) throws Exception {
    return startOn(newPostgresDatabase(port), settings);
  }

  private static Storage newPostgresDatabase(int port) throws SQLException {
    return new Postgres(TestPostgres.createDatabase(), port);
  }

  private static TestNode startOn(Storage storage) throws Exception {
    return startOn(storage, JWT_SECRET, Map.of());
  }

  private static TestNode startOn(Storage storage, String jwtSecret) throws Exception {
    return startOn(storage, jwtSecret, Map.of());
  }

  private static TestNode startOn(Storage storage, Map<String, Object> settings) throws Exception {
    return startOn(storage, JWT_SECRET, settings);
  }

  private static TestNode startOn(Storage storage, String jwtSecret, Map<String, Object> settings) throws Exception {
    TestNode testNode = new TestNode(storage, jwtSecret, settings);
    try {
      testNode.start();
    } catch (Exception | Error e) {
      storage.release();
      throw e;
    }
    return testNode;
  }

  /** Starts a node on this storage; only valid while no node is running. */
  public void start() throws Exception {
    if (node != null) throw new IllegalStateException("a node is already running");
    node = Node.start(config());
  }

  /** Stops the running node (through CoordinatedShutdown) and keeps the storage. */
  public void stop() throws Exception {
    if (node == null) return;
    Node running = node;
    node = null;
    running.close();
  }

  /** Stops the node and starts a new one on the same storage; the new one listens on a new port. */
  public void restart() throws Exception {
    stop();
    start();
  }

  /** Overrides on top of application.conf, so that substitutions in it see them (e.g. the cluster port). */
  private Config config() {
    Map<String, Object> overrides = new HashMap<>();
    overrides.put("parley.http.interface", "127.0.0.1");
    overrides.put("parley.http.port", 0);
    overrides.put("parley.cluster.host", "127.0.0.1");
    overrides.put("parley.cluster.port", 0);
    overrides.put("parley.cluster.seed-nodes", "");
    overrides.put("parley.management.interface", "127.0.0.1");
    overrides.put("parley.management.port", 0);
    // Stopping a node drains its connections over this window; keep restarts quick.
    overrides.put("parley.drain.window", "500ms");
    overrides.put("parley.jwt.secret", jwtSecret);
    overrides.put("parley.admin.token", ADMIN_TOKEN);
    overrides.put("parley.conversation.recent-window", RECENT_WINDOW);
    overrides.put("parley.conversation.snapshot-every", SNAPSHOT_EVERY);
    overrides.put("parley.gateway.max-frame-bytes", MAX_FRAME_BYTES);
    overrides.put("parley.gateway.max-text-length", MAX_TEXT_LENGTH);
    overrides.put("parley.gateway.history-max-limit", HISTORY_MAX_LIMIT);
    overrides.put("parley.gateway.outbound-buffer", OUTBOUND_BUFFER);
    overrides.put("parley.db.pool-size", 4);
    overrides.put("pekko.cluster.shutdown-after-unsuccessful-join-seed-nodes", "20s");
    overrides.put("pekko.coordinated-shutdown.run-by-jvm-shutdown-hook", "off");
    // The restart test runs a second node next to the shared one, in the same JVM.
    overrides.put("pekko.cluster.jmx.multi-mbeans-in-same-jvm", "on");
    // Abuse limits off unless a test sets them: other tests send bursts far above a human's pace.
    overrides.put("parley.limits.sends-per-second", 0);
    overrides.put("parley.limits.typing-per-second", 0);
    overrides.put("parley.limits.subscriptions-per-connection", 0);
    overrides.put("parley.limits.connections-per-user", 0);
    overrides.put("parley.limits.conversations-created-per-minute", 0);
    overrides.putAll(storage.settings());
    overrides.putAll(extraSettings);
    Config config = ConfigFactory.empty();
    for (Map.Entry<String, Object> e : overrides.entrySet()) {
      config = config.withValue(e.getKey(), ConfigValueFactory.fromAnyRef(e.getValue()));
    }
    // ConfigFactory.load() would resolve application.conf's ${parley.cluster.port} before these
    // overrides apply; layering them under the unresolved application.conf resolves them together.
    ConfigFactory.invalidateCaches();
    return ConfigFactory.load(config.withFallback(ConfigFactory.defaultApplication()));
  }

  /** Pekko Management of the running node: health checks and the admin routes. */
  public URI managementUri() {
    return URI.create(node.managementUri().toString());
  }

  /** Whether the running node's actor system has terminated (it left the cluster and stopped). */
  public boolean hasTerminated() {
    return node.whenTerminated().isDone();
  }

  public int httpPort() {
    if (node == null) throw new IllegalStateException("the node is not running");
    return node.httpPort();
  }

  /** Mints a valid token for {@code user}, signed with the node's secret. */
  public String token(String user) {
    return tokens.mint(user, Duration.ofHours(1));
  }

  /** The running node itself, for tests that look inside (e.g. a bot's stored progress). */
  public Node node() {
    if (node == null) throw new IllegalStateException("the node is not running");
    return node;
  }

  public Tokens tokens() {
    return tokens;
  }

  public URI httpBase() {
    return URI.create("http://127.0.0.1:" + httpPort());
  }

  public URI wsBase() {
    return URI.create("ws://127.0.0.1:" + httpPort() + "/v1/ws");
  }

  /** The websocket endpoint with {@code token} as query parameter; null means none at all. */
  public URI wsUri(String token) {
    if (token == null) return wsBase();
    return URI.create(wsBase() + "?token=" + URLEncoder.encode(token, StandardCharsets.UTF_8));
  }

  /** Opens a websocket as {@code user} with a freshly minted token. */
  public WsClient connect(String user) {
    return WsClient.connect(wsUri(token(user)));
  }

  public ApiClient api() {
    return new ApiClient(httpBase());
  }

  /** The running node's inbox read model (its statement counter proves there is no N+1). */
  public InboxStore inboxStore() {
    if (node == null) throw new IllegalStateException("the node is not running");
    return node.inboxStore();
  }

  /** How often this node's inbox projection consumers failed (and were restarted after a backoff). */
  public long inboxProjectionFailures() {
    if (node == null) throw new IllegalStateException("the node is not running");
    return dev.parley.inbox.InboxProjection.Progress.get(node.system()).failures();
  }

  /** How often this node's inbox projection consumers (re)started from their stored offsets. */
  public long inboxProjectionStarts() {
    if (node == null) throw new IllegalStateException("the node is not running");
    return dev.parley.inbox.InboxProjection.Progress.get(node.system()).starts();
  }

  /**
   * How many conversation entities are alive on this node. Every journal read of a conversation
   * goes through its entity (recovery, history) or the projection, so a request that starts no
   * entity read nothing of the journal for it.
   */
  public int liveConversations() throws Exception {
    if (node == null) throw new IllegalStateException("the node is not running");
    org.apache.pekko.actor.typed.ActorSystem<Void> system = node.system();
    org.apache.pekko.cluster.sharding.ShardRegion.CurrentShardRegionState state =
        org.apache.pekko.actor.typed.javadsl.AskPattern.<org.apache.pekko.cluster.sharding.typed.ClusterShardingQuery, org.apache.pekko.cluster.sharding.ShardRegion.CurrentShardRegionState>ask(
                org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding.get(system).shardState(),
                replyTo -> new org.apache.pekko.cluster.sharding.typed.GetShardRegionState(dev.parley.conversation.Conversation.ENTITY_TYPE_KEY, replyTo),
                Duration.ofSeconds(10),
                system.scheduler())
            .toCompletableFuture()
            .get(15, java.util.concurrent.TimeUnit.SECONDS);
    return state.getShards().stream().mapToInt(shard -> shard.getEntityIds().size()).sum();
  }

  /**
   * A new JDBC connection to this node's database, straight to the server (not through a
   * {@link TcpProxy}): how tests seed the read model and look at it. H2 in the same JVM shares the
   * node's open database when the URL is the same.
   */
  public Connection openDatabase() throws SQLException {
    return storage.open();
  }

  public boolean onPostgreSQL() {
    return storage instanceof Postgres;
  }

  public String storageName() {
    return storage.toString();
  }

  @Override
  public void close() throws Exception {
    try {
      stop();
    } finally {
      storage.release();
    }
  }

  // ---- storage flavours -----------------------------------------------------------------------

  private sealed interface Storage permits H2, Postgres {
    Map<String, Object> settings();

    Connection open() throws SQLException;

    /** Throws the storage away; called once, after the last node on it stopped. */
    void release() throws Exception;
  }

  private record H2(Path dataDir) implements Storage {
    @Override
    public Map<String, Object> settings() {
      return Map.of("parley.data-dir", dataDir.toString(), "parley.db.url", "", "parley.db.user", "", "parley.db.password", "");
    }

    @Override
    public Connection open() throws SQLException {
      // The URL dev.parley.storage.Storage derives from parley.data-dir (same JVM: same database).
      return DriverManager.getConnection(
          "jdbc:h2:file:" + dataDir.toAbsolutePath().resolve("parley") + ";DB_CLOSE_ON_EXIT=FALSE", "sa", "");
    }

    @Override
    public void release() throws IOException {
      try (Stream<Path> files = Files.walk(dataDir)) {
        for (Path p : files.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
      }
    }
  }

  /** A database on the tests' PostgreSQL server, which the node reaches through {@code port}. */
  private record Postgres(String database, int port) implements Storage {
    @Override
    public Map<String, Object> settings() {
      TestPostgres.Server server = TestPostgres.server();
      return Map.of(
          "parley.db.url", server.urlVia(port, database),
          "parley.db.user", server.user(),
          "parley.db.password", server.password());
    }

    @Override
    public Connection open() throws SQLException {
      return TestPostgres.server().open(database);
    }

    @Override
    public void release() throws SQLException {
      TestPostgres.dropDatabase(database);
    }
  }
}
