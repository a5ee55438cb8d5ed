package dev.parley.storage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

class StorageBreakerTest {

  private static final StorageBreaker.Settings SETTINGS = new StorageBreaker.Settings(3, Duration.ofMillis(100));
  private static final ScheduledExecutorService SCHEDULER = Executors.newSingleThreadScheduledExecutor();
  private static final StorageBreaker.Later LATER = (delay, task) -> SCHEDULER.schedule(task, delay.toMillis(), TimeUnit.MILLISECONDS);

  @AfterAll
  static void stopScheduler() {
    SCHEDULER.shutdownNow();
  }

  /** A write's answer: "ok" from its conversation, or "timeout" when none came. */
  private static final String OK = "ok";
  private static final String NO_ANSWER = "timeout";
  private static final String REFUSED = "refused by the open breaker";

  private final AtomicInteger writesReachingConversations = new AtomicInteger();

  private String write(StorageBreaker breaker, String answer) {
    return breaker
        .call(
            () -> {
              writesReachingConversations.incrementAndGet();
              return CompletableFuture.completedFuture(answer);
            },
            NO_ANSWER::equals,
            () -> REFUSED)
        .toCompletableFuture()
        .join();
  }

  private static Supplier<CompletionStage<Boolean>> database(boolean answers) {
    return () -> CompletableFuture.completedFuture(answers);
  }

  @Test
  void unansweredWritesWhileTheDatabaseAnswersDoNotOpenTheBreaker() {
    StorageBreaker breaker = new StorageBreaker(SETTINGS, database(true), LATER);
    for (int i = 0; i < 10; i++) assertThat(write(breaker, NO_ANSWER)).isEqualTo(NO_ANSWER);

    assertThat(breaker.state()).isEqualTo(StorageBreaker.State.CLOSED);
    assertThat(breaker.openedCount()).isZero();
    assertThat(breaker.notOpenedCount()).as("asked the database after 3 and after 6 and 9 failures").isEqualTo(3);
    assertThat(write(breaker, OK)).as("writes still reach their conversations").isEqualTo(OK);
    assertThat(writesReachingConversations).hasValue(11);
  }

  @Test
  void unansweredWritesAndADatabaseThatDoesNotAnswerOpenIt() {
    StorageBreaker breaker = new StorageBreaker(SETTINGS, database(false), LATER);
    write(breaker, NO_ANSWER);
    write(breaker, NO_ANSWER);
    assertThat(breaker.state()).as("below max-failures").isEqualTo(StorageBreaker.State.CLOSED);
    write(breaker, NO_ANSWER);

    assertThat(breaker.state()).isEqualTo(StorageBreaker.State.OPEN);
    assertThat(write(breaker, OK)).as("answered at once, without reaching a conversation").isEqualTo(REFUSED);
    assertThat(writesReachingConversations).hasValue(3);
    assertThat(breaker.refusedCount()).isEqualTo(1);
    assertThat(breaker.openedCount()).isEqualTo(1);
  }

  @Test
  void anAnswerInBetweenStartsTheCountAgain() {
    StorageBreaker breaker = new StorageBreaker(SETTINGS, database(false), LATER);
    write(breaker, NO_ANSWER);
    write(breaker, NO_ANSWER);
    write(breaker, OK);
    write(breaker, NO_ANSWER);
    write(breaker, NO_ANSWER);
    assertThat(breaker.state()).isEqualTo(StorageBreaker.State.CLOSED);
  }

  @Test
  void aDatabaseCheckThatFailsOrNeverAnswersCountsAsNoAnswer() {
    StorageBreaker failing =
        new StorageBreaker(SETTINGS, () -> CompletableFuture.failedFuture(new IllegalStateException("connection refused")), LATER);
    for (int i = 0; i < 3; i++) write(failing, NO_ANSWER);
    assertThat(failing.state()).isEqualTo(StorageBreaker.State.OPEN);

    StorageBreaker hanging = new StorageBreaker(SETTINGS, CompletableFuture::new, LATER);
    for (int i = 0; i < 3; i++) write(hanging, NO_ANSWER);
    assertThat(hanging.state()).as("while the check is still out").isEqualTo(StorageBreaker.State.CLOSED);
    await("opened when the check times out").atMost(Duration.ofSeconds(10)).until(() -> hanging.state() != StorageBreaker.State.CLOSED);
    assertThat(hanging.openedCount()).isEqualTo(1);
  }

  @Test
  void whileOpenItAsksTheDatabaseAndClosesAtItsFirstAnswer() {
    AtomicBoolean databaseAnswers = new AtomicBoolean(false);
    AtomicInteger probes = new AtomicInteger();
    StorageBreaker breaker =
        new StorageBreaker(
            SETTINGS,
            () -> {
              probes.incrementAndGet();
              return CompletableFuture.completedFuture(databaseAnswers.get());
            },
            LATER);
    for (int i = 0; i < 3; i++) write(breaker, NO_ANSWER);
    assertThat(breaker.state()).isEqualTo(StorageBreaker.State.OPEN);
    int probesWhenOpened = probes.get();

    await("asked again and again while the database is away").atMost(Duration.ofSeconds(5)).until(() -> probes.get() >= probesWhenOpened + 3);
    assertThat(breaker.state()).as("no answer yet").isEqualTo(StorageBreaker.State.OPEN);
    assertThat(write(breaker, OK)).as("no trial write: refused until the database answers").isEqualTo(REFUSED);
    assertThat(writesReachingConversations).hasValue(3);

    databaseAnswers.set(true);
    await("closed at the database's first answer, without a write").atMost(Duration.ofSeconds(5)).until(() -> breaker.state() == StorageBreaker.State.CLOSED);
    assertThat(breaker.closedCount()).isEqualTo(1);
    assertThat(write(breaker, OK)).isEqualTo(OK);
    int probesWhenClosed = probes.get();
    write(breaker, OK);
    assertThat(probes).as("no probes while closed and writes are answered").hasValue(probesWhenClosed);
  }

  @Test
  void theOpenDurationIsRecorded() {
    AtomicBoolean databaseAnswers = new AtomicBoolean(false);
    StorageBreaker breaker = new StorageBreaker(SETTINGS, () -> CompletableFuture.completedFuture(databaseAnswers.get()), LATER);
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    breaker.bindMetrics(registry);
    for (int i = 0; i < 3; i++) write(breaker, NO_ANSWER);
    assertThat(registry.get("parley.storage.breaker.open").gauge().value()).isEqualTo(1.0);
    databaseAnswers.set(true);
    await().atMost(Duration.ofSeconds(5)).until(() -> breaker.state() == StorageBreaker.State.CLOSED);
    assertThat(registry.get("parley.storage.breaker.open").gauge().value()).isZero();
    assertThat(registry.get("parley.storage.breaker.open.duration").timer().count()).isEqualTo(1);
    assertThat(registry.get("parley.storage.breaker.open.duration").timer().totalTime(TimeUnit.MILLISECONDS)).isPositive();
  }

  @Test
  void whoeverListensHearsEachClosingOnce() {
    AtomicBoolean databaseAnswers = new AtomicBoolean(false);
    AtomicInteger closings = new AtomicInteger();
    StorageBreaker breaker = new StorageBreaker(SETTINGS, () -> CompletableFuture.completedFuture(databaseAnswers.get()), LATER);
    breaker.whenClosed(closings::incrementAndGet);
    for (int i = 0; i < 3; i++) write(breaker, NO_ANSWER);
    assertThat(breaker.state()).isEqualTo(StorageBreaker.State.OPEN);
    assertThat(closings).as("not while open").hasValue(0);

    databaseAnswers.set(true);
    await().atMost(Duration.ofSeconds(5)).until(() -> breaker.state() == StorageBreaker.State.CLOSED);
    await().atMost(Duration.ofSeconds(5)).until(() -> closings.get() == 1);
    // A second outage: told again.
    databaseAnswers.set(false);
    for (int i = 0; i < 3; i++) write(breaker, NO_ANSWER);
    databaseAnswers.set(true);
    await().atMost(Duration.ofSeconds(5)).until(() -> closings.get() == 2);
    assertThat(breaker.closedCount()).isEqualTo(2);
  }
}
