package dev.parley.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.parley.Node;
import dev.parley.testing.TestCluster;
import dev.parley.testing.WsClient;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** How a leaving node lets go of its clients: readiness off first, then reconnect hints spread over the window. */
class DrainIT {

  private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

  private TestCluster cluster;

  @BeforeEach
  void startCluster() throws Exception {
    cluster = TestCluster.onPostgres();
  }

  @AfterEach
  void stopCluster() throws Exception {
    cluster.close();
  }

  /** What one client saw: when its reconnect hint arrived, the hint, and the close that followed. */
  private record Drained(long arrivedNanos, ObjectNode reconnect, int closeStatus) {}

  @Test
  void everyClientIsToldToReconnectAtItsOwnMomentInTheWindowThenClosed() throws Exception {
    Node node = cluster.startNode(Map.of("parley.drain.window", "3s"));
    int clients = 20;
    ExecutorService readers = Executors.newFixedThreadPool(clients);
    List<WsClient> connected = new ArrayList<>();
    try {
      List<CompletableFuture<Drained>> drained = new ArrayList<>();
      for (int i = 0; i < clients; i++) {
        WsClient client = cluster.connect(node, "user-" + i);
        connected.add(client);
        client.pingPong();
        // One reader per client, blocked on its own frames: the time it wakes up is the arrival time.
        drained.add(
            CompletableFuture.supplyAsync(
                () -> {
                  ObjectNode reconnect = client.expect("reconnect");
                  long arrived = System.nanoTime();
                  return new Drained(arrived, reconnect, client.awaitClosed());
                },
                readers));
      }

      long closeStarted = System.nanoTime();
      cluster.leave(node);

      List<Drained> seen = new ArrayList<>();
      for (CompletableFuture<Drained> d : drained) seen.add(d.get(30, TimeUnit.SECONDS));
      assertThat(seen)
          .allSatisfy(
              d -> {
                assertThat(d.reconnect().path("afterMs").asLong(-1)).isGreaterThanOrEqualTo(0);
                assertThat(d.closeStatus()).as("closed by the server after the hint").isNotEqualTo(WsClient.ABNORMAL_CLOSURE);
                assertThat(d.arrivedNanos() - closeStarted).as("inside the window (plus slack)").isLessThan(Duration.ofSeconds(6).toNanos());
              });
      long first = seen.stream().mapToLong(Drained::arrivedNanos).min().orElseThrow();
      long last = seen.stream().mapToLong(Drained::arrivedNanos).max().orElseThrow();
      assertThat(Duration.ofNanos(last - first)).as("hints spread over the 3 s window, not sent in one burst").isGreaterThan(Duration.ofSeconds(1));
    } finally {
      connected.forEach(WsClient::close);
      readers.shutdownNow();
    }
  }

  @Test
  void readinessTurnsFalseAndNewConnectionsAreRefusedAsSoonAsDrainingStarts() throws Exception {
    Node node = cluster.startNode(Map.of("parley.drain.readiness-delay", "2s"));
    URI ready = URI.create(node.managementUri().toString() + "/ready");
    URI ws = TestCluster.wsUri(node, cluster.token("alice"));
    await("ready once up").atMost(Duration.ofSeconds(10)).until(() -> status(ready) == 200);

    CompletableFuture<Void> leaving =
        CompletableFuture.runAsync(
            () -> {
              try {
                cluster.leave(node);
              } catch (Exception e) {
                throw new IllegalStateException(e);
              }
            });
    // During the readiness delay the node still serves: readiness says 503 and new websockets are
    // turned away (to another node, by the load balancer or the client's retry).
    int whileDraining =
        await("not ready while draining")
            .atMost(Duration.ofSeconds(2))
            .pollInterval(Duration.ofMillis(20))
            .until(() -> status(ready), s -> s != 200);
    assertThat(whileDraining).as("/ready still answers, with a failure status").isBetween(500, 599);
    assertThat(leaving).as("still inside the readiness delay").isNotDone();
    assertThat(WsClient.refusedUpgradeStatus(ws)).isEqualTo(503);
    leaving.get(1, TimeUnit.MINUTES);
  }

  /** The HTTP status of a GET, or -1 when nothing answers. */
  private static int status(URI uri) {
    try {
      return HTTP.send(HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(3)).GET().build(), HttpResponse.BodyHandlers.discarding()).statusCode();
    } catch (IOException e) {
      return -1;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return -1;
    }
  }
}
