package dev.parley.conversation;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import static org.awaitility.Awaitility.await;

import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.ManualTime;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/**
 * The resend behind sends and read markers: a receiver that loses the first deliveries, as a shard
 * region does with the messages it buffered for a shard in handoff, still answers before the
 * deadline; a receiver that never answers fails the ask at the deadline, after a bounded number of
 * deliveries.
 */
class ResendingAskTest {

  private static final ActorTestKit testKit = ActorTestKit.create();
  private static final ResendingAsk resending = new ResendingAsk(testKit.scheduler(), testKit.system().executionContext());

  record Ping(int id, ActorRef<Integer> replyTo) {}

  /** A second system whose scheduler only moves when the test says so: attempts can be counted per moment. */
  private static final ActorTestKit manualKit = ActorTestKit.create("manual", ManualTime.config());
  private static final ManualTime manualTime = ManualTime.get(manualKit.system());

  @AfterAll
  static void shutdown() {
    testKit.shutdownTestKit();
    manualKit.shutdownTestKit();
  }

  /** Ignores the first {@code lost} messages, answers each later one with its id. */
  private static Behavior<Ping> losesFirst(int lost, AtomicInteger received) {
    return Behaviors.receiveMessage(
        ping -> {
          if (received.incrementAndGet() > lost) ping.replyTo().tell(ping.id());
          return Behaviors.same();
        });
  }

  private static Function<Duration, CompletionStage<Integer>> asking(ActorRef<Ping> target, AtomicInteger attempts) {
    return timeout -> AskPattern.ask(target, replyTo -> new Ping(attempts.incrementAndGet(), replyTo), timeout, testKit.scheduler());
  }

  /** The answer of a resending ask with a 20 s deadline (never reached when the test passes). */
  private static Integer answer(ActorRef<Ping> target, AtomicInteger attempts, Duration resendAfter, AtomicInteger resends) throws Exception {
    return resending
        .ask(asking(target, attempts), Duration.ofSeconds(20), resendAfter, resends::incrementAndGet)
        .toCompletableFuture()
        .get(20, TimeUnit.SECONDS);
  }

  @Test
  void aLostDeliveryIsResentAndAnsweredBeforeTheDeadline() throws Exception {
    AtomicInteger received = new AtomicInteger();
    AtomicInteger attempts = new AtomicInteger();
    AtomicInteger resends = new AtomicInteger();
    ActorRef<Ping> target = testKit.spawn(losesFirst(2, received));

    Integer answer = answer(target, attempts, Duration.ofMillis(50), resends);

    // Deliveries 1 and 2 were lost; the third (sent 50 + 100 ms after the first) answered.
    assertThat(answer).isEqualTo(3);
    assertThat(resends).hasValue(2);
    assertThat(received).hasValue(3);
  }

  @Test
  void aReceiverThatAnswersAtOnceGetsOneDelivery() throws Exception {
    AtomicInteger received = new AtomicInteger();
    AtomicInteger attempts = new AtomicInteger();
    AtomicInteger resends = new AtomicInteger();
    ActorRef<Ping> target = testKit.spawn(losesFirst(0, received));

    Integer answer = answer(target, attempts, Duration.ofSeconds(10), resends);

    assertThat(answer).isEqualTo(1);
    assertThat(resends).hasValue(0);
    assertThat(received).hasValue(1);
  }

  @Test
  void silenceFailsAtTheDeadlineAfterBoundedDoublingResends() {
    AtomicInteger received = new AtomicInteger();
    AtomicInteger attempts = new AtomicInteger();
    AtomicInteger resends = new AtomicInteger();
    ActorRef<Ping> target = testKit.spawn(losesFirst(Integer.MAX_VALUE, received));

    long started = System.nanoTime();
    CompletionStage<Integer> answer =
        resending.ask(asking(target, attempts), Duration.ofMillis(1000), Duration.ofMillis(100), resends::incrementAndGet);

    assertThatThrownBy(() -> answer.toCompletableFuture().get(20, TimeUnit.SECONDS))
        .isInstanceOf(ExecutionException.class)
        .hasCauseInstanceOf(TimeoutException.class);
    // Attempts at 0, 100, 300 and 700 ms; the next (1,500 ms) would be past the 1 s deadline. The
    // promise is the bound (never more than four) and that silence is resent at all; on a starved
    // machine the 700 ms attempt can be scheduled after the deadline and is then not made.
    assertThat(attempts.get()).isBetween(2, 4);
    assertThat(resends.get()).isEqualTo(attempts.get() - 1);
    // Not before the deadline: every attempt's ask lives until it, so a late answer could still win.
    assertThat(Duration.ofNanos(System.nanoTime() - started)).isGreaterThanOrEqualTo(Duration.ofMillis(1000));
  }

  @Test
  void aSlowAnswerToTheFirstDeliveryStillWinsAfterAResend() throws Exception {
    AtomicInteger attempts = new AtomicInteger();
    AtomicInteger resends = new AtomicInteger();
    // Answers the first delivery only after the second has arrived (and drops the second), like a
    // conversation whose first persist is slow.
    ActorRef<Ping> target =
        testKit.spawn(
            Behaviors.setup(
                ctx -> {
                  ActorRef<Integer>[] firstReplyTo = new ActorRef[1];
                  return Behaviors.receiveMessage(
                      ping -> {
                        if (ping.id() == 1) firstReplyTo[0] = ping.replyTo();
                        else firstReplyTo[0].tell(1);
                        return Behaviors.same();
                      });
                }));

    Integer answer = answer(target, attempts, Duration.ofMillis(50), resends);

    assertThat(answer).isEqualTo(1);
    assertThat(resends).hasValue(1);
  }

  @Test
  void aZeroIntervalMeansASingleDelivery() {
    AtomicInteger received = new AtomicInteger();
    AtomicInteger attempts = new AtomicInteger();
    ActorRef<Ping> target = testKit.spawn(losesFirst(1, received));

    CompletionStage<Integer> answer =
        resending.ask(asking(target, attempts), Duration.ofMillis(300), Duration.ZERO, () -> {});

    assertThatThrownBy(() -> answer.toCompletableFuture().get(20, TimeUnit.SECONDS))
        .hasCauseInstanceOf(TimeoutException.class);
    assertThat(attempts).hasValue(1);
  }

  @Test
  void resendsDoubleUntilTheCapThenComeEveryCapInterval() {
    ResendingAsk manual = new ResendingAsk(manualKit.scheduler(), manualKit.system().executionContext());
    AtomicInteger attempts = new AtomicInteger();
    ActorRef<Ping> silent = manualKit.spawn(losesFirst(Integer.MAX_VALUE, new AtomicInteger()));
    Function<Duration, CompletionStage<Integer>> asking =
        timeout -> AskPattern.ask(silent, replyTo -> new Ping(attempts.incrementAndGet(), replyTo), timeout, manualKit.scheduler());

    // resend-after 100 ms, cap 400 ms: attempts at 0, 100, 300, 700, then every 400 ms (1,100, 1,500, ...);
    // without the cap the fifth would come at 1,500 ms.
    manual.ask(asking, Duration.ofSeconds(60), Duration.ofMillis(100), Duration.ofMillis(400), () -> {});
    await().until(() -> attempts.get() == 1);
    long[] waits = {100, 200, 400, 400, 400};
    for (int i = 0; i < waits.length; i++) {
      manualTime.timePasses(Duration.ofMillis(waits[i] - 1));
      assertThat(attempts).as("no attempt before its time").hasValue(i + 1);
      manualTime.timePasses(Duration.ofMillis(1));
      int expected = i + 2;
      await().until(() -> attempts.get() == expected);
    }
  }

  @Test
  void anAnswerCancelsTheTimerOfTheNextAttempt() throws Exception {
    // Counts every run of a resend timer: a timer left after the answer would cost a dispatcher
    // task per command for nothing.
    AtomicInteger timerRuns = new AtomicInteger();
    ResendingAsk manual =
        new ResendingAsk(
            (delay, task) ->
                manualKit
                    .scheduler()
                    .scheduleOnce(
                        delay,
                        () -> {
                          timerRuns.incrementAndGet();
                          task.run();
                        },
                        manualKit.system().executionContext()));
    AtomicInteger attempts = new AtomicInteger();
    ActorRef<Ping> answers = manualKit.spawn(losesFirst(0, new AtomicInteger()));
    Function<Duration, CompletionStage<Integer>> asking =
        timeout -> AskPattern.ask(answers, replyTo -> new Ping(attempts.incrementAndGet(), replyTo), timeout, manualKit.scheduler());

    Integer answer =
        manual.ask(asking, Duration.ofSeconds(60), Duration.ofMillis(100), () -> {}).toCompletableFuture().get(20, TimeUnit.SECONDS);
    manualTime.timePasses(Duration.ofSeconds(2));

    assertThat(answer).isEqualTo(1);
    assertThat(attempts).hasValue(1);
    assertThat(timerRuns).as("resend timers run after the answer").hasValue(0);
  }
}
