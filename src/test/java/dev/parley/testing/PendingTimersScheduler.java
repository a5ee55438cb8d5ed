package dev.parley.testing;

import com.typesafe.config.Config;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.pekko.actor.Cancellable;
import org.apache.pekko.actor.LightArrayRevolverScheduler;
import org.apache.pekko.event.LoggingAdapter;
import scala.concurrent.ExecutionContext;
import scala.concurrent.duration.FiniteDuration;

/**
 * Pekko's scheduler, counting the tasks waiting in it: a one-shot task from being scheduled until
 * it runs or is cancelled, a repeating one until it is cancelled (a fixed-delay timer, such as a
 * stream stage's {@code scheduleWithFixedDelay}, is a chain of one-shots: one waits at a time).
 * Install with {@code pekko.scheduler.implementation}; one node per JVM may use it.
 */
public final class PendingTimersScheduler extends LightArrayRevolverScheduler {

  private static final AtomicLong PENDING = new AtomicLong();

  public PendingTimersScheduler(Config config, LoggingAdapter log, ThreadFactory threadFactory) {
    super(config, log, threadFactory);
  }

  /** Tasks scheduled and neither run (one-shots) nor cancelled. */
  public static long pending() {
    return PENDING.get();
  }

  @Override
  public Cancellable scheduleOnce(FiniteDuration delay, Runnable runnable, ExecutionContext executor) {
    AtomicBoolean done = new AtomicBoolean();
    PENDING.incrementAndGet();
    Cancellable scheduled = super.scheduleOnce(delay, () -> {
      if (done.compareAndSet(false, true)) PENDING.decrementAndGet();
      runnable.run();
    }, executor);
    return counted(scheduled, done);
  }

  @Override
  public Cancellable schedule(FiniteDuration initialDelay, FiniteDuration interval, Runnable runnable, ExecutionContext executor) {
    PENDING.incrementAndGet();
    return counted(super.schedule(initialDelay, interval, runnable, executor), new AtomicBoolean());
  }

  private static Cancellable counted(Cancellable scheduled, AtomicBoolean done) {
    return new Cancellable() {
      @Override
      public boolean cancel() {
        boolean cancelled = scheduled.cancel();
        if (cancelled && done.compareAndSet(false, true)) PENDING.decrementAndGet();
        return cancelled;
      }

      @Override
      public boolean isCancelled() {
        return scheduled.isCancelled();
      }
    };
  }
}
