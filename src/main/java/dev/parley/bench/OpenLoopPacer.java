package dev.parley.bench;

import java.util.concurrent.locks.LockSupport;

/**
 * Schedules sends by the clock (the open model of wrk2 and Gil Tene's coordinated-omission talk):
 * send {@code i} is due at {@code start + i / rate}, whether or not earlier sends were answered.
 * When this thread or the client falls behind, due sends go out in a burst and keep their intended
 * time, so a stall is measured as the latency users would see, not hidden as fewer samples.
 */
public final class OpenLoopPacer implements Runnable {

  /** Receives each send with the {@link System#nanoTime()} at which it was due. */
  @FunctionalInterface
  public interface SendTarget {
    void send(long sendIndex, long intendedNanos);
  }

  /** Told how late each send left this thread: the client's own stall, not the server's. */
  @FunctionalInterface
  public interface LagObserver {
    void lateBy(long intendedNanos, long lagNanos);
  }

  private final double nanosPerSend;
  private final long runNanos;
  private final SendTarget target;
  private final LagObserver lag;
  private volatile long startNanos;
  private volatile long scheduled;
  private volatile boolean stopped;

  /** Paces {@code ratePerSecond} sends for {@code runNanos} from the time given to {@link #startAt}. */
  public OpenLoopPacer(double ratePerSecond, long runNanos, SendTarget target, LagObserver lag) {
    this.nanosPerSend = 1e9 / ratePerSecond;
    this.runNanos = runNanos;
    this.target = target;
    this.lag = lag;
  }

  /** Fixes the clock's origin; call before {@link #run()} and before any ack can arrive. */
  public void startAt(long startNanos) {
    this.startNanos = startNanos;
  }

  /** The intended time of send {@code i}; computed, never accumulated, so rounding cannot drift. */
  public long intendedNanos(long sendIndex) {
    return startNanos + (long) (sendIndex * nanosPerSend);
  }

  /** Paces on its own thread, parking until each send is due. */
  @Override
  public void run() {
    long nextDue;
    while ((nextDue = sendDue(System.nanoTime())) != DONE) {
      long wait = nextDue - System.nanoTime();
      if (wait > 0) LockSupport.parkNanos(wait);
    }
  }

  /** What {@link #sendDue} returns once every send is made (or the pacer is stopped). */
  public static final long DONE = Long.MIN_VALUE;

  /**
   * Makes every send due by {@code nowNanos} and returns when the next one is due, or {@link #DONE}.
   * For a thread that has other work between sends (an I/O loop): it calls this whenever it wakes
   * and sleeps at most until the time returned, so sends share its wake-ups instead of each costing
   * a thread of its own a wake-up. Only one thread may call it.
   */
  public long sendDue(long nowNanos) {
    long endNanos = startNanos + runNanos;
    long next = scheduled;
    while (!stopped) {
      long intended = intendedNanos(next);
      if (intended - endNanos >= 0) break;
      long late = nowNanos - intended;
      if (late < 0) return intended;
      lag.lateBy(intended, late);
      target.send(next, intended);
      next++;
      scheduled = next;
    }
    return DONE;
  }

  public long scheduled() {
    return scheduled;
  }

  public void stop() {
    stopped = true;
  }
}
