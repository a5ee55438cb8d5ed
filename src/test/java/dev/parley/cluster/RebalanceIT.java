package dev.parley.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.parley.Node;
import dev.parley.testing.TestCluster;
import dev.parley.testing.WsClient;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.pekko.cluster.typed.Cluster;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Connection rebalancing on three real nodes: every client starts on one node (the two others
 * join later, as in a scale-out); the clients follow their {@code reconnect} frames as protocol.md
 * says, and the connections end within the bound of the mean, none moved twice within
 * min-connection-age, with the counts and the moves in every node's metrics.
 */
class RebalanceIT {

  private static final HttpClient HTTP = HttpClient.newHttpClient();
  private static final int CLIENTS = 30;
  private static final Duration MIN_CONNECTION_AGE = Duration.ofSeconds(5);

  @RegisterExtension final TestCluster cluster = TestCluster.perTest();

  /** Fast rounds, a small minimum excess (30 clients), a moved connection closes right after its hint, steering on. */
  private static final Map<String, Object> SETTINGS =
      Map.of(
          "parley.rebalance.interval", "500ms",
          "parley.rebalance.publish-interval", "200ms",
          "parley.rebalance.margin", 0.1,
          "parley.rebalance.min-excess", 1,
          "parley.rebalance.moves-per-second", 10,
          "parley.rebalance.min-connection-age", MIN_CONNECTION_AGE.toMillis() + "ms",
          "parley.rebalance.handover", "0s",
          // These clients retry a 503 on another node, as protocol.md asks.
          "parley.rebalance.steer-new-connections", "on");

  /** One user's client: its current connection, the node it is on, and when it was asked to move. */
  private final class FollowingClient {
    final String user;
    final AtomicReference<WsClient> socket = new AtomicReference<>();
    volatile int node;
    final List<Long> movedAtNanos = new CopyOnWriteArrayList<>();
    final List<ObjectNode> hints = new CopyOnWriteArrayList<>();

    FollowingClient(String user, int node) {
      this.user = user;
      this.node = node;
      socket.set(cluster.connect(nodes.get(node), user));
      socket.get().pingPong();
    }

    /** Waits for reconnect frames and follows each to another node, until the test ends. */
    void follow() {
      while (!done) {
        ObjectNode hint;
        try {
          hint = socket.get().expect("reconnect");
        } catch (AssertionError noneYet) {
          continue;
        }
        hints.add(hint);
        movedAtNanos.add(System.nanoTime());
        // A node above its share answers 503: try the others until one takes the client.
        WsClient next =
            await("a node that takes " + user)
                .atMost(Duration.ofSeconds(30))
                .pollInterval(Duration.ofMillis(100))
                .until(this::connectElsewhere, c -> c != null);
        WsClient old = socket.getAndSet(next);
        old.close();
      }
    }

    private WsClient connectElsewhere() {
      List<Integer> others = new ArrayList<>();
      for (int i = 0; i < nodes.size(); i++) if (i != node) others.add(i);
      Collections.shuffle(others, ThreadLocalRandom.current());
      for (int candidate : others) {
        URI uri = TestCluster.wsUri(nodes.get(candidate), cluster.token(user));
        try {
          WsClient client = WsClient.connect(uri);
          node = candidate;
          return client;
        } catch (AssertionError refused) {
          // 503 from a node above its share (or its admission): the next one.
        }
      }
      return null;
    }
  }

  private final List<Node> nodes = new CopyOnWriteArrayList<>();
  private volatile boolean done;

  @Test
  void connectionsOfOneNodeSpreadOverNodesThatJoinWithinTheBoundAndNoneMovesTwice() throws Exception {
    nodes.add(cluster.startNode(SETTINGS));
    List<FollowingClient> clients = new ArrayList<>();
    for (int i = 0; i < CLIENTS; i++) clients.add(new FollowingClient("user-" + i, 0));
    ExecutorService followers = Executors.newFixedThreadPool(CLIENTS);
    try {
      clients.forEach(c -> followers.execute(c::follow));
      // Scale out: two nodes join a node that holds every connection.
      nodes.add(cluster.startNode(SETTINGS));
      nodes.add(cluster.startNode(SETTINGS));

      double mean = CLIENTS / 3.0;
      await("connections within 15 % of the mean on every node")
          .atMost(Duration.ofSeconds(90))
          .pollInterval(Duration.ofMillis(250))
          .untilAsserted(
              () ->
                  assertThat(connectionsPerNode())
                      .allSatisfy(count -> assertThat((double) count).isBetween(mean * 0.85, mean * 1.15)));

      int moves = clients.stream().mapToInt(c -> c.movedAtNanos.size()).sum();
      assertThat(moves).as("at least what balance needs: 30 -> 11 on the first node").isGreaterThanOrEqualTo(19);
      assertThat(clients)
          .allSatisfy(
              c -> {
                assertThat(c.hints).allSatisfy(h -> assertThat(h.path("reason").asText()).isEqualTo("rebalance"));
                for (int i = 1; i < c.movedAtNanos.size(); i++) {
                  assertThat(Duration.ofNanos(c.movedAtNanos.get(i) - c.movedAtNanos.get(i - 1)))
                      .as(c.user + " moved twice within min-connection-age")
                      .isGreaterThanOrEqualTo(MIN_CONNECTION_AGE);
                }
              });

      // The counts and the moves in the metrics: every node knows every node's count.
      await("metrics show the counts and the completed moves")
          .atMost(Duration.ofSeconds(20))
          .pollInterval(Duration.ofMillis(250))
          .untilAsserted(
              () -> {
                List<Integer> live = connectionsPerNode();
                long completed = 0;
                long requested = 0;
                for (Node scraped : nodes) {
                  Map<String, Double> samples = scrape(scraped);
                  for (int i = 0; i < nodes.size(); i++) {
                    String sample = "parley_cluster_connections{node=\"" + address(nodes.get(i)) + "\"}";
                    assertThat(samples).as(sample).containsEntry(sample, (double) live.get(i));
                  }
                  completed += samples.getOrDefault("parley_rebalance_moves_total{result=\"completed\"}", 0.0).longValue();
                  requested += samples.getOrDefault("parley_rebalance_moves_total{result=\"requested\"}", 0.0).longValue();
                  assertThat(samples).containsKey("parley_rebalance_state");
                }
                // At least every move the clients had made when the bound was first reached: the
                // nodes may still even out a connection or two after that moment (one run: 38
                // completed, 35 counted at that moment), so not asserted equal.
                assertThat(completed).as("moves completed, summed over the nodes, cover the moves the clients made").isGreaterThanOrEqualTo(moves);
                assertThat(completed).as("never more completed than requested").isLessThanOrEqualTo(requested);
              });
    } finally {
      done = true;
      followers.shutdownNow();
      clients.forEach(c -> c.socket.get().close());
    }
  }

  private List<Integer> connectionsPerNode() {
    return nodes.stream().map(n -> NodeLifecycle.get(n.system()).openConnections()).toList();
  }

  private static String address(Node node) {
    return Cluster.get(node.system()).selfMember().address().toString();
  }

  private static Map<String, Double> scrape(Node node) throws Exception {
    HttpResponse<String> response =
        HTTP.send(HttpRequest.newBuilder(URI.create(node.managementUri() + "/metrics")).GET().build(), HttpResponse.BodyHandlers.ofString());
    Map<String, Double> samples = new HashMap<>();
    for (String line : response.body().split("\n")) {
      if (line.isBlank() || line.startsWith("#")) continue;
      int space = line.lastIndexOf(' ');
      samples.put(line.substring(0, space), Double.parseDouble(line.substring(space + 1)));
    }
    return samples;
  }
}
