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
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** How a leaving node lets go of its clients: readiness off first, then reconnect hints spread over the window. */
class DrainIT {

  private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

  @RegisterExtension final TestCluster cluster = TestCluster.perTest();

  /**
   * What one client saw: when its reconnect hint arrived, the hint, whether the connection still
   * answered a request after the hint, and when (and how) it was closed.
   */
  private record Drained(long hintNanos, ObjectNode reconnect, boolean answeredAfterHint, long closedNanos, int closeStatus) {}

  @Test
  void everyClientIsToldToReconnectAtItsOwnMomentAndItsConnectionWorksUntilTheHandoverEnds() throws Exception {
    Node node = cluster.startNode(Map.of("parley.drain.window", "4s", "parley.drain.handover", "2s"));
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
                  long hint = System.nanoTime();
                  boolean answered = client.pingPong().path("type").asText().equals("pong");
                  int status = client.awaitClosed();
                  return new Drained(hint, reconnect, answered, System.nanoTime(), status);
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
                assertThat(d.reconnect().path("afterMs").asLong(-1)).as("afterMs: jitter of a tenth of the handover").isBetween(0L, 200L);
                assertThat(d.reconnect().path("closeInMs").asLong(-1)).as("closeInMs: the handover").isEqualTo(2000);
                assertThat(d.answeredAfterHint()).as("the connection keeps working after the hint").isTrue();
                // A lower bound only: a busy machine can make the close later, never earlier.
                assertThat(Duration.ofNanos(d.closedNanos() - d.hintNanos()))
                    .as("closed once the handover is over, not at the hint")
                    .isGreaterThan(Duration.ofMillis(1500));
                assertThat(d.closeStatus()).as("closed by the server after the handover").isNotEqualTo(WsClient.ABNORMAL_CLOSURE);
                assertThat(d.hintNanos() - closeStarted).as("inside the window (plus slack)").isLessThan(Duration.ofSeconds(8).toNanos());
              });
      long first = seen.stream().mapToLong(Drained::hintNanos).min().orElseThrow();
      long last = seen.stream().mapToLong(Drained::hintNanos).max().orElseThrow();
      assertThat(Duration.ofNanos(last - first))
          .as("hints spread over the 2 s the handover leaves of the 4 s window, not sent in one burst")
          .isGreaterThan(Duration.ofMillis(1000));
    } finally {
      connected.forEach(WsClient::close);
      readers.shutdownNow();
    }
  }

  @Test
  void withoutAHandoverEveryConnectionClosesRightAfterItsHint() throws Exception {
    Node node = cluster.startNode(Map.of("parley.drain.window", "2s", "parley.drain.handover", "0s"));
    WsClient client = cluster.connect(node, "alice");
    client.pingPong();
    cluster.leave(node);
    ObjectNode reconnect = client.expect("reconnect");
    assertThat(reconnect.path("closeInMs").asLong(-1)).isZero();
    assertThat(reconnect.path("afterMs").asLong(-1)).isBetween(0L, 1000L);
    assertThat(client.awaitClosed()).isNotEqualTo(WsClient.ABNORMAL_CLOSURE);
  }

  @Test
  void readinessTurnsFalseAndNewConnectionsAreRefusedAsSoonAsDrainingStarts() throws Exception {
    Node node = cluster.startNode(Map.of("parley.drain.readiness-delay", "2s"));
    URI ready = URI.create(node.managementUri().toString() + "/ready");
    URI ws = TestCluster.wsUri(node, cluster.token("alice"));
    await("ready once up").atMost(Duration.ofSeconds(10)).until(() -> status(ready) == 200);

    CompletableFuture<Void> leaving =
        cluster.leaveInBackground(node);
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
