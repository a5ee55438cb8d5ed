package dev.parley.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import dev.parley.Node;
import dev.parley.testing.TestCluster;
import dev.parley.testing.WsClient;
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

/**
 * The drain window fits the node: its reconnect hints spread over connections ÷ handover-rate,
 * longer than the configured window when the node holds many connections, never longer than
 * max-window. (The arithmetic itself: DrainWindowTest.)
 */
class DrainWindowIT {

  @RegisterExtension final TestCluster cluster = TestCluster.perTest();

  @Test
  void aNodeHoldingManyConnectionsStretchesItsWindowBeyondTheConfiguredOne() throws Exception {
    // 30 connections at 10 a second: 3 s, though the window is 1 s (cap 10 s).
    Duration spread = hintSpreadOfADrain(30, Map.of("parley.drain.window", "1s", "parley.drain.max-window", "10s"));
    assertThat(spread).as("hints spread over about 3 s, well beyond the 1 s window").isGreaterThan(Duration.ofMillis(2000));
  }

  @Test
  void theStretchedWindowStopsAtItsCap() throws Exception {
    // 80 connections at 10 a second would take 8 s; the cap is 2 s.
    Duration spread = hintSpreadOfADrain(80, Map.of("parley.drain.window", "1s", "parley.drain.max-window", "2s"));
    assertThat(spread).as("hints within the 2 s cap (slack for a busy machine), not over 8 s").isLessThan(Duration.ofMillis(5000));
    assertThat(spread).as("and over more than the 1 s window").isGreaterThan(Duration.ofMillis(1000));
  }

  /** Drains a node holding {@code connections} clients; how far apart their first and last hints arrived. */
  private Duration hintSpreadOfADrain(int connections, Map<String, Object> window) throws Exception {
    Map<String, Object> settings = new java.util.HashMap<>(window);
    settings.put("parley.drain.handover", "0s");
    settings.put("parley.drain.handover-rate", 10);
    settings.put("parley.rebalance.enabled", "off");
    Node node = cluster.startNode(settings);
    ExecutorService readers = Executors.newFixedThreadPool(connections);
    List<WsClient> clients = new ArrayList<>();
    try {
      List<CompletableFuture<Long>> hints = new ArrayList<>();
      for (int i = 0; i < connections; i++) {
        WsClient client = cluster.connect(node, "user-" + i);
        clients.add(client);
        client.pingPong();
        hints.add(
            CompletableFuture.supplyAsync(
                () -> {
                  client.expect("reconnect");
                  return System.nanoTime();
                },
                readers));
      }
      cluster.leave(node);
      List<Long> at = new ArrayList<>();
      for (CompletableFuture<Long> hint : hints) at.add(hint.get(60, TimeUnit.SECONDS));
      long first = at.stream().mapToLong(Long::longValue).min().orElseThrow();
      long last = at.stream().mapToLong(Long::longValue).max().orElseThrow();
      return Duration.ofNanos(last - first);
    } finally {
      clients.forEach(WsClient::close);
      readers.shutdownNow();
    }
  }
}
