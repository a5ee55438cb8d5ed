package dev.parley.storage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.parley.testing.TestNode;
import java.nio.charset.StandardCharsets;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executor;
import org.apache.pekko.persistence.jdbc.config.JournalConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * A batch's writes are answered together, by one task on the answering executor (the actor threads'
 * dispatcher in a node), not one by one from the writer's thread: each answer there became a task of
 * its own on the actor threads' pool (issue 18, sixth session). Durable first, answered after: no
 * write of a batch is answered before the batch is written, and a failed batch fails every write.
 */
class JournalWriterAnswersIT {

  /** An executor that holds what it is given until the test runs it. */
  private static final class HeldTasks implements Executor {
    final ConcurrentLinkedQueue<Runnable> tasks = new ConcurrentLinkedQueue<>();

    @Override
    public void execute(Runnable task) {
      tasks.add(task);
    }
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("dev.parley.testing.TestNode#storagesStoppingQuickly")
  void aWrittenBatchIsAnsweredByOneTaskOnTheAnsweringExecutor(String storage, TestNode.Factory factory) throws Exception {
    try (TestNode node = factory.start()) {
      JournalWrites statistics = new JournalWrites();
      HeldTasks answers = new HeldTasks();
      // a minute's linger that ends at 5 rows: the five writes below are one batch
      JournalWriter writer =
          new JournalWriter("answers-it", 1, 100, 400, new WriteLinger(Duration.ofSeconds(60), 0, 5), inserts(node), node::openDatabase, statistics, answers);
      try {
        String pid = "answers-" + UUID.randomUUID();
        List<CompletableFuture<Void>> acks = new ArrayList<>();
        for (int seq = 1; seq <= 5; seq++) acks.add(writer.write(List.of(row(pid, seq))));
        await().atMost(Duration.ofSeconds(20)).until(() -> !answers.tasks.isEmpty());
        assertThat(statistics.batches()).isEqualTo(1);
        assertThat(statistics.rows()).isEqualTo(5);
        // written, and not one of them answered by the writer itself
        assertThat(acks).noneMatch(CompletableFuture::isDone);
        assertThat(answers.tasks).hasSize(1);
        answers.tasks.poll().run();
        assertThat(acks).allMatch(ack -> ack.isDone() && !ack.isCompletedExceptionally());
      } finally {
        writer.stop();
      }
    }
  }

  @Test
  void aFailedBatchFailsEveryWriteInOneTask() {
    HeldTasks answers = new HeldTasks();
    JournalWriter writer =
        new JournalWriter(
            "answers-failing",
            1,
            100,
            400,
            new WriteLinger(Duration.ofSeconds(60), 0, 3),
            null,
            () -> {
              throw new SQLException("the database is down");
            },
            new JournalWrites(),
            answers);
    try {
      String pid = "failing-" + UUID.randomUUID();
      List<CompletableFuture<Void>> acks = new ArrayList<>();
      for (int seq = 1; seq <= 3; seq++) acks.add(writer.write(List.of(row(pid, seq))));
      await().atMost(Duration.ofSeconds(20)).until(() -> !answers.tasks.isEmpty());
      assertThat(acks).noneMatch(CompletableFuture::isDone);
      assertThat(answers.tasks).hasSize(1);
      answers.tasks.poll().run();
      assertThat(acks).allMatch(CompletableFuture::isCompletedExceptionally);
    } finally {
      writer.stop();
    }
  }

  @Test
  void aBatchIsAnsweredFromTheWritersThreadWhenTheExecutorRefuses() {
    JournalWriter writer =
        new JournalWriter(
            "answers-refused",
            1,
            100,
            400,
            new WriteLinger(Duration.ZERO, 0, 1),
            null,
            () -> {
              throw new SQLException("the database is down");
            },
            new JournalWrites(),
            task -> {
              throw new java.util.concurrent.RejectedExecutionException("shutting down");
            });
    try {
      CompletableFuture<Void> ack = writer.write(List.of(row("refused-" + UUID.randomUUID(), 1)));
      await().atMost(Duration.ofSeconds(20)).until(ack::isDone);
      assertThat(ack).isCompletedExceptionally();
    } finally {
      writer.stop();
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
