package dev.parley.ops;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

class GaugesByTagTest {

  private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
  private final GaugesByTag connections = new GaugesByTag(registry, "parley.cluster.connections", "node", "connections per node");

  @Test
  void showsTheLatestValueOfEachTagAndDropsTagsThatLeft() {
    connections.update(Map.of("pekko://parley@10.0.0.1:2551", 5, "pekko://parley@10.0.0.2:2551", 7));
    connections.update(Map.of("pekko://parley@10.0.0.1:2551", 6));

    String scrape = registry.scrape();
    assertThat(scrape).contains("parley_cluster_connections{node=\"pekko://parley@10.0.0.1:2551\"} 6.0");
    assertThat(scrape).doesNotContain("10.0.0.2");
    assertThat(registry.find("parley.cluster.connections").gauges()).hasSize(1);
  }

  @Test
  void aScrapeDuringUpdatesNeverSeesOneTagTwice() throws Exception {
    // What the publisher does every second, with a scrape racing it: with MultiGauge#register(rows,
    // true) some scrapes fail with DuplicateLabelsException (micrometer#6851).
    Map<String, Integer> rows = new LinkedHashMap<>();
    for (int node = 0; node < 50; node++) rows.put("node-" + node, node);
    connections.update(rows);
    AtomicBoolean updating = new AtomicBoolean(true);
    ExecutorService scraper = Executors.newSingleThreadExecutor();
    try {
      Future<Integer> scrapes =
          scraper.submit(
              () -> {
                int count = 0;
                while (updating.get()) {
                  String scrape = registry.scrape();
                  assertThat(scrape).contains("node=\"node-49\"");
                  count++;
                }
                return count;
              });
      for (int round = 0; round < 3_000; round++) {
        rows.put("node-" + (round % 50), round);
        connections.update(rows);
      }
      updating.set(false);
      assertThat(scrapes.get()).as("scrapes that ran during the updates").isPositive();
    } finally {
      scraper.shutdownNow();
    }
    assertThat(registry.scrape()).contains("parley_cluster_connections{node=\"node-49\"} 2999.0");
  }
}
