package dev.parley.storage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.parley.testing.TestNode;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.pekko.persistence.jdbc.config.JournalConfig;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The journal's group commit ({@code jdbc-journal.write-linger*}, issue 18): writes that arrive
 * fast from many conversations share a statement and a commit even when they do not overlap on a
 * database that answers fast, one batch per linger for the whole stage (not one per writer); a lone
 * write is not made to wait. Without a linger each paced write went alone (~0.65 commits per acked
 * send at 2,000/s, benchmarks.md 2026-12-05).
 */
class JournalWriterLingerIT {

  private static final int CONVERSATIONS = 20;

  @ParameterizedTest(name = "{0}")
  @MethodSource("dev.parley.testing.TestNode#storagesStoppingQuickly")
  void writesArrivingFastFromManyConversationsShareOneBatchPerLinger(String storage, TestNode.Factory factory) throws Exception {
    try (TestNode node = factory.start()) {
      JournalWrites statistics = new JournalWrites();
      // two writers, as the node's default: a 40 ms window for the stage gives ~50 batches in 2 s, one per writer ~100
      JournalWriter writer =
          new JournalWriter("linger-it", 2, 4000, 400, new WriteLinger(Duration.ofMillis(40), 400, 1000), inserts(node), node::openDatabase, statistics);
      ScheduledExecutorService clock = Executors.newSingleThreadScheduledExecutor();
      try {
        String run = UUID.randomUUID().toString();
        int writes = 2000;
        List<CompletableFuture<Void>> acks = new ArrayList<>();
        AtomicInteger sent = new AtomicInteger();
        CompletableFuture<Void> allSent = new CompletableFuture<>();
        // one write per millisecond (open model: due by the clock, not by the previous answer), round-robin over conversations
        clock.scheduleAtFixedRate(
            () -> {
              int i = sent.getAndIncrement();
              if (i >= writes) {
                allSent.complete(null);
                return;
              }
              synchronized (acks) {
                acks.add(writer.write(List.of(row("c" + (i % CONVERSATIONS) + "-" + run, i / CONVERSATIONS + 1))));
              }
            },
            0,
            1,
            TimeUnit.MILLISECONDS);
        allSent.get(60, TimeUnit.SECONDS);
        synchronized (acks) {
          CompletableFuture.allOf(acks.toArray(CompletableFuture[]::new)).get(30, TimeUnit.SECONDS);
        }
        assertThat(statistics.rows()).isEqualTo(writes);
        // without a linger ~1 batch per write; one 40 ms window for the stage ~75 (incl. the ~25
        // writes that go alone while the rate estimate rises); two writers lingering side by side
        // would make ~125
        assertThat(statistics.batches()).isLessThanOrEqualTo(100);
      } finally {
        clock.shutdownNow();
        writer.stop();
      }
    }
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("dev.parley.testing.TestNode#storagesStoppingQuickly")
  void aLoneWriteIsNotDelayedByTheLinger(String storage, TestNode.Factory factory) throws Exception {
    try (TestNode node = factory.start()) {
      JournalWrites statistics = new JournalWrites();
      JournalWriter writer =
          new JournalWriter("linger-it-lone", 2, 100, 400, new WriteLinger(Duration.ofSeconds(5), 400, 50), inserts(node), node::openDatabase, statistics);
      try {
        String pid = "lone-" + UUID.randomUUID();
        for (int seq = 1; seq <= 3; seq++) {
          CompletableFuture<Void> ack = writer.write(List.of(row(pid, seq)));
          // a linger of 5 s would hold it that long
          await().atMost(Duration.ofSeconds(2)).until(ack::isDone);
          assertThat(ack).isCompleted();
        }
        assertThat(statistics.batches()).isEqualTo(3);
      } finally {
        writer.stop();
      }
    }
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("dev.parley.testing.TestNode#storagesStoppingQuickly")
  void fromRateZeroMakesEveryBatchWaitForCompanyUntilItHoldsTheRows(String storage, TestNode.Factory factory) throws Exception {
    try (TestNode node = factory.start()) {
      JournalWrites statistics = new JournalWrites();
      JournalWriter writer =
          new JournalWriter("linger-it-always", 1, 100, 400, new WriteLinger(Duration.ofSeconds(60), 0, 3), inserts(node), node::openDatabase, statistics);
      try {
        String pid = "always-" + UUID.randomUUID();
        CompletableFuture<Void> first = writer.write(List.of(row(pid, 1)));
        // the first write waits for company (a minute at most)
        await().during(Duration.ofMillis(300)).atMost(Duration.ofSeconds(5)).until(() -> !first.isDone());
        CompletableFuture<Void> second = writer.write(List.of(row(pid, 2)));
        CompletableFuture<Void> third = writer.write(List.of(row(pid, 3)));
        // three rows are write-linger-rows: written then, not after the minute
        CompletableFuture.allOf(first, second, third).get(20, TimeUnit.SECONDS);
        assertThat(statistics.batches()).isEqualTo(1);
        assertThat(statistics.rows()).isEqualTo(3);
      } finally {
        writer.stop();
      }
    }
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("dev.parley.testing.TestNode#storagesStoppingQuickly")
  void aWriteThatDoesNotFillTheBatchLeavesTheLingeringWriterAsleep(String storage, TestNode.Factory factory) throws Exception {
    try (TestNode node = factory.start()) {
      JournalWrites statistics = new JournalWrites();
      JournalWriter writer =
          new JournalWriter("linger-it-asleep", 1, 100, 400, new WriteLinger(Duration.ofSeconds(60), 0, 5), inserts(node), node::openDatabase, statistics);
      try {
        String pid = "asleep-" + UUID.randomUUID();
        List<CompletableFuture<Void>> acks = new ArrayList<>();
        acks.add(writer.write(List.of(row(pid, 1))));
        // the idle writer takes the first write at once, then lingers for company
        await().atMost(Duration.ofSeconds(5)).until(() -> writer.queuedRows() == 0);
        for (int seq = 2; seq <= 4; seq++) {
          acks.add(writer.write(List.of(row(pid, seq))));
          // it stays queued: the lingering writer is not woken for a write that leaves its batch
          // short of write-linger-rows (woken for each, it took each at once and slept again)
          int queued = seq - 1;
          await().during(Duration.ofMillis(100)).atMost(Duration.ofSeconds(2)).until(() -> writer.queuedRows() == queued);
        }
        // the fifth row fills the batch: that write wakes the writer, long before the minute
        acks.add(writer.write(List.of(row(pid, 5))));
        CompletableFuture.allOf(acks.toArray(CompletableFuture[]::new)).get(20, TimeUnit.SECONDS);
        assertThat(statistics.batches()).isEqualTo(1);
        assertThat(statistics.rows()).isEqualTo(5);
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
