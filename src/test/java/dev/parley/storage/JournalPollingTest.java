package dev.parley.storage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletionStage;
import org.junit.jupiter.api.Test;

/** The read side's pace of asking the journal for new orderings: back off while quiet, full pace on a write. */
class JournalPollingTest {

  /** Scheduled waits, run by the test when it chooses (no clock, no sleep). */
  private final List<Duration> delays = new ArrayList<>();
  private final List<Runnable> timers = new ArrayList<>();

  private final JournalPolling polling =
      new JournalPolling(
          Duration.ofMillis(100),
          Duration.ofSeconds(1),
          (delay, task) -> {
            delays.add(delay);
            timers.add(task);
          },
          Runnable::run);

  @Test
  void whileQueriesFindRowsTheyRunWithoutAnExtraWait() {
    for (int i = 0; i < 5; i++) {
      assertThat(polling.nextQuery().toCompletableFuture()).isDone();
      polling.queried(true);
    }
    assertThat(delays).isEmpty();
    assertThat(polling.idle()).isFalse();
  }

  @Test
  void eachEmptyQueryDoublesThePeriodUpToTheIdleDelay() {
    // The journal-sequence actor waits query-delay (100 ms) itself; the extra wait makes the period 200, 400, 800, 1000 ms.
    assertThat(polling.extraWait(0)).isEqualTo(Duration.ZERO);
    assertThat(polling.extraWait(1)).isEqualTo(Duration.ofMillis(100));
    assertThat(polling.extraWait(2)).isEqualTo(Duration.ofMillis(300));
    assertThat(polling.extraWait(3)).isEqualTo(Duration.ofMillis(700));
    assertThat(polling.extraWait(4)).isEqualTo(Duration.ofMillis(900));
    assertThat(polling.extraWait(30)).isEqualTo(Duration.ofMillis(900));

    for (int i = 0; i < 4; i++) {
      CompletionStage<Void> next = polling.nextQuery();
      if (i > 0) timers.get(timers.size() - 1).run();
      assertThat(next.toCompletableFuture()).isDone();
      polling.queried(false);
    }
    assertThat(delays).containsExactly(Duration.ofMillis(100), Duration.ofMillis(300), Duration.ofMillis(700));
    assertThat(polling.idle()).isTrue();
    assertThat(polling.queries()).isEqualTo(4);
  }

  @Test
  void aWriteEndsTheWaitAndRestoresTheFullPace() {
    for (int i = 0; i < 6; i++) polling.queried(false);
    CompletionStage<Void> waiting = polling.nextQuery();
    assertThat(waiting.toCompletableFuture()).isNotDone();

    polling.written();

    assertThat(waiting.toCompletableFuture()).isDone();
    assertThat(polling.idle()).isFalse();
    assertThat(polling.nextQuery().toCompletableFuture()).isDone();
    // The timer of the ended wait still fires later; it must be harmless.
    timers.forEach(Runnable::run);
    assertThat(polling.nextQuery().toCompletableFuture()).isDone();
  }

  @Test
  void aQueryThatFindsRowsRestoresTheFullPace() {
    for (int i = 0; i < 6; i++) polling.queried(false);
    polling.queried(true);
    assertThat(polling.nextQuery().toCompletableFuture()).isDone();
  }

  @Test
  void tagStreamsNeverWaitWhileTheJournalIsWrittenOrOnlyBrieflyQuiet() {
    assertThat(polling.activity().toCompletableFuture()).isDone();
    for (int i = 0; i < 3; i++) polling.queried(false); // 0.7 s quiet: not idle yet
    assertThat(polling.activity().toCompletableFuture()).isDone();
  }

  @Test
  void onAnIdleJournalTagStreamsWaitForRowsFound() {
    for (int i = 0; i < 5; i++) polling.queried(false);
    CompletionStage<Void> first = polling.activity();
    CompletionStage<Void> second = polling.activity();
    assertThat(first.toCompletableFuture()).isNotDone();
    assertThat(second).as("every stream waits for the same moment").isSameAs(first);

    polling.queried(true);

    assertThat(first.toCompletableFuture()).isDone();
    assertThat(polling.activity().toCompletableFuture()).isDone();
  }

  @Test
  void onAnIdleJournalTagStreamsWaitForAWriteOrTheIdleDelayAtTheLatest() {
    for (int i = 0; i < 5; i++) polling.queried(false);
    CompletionStage<Void> waiting = polling.activity();
    polling.written();
    assertThat(waiting.toCompletableFuture()).isDone();

    for (int i = 0; i < 5; i++) polling.queried(false);
    delays.clear();
    timers.clear();
    CompletionStage<Void> untilTimeout = polling.activity();
    assertThat(delays).containsExactly(Duration.ofSeconds(1));
    timers.get(0).run();
    assertThat(untilTimeout.toCompletableFuture()).isDone();
    assertThat(polling.activity()).as("a new wait after the timeout").isNotSameAs(untilTimeout);
  }

  @Test
  void anIdleDelayShorterThanTheQueryDelayIsRefusedWithTheKeysNamed() {
    assertThatThrownBy(() -> new JournalPolling(Duration.ofSeconds(1), Duration.ofMillis(500), (d, t) -> {}, Runnable::run))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("jdbc-read-journal.idle-query-delay");
  }
}
