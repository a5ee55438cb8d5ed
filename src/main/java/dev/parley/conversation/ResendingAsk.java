package dev.parley.conversation;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeoutException;
import java.util.function.Function;
import org.apache.pekko.actor.typed.Scheduler;
import scala.concurrent.ExecutionContext;

/**
 * An ask that delivers its command again while no answer has come: the first attempt at once, the
 * next after {@code resendAfter}, then after twice as long each time, all inside one deadline.
 * Each attempt's own ask lives until that deadline, so a slow answer to an earlier attempt still
 * wins; the first answer completes the result and later ones are ignored. When nothing answered by
 * the deadline the result fails with the last attempt's failure.
 *
 * <p>Only for commands the receiver handles idempotently (a send deduplicated by clientMsgId, a
 * read marker, a read): delivering one twice must answer like delivering it once.
 */
final class ResendingAsk {

  private static final Executor ON_COMPLETING_THREAD = Runnable::run;

  private final Scheduler scheduler;
  private final ExecutionContext timers;

  ResendingAsk(Scheduler scheduler, ExecutionContext timers) {
    this.scheduler = scheduler;
    this.timers = timers;
  }

  /**
   * @param ask one delivery: sends the command and answers within the given timeout, or fails
   * @param onResend called for every attempt after the first (a metric)
   */
  <R> CompletionStage<R> ask(Function<Duration, CompletionStage<R>> ask, Duration timeout, Duration resendAfter, Runnable onResend) {
    if (resendAfter.isZero() || resendAfter.compareTo(timeout) >= 0) return ask.apply(timeout);
    CompletableFuture<R> answer = new CompletableFuture<>();
    attempt(ask, answer, System.nanoTime() + timeout.toNanos(), resendAfter.toNanos(), onResend, true);
    return answer;
  }

  private <R> void attempt(
      Function<Duration, CompletionStage<R>> ask,
      CompletableFuture<R> answer,
      long deadlineNanos,
      long waitNanos,
      Runnable onResend,
      boolean first) {
    long remaining = deadlineNanos - System.nanoTime();
    if (remaining <= 0) {
      answer.completeExceptionally(new TimeoutException("no answer before the deadline"));
      return;
    }
    if (!first) onResend.run();
    boolean last = waitNanos >= remaining;
    ask.apply(Duration.ofNanos(remaining))
        .whenCompleteAsync(
            (reply, failure) -> {
              if (failure == null) answer.complete(reply);
              else if (last) answer.completeExceptionally(failure);
            },
            ON_COMPLETING_THREAD);
    if (!last) {
      scheduler.scheduleOnce(
          Duration.ofNanos(waitNanos),
          () -> {
            if (!answer.isDone()) attempt(ask, answer, deadlineNanos, waitNanos * 2, onResend, false);
          },
          timers);
    }
  }
}
