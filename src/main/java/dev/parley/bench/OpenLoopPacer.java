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

  @Override
  public void run() {
    long endNanos = startNanos + runNanos;
    long next = 0;
    while (!stopped) {
      long intended = intendedNanos(next);
      if (intended - endNanos >= 0) break;
      long wait = intended - System.nanoTime();
      if (wait > 0) {
        LockSupport.parkNanos(wait);
        continue;
      }
      lag.lateBy(intended, -wait);
      target.send(next, intended);
      next++;
      scheduled = next;
    }
  }

  public long scheduled() {
    return scheduled;
  }

  public void stop() {
    stopped = true;
  }
}
