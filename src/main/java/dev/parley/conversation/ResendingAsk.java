package dev.parley.conversation;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeoutException;
import java.util.function.Function;
import org.apache.pekko.actor.Cancellable;
import org.apache.pekko.actor.typed.Scheduler;
import scala.concurrent.ExecutionContext;

/**
 * An ask that delivers its command again while no answer has come: the first attempt at once, the
 * next after {@code resendAfter}, then after twice as long each time but never more than
 * {@code maxInterval} apart, all inside one deadline. The cap is what bounds the wait after the
 * receiver comes back (a killed node's shard gets its new home): with plain doubling a send made
 * 2 s before that waited up to 2.4 s more for its next attempt (issue 23), with the cap at most
 * {@code maxInterval}.
 * Each attempt's own ask lives until that deadline, so a slow answer to an earlier attempt still
 * wins; the first answer completes the result and later ones are ignored. When nothing answered by
 * the deadline the result fails with the last attempt's failure.
 *
 * <p>Only for commands the receiver handles idempotently (a send deduplicated by clientMsgId, a
 * read marker, a read): delivering one twice must answer like delivering it once.
 */
final class ResendingAsk {

  private static final Executor ON_COMPLETING_THREAD = Runnable::run;

  /** Runs a task once after a delay, cancellably (the actor system's scheduler; in a test, a counting one). */
  @FunctionalInterface
  interface Timers {
    Cancellable once(Duration delay, Runnable task);
  }

  private final Timers timers;

  ResendingAsk(Scheduler scheduler, ExecutionContext executor) {
    this((delay, task) -> scheduler.scheduleOnce(delay, task, executor));
  }

  ResendingAsk(Timers timers) {
    this.timers = timers;
  }

  /**
   * @param ask one delivery: sends the command and answers within the given timeout, or fails
   * @param onResend called for every attempt after the first (a metric)
   */
  <R> CompletionStage<R> ask(Function<Duration, CompletionStage<R>> ask, Duration timeout, Duration resendAfter, Runnable onResend) {
    return ask(ask, timeout, resendAfter, timeout, onResend);
  }

  /**
   * @param maxInterval the longest wait between two attempts (at least {@code resendAfter})
   */
  <R> CompletionStage<R> ask(
      Function<Duration, CompletionStage<R>> ask, Duration timeout, Duration resendAfter, Duration maxInterval, Runnable onResend) {
    if (resendAfter.isZero() || resendAfter.compareTo(timeout) >= 0) return ask.apply(timeout);
    CompletableFuture<R> answer = new CompletableFuture<>();
    NextAttempt next = new NextAttempt();
    long capNanos = Math.max(resendAfter.toNanos(), maxInterval.toNanos());
    attempt(ask, answer, next, System.nanoTime() + timeout.toNanos(), resendAfter.toNanos(), capNanos, onResend, true);
    answer.whenComplete((reply, failure) -> next.cancel());
    return answer;
  }

  /**
   * The timer of the next attempt. Set after the answer may have come (an attempt answered before
   * its successor's timer is stored), so both sides cancel: the answer whatever timer is stored,
   * and the attempt its own timer when it finds the answer there already.
   */
  private static final class NextAttempt {
    private volatile Cancellable timer;

    void set(Cancellable timer, CompletableFuture<?> answer) {
      this.timer = timer;
      if (answer.isDone()) timer.cancel();
    }

    void cancel() {
      Cancellable t = timer;
      if (t != null) t.cancel();
    }
  }

  private <R> void attempt(
      Function<Duration, CompletionStage<R>> ask,
      CompletableFuture<R> answer,
      NextAttempt next,
      long deadlineNanos,
      long waitNanos,
      long capNanos,
      Runnable onResend,
      boolean first) {
    long remaining = deadlineNanos - System.nanoTime();
    if (remaining <= 0) {
      answer.completeExceptionally(new TimeoutException("no answer before the deadline"));
      return;
    }
    if (!first) onResend.run();
    boolean last = waitNanos >= remaining;
    // The next attempt is scheduled before this one is made: its time counts from this moment.
    if (!last) {
      next.set(
          timers.once(
              Duration.ofNanos(waitNanos),
              () -> {
                if (!answer.isDone()) attempt(ask, answer, next, deadlineNanos, Math.min(waitNanos * 2, capNanos), capNanos, onResend, false);
              }),
          answer);
    }
    ask.apply(Duration.ofNanos(remaining))
        .whenCompleteAsync(
            (reply, failure) -> {
              if (failure == null) answer.complete(reply);
              else if (last) answer.completeExceptionally(failure);
            },
            ON_COMPLETING_THREAD);
  }
}
