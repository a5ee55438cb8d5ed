package dev.parley.storage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.parley.testing.TestNode;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.persistence.jdbc.config.JournalConfig;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@code jdbc-journal.write-linger} (issue 18): a writer that took a write waits that long for
 * more, so writes that arrive one after the other on a database that answers fast still share a
 * statement and a commit; without it each went alone (~1 commit per acked send at 1,000/s,
 * benchmarks.md 2026-12-05). A lone write is not written before the linger is over.
 */
class JournalWriterLingerIT {

  @ParameterizedTest(name = "{0}")
  @MethodSource("dev.parley.testing.TestNode#storagesStoppingQuickly")
  void writesArrivingWithinTheLingerShareOneBatch(String storage, TestNode.Factory factory) throws Exception {
    try (TestNode node = factory.start()) {
      JournalWrites statistics = new JournalWrites();
      JournalWriter writer = new JournalWriter("linger-it", 1, 100, 400, Duration.ofMillis(700), inserts(node), node::openDatabase, statistics);
      try {
        String pid = "linger-" + UUID.randomUUID();
        CompletableFuture<Void> first = writer.write(List.of(row(pid, 1)));
        // the first write waits for company
        await().during(Duration.ofMillis(300)).atMost(Duration.ofSeconds(2)).until(() -> !first.isDone());
        CompletableFuture<Void> second = writer.write(List.of(row(pid, 2)));
        CompletableFuture<Void> third = writer.write(List.of(row(pid, 3)));
        CompletableFuture.allOf(first, second, third).get(10, TimeUnit.SECONDS);
        assertThat(statistics.batches()).isEqualTo(1);
        assertThat(statistics.rows()).isEqualTo(3);

        // without a linger a lone write goes at once, in a batch of its own
        JournalWrites alone = new JournalWrites();
        JournalWriter eager = new JournalWriter("linger-it-0", 1, 100, 400, Duration.ZERO, inserts(node), node::openDatabase, alone);
        try {
          eager.write(List.of(row(pid, 4))).get(10, TimeUnit.SECONDS);
          eager.write(List.of(row(pid, 5))).get(10, TimeUnit.SECONDS);
          assertThat(alone.batches()).isEqualTo(2);
        } finally {
          eager.stop();
        }
      } finally {
        writer.stop();
      }
    }
  }

  private static JournalInserts inserts(TestNode node) {
    JournalConfig config = new JournalConfig(node.node().system().settings().config().getConfig("jdbc-journal"));
    return new JournalInserts(config.eventJournalTableConfiguration(), config.eventTagTableConfiguration());
  }

  private static JournalInserts.Row row(String pid, long seq) {
    return new JournalInserts.Row(
        pid, seq, false, "w", seq, "", ("e" + seq).getBytes(StandardCharsets.UTF_8), 4, "m", null, null, null, Set.of("conversations-1"));
  }
}
