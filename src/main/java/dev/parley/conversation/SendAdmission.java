package dev.parley.conversation;

import java.time.Duration;
import java.util.OptionalLong;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.LongSupplier;

/**
 * Which sends a node lets through to its conversations when more arrive than it can write (issue
 * 18, target 8: overload must not collapse). A send is refused at once, before it costs a hop to
 * its conversation or a persist, when the sends already in flight would take longer than
 * {@code maxWait} to answer at the rate the node is answering them now (Little's law: in flight =
 * rate x wait), or when {@code maxInFlight} are in flight whatever the rate. The refusal carries how
 * long the backlog needs to drain, so a client retries when there is room rather than at once.
 *
 * <p>Why a wait and not only a count: the count that keeps an accepted send's wait under a second
 * depends on how fast the node and its database are, which is not known when it is configured; a
 * fixed count too high for the node queues every accepted send for seconds (they time out, are
 * retried, and the node spends its CPU on work nobody waits for), one too low refuses what it could
 * do. {@code minInFlight} is always admitted so that a node that has answered nothing yet (a cold
 * start, a quiet hour) is not shut out by its own zero rate.
 *
 * <p>The rate is the highest the node reached over the last {@link #RATE_HORIZON_BUCKETS} half-second
 * buckets, not the last second's: when the node stalls for half a second (a GC pause, a checkpoint
 * of its database), answers stop, and a limit that followed them down would refuse the very sends
 * that pile up meanwhile, which the node then answers in a burst (measured on a quiet machine at
 * 1,000/s: a few hundred such refusals in a run the node otherwise kept up with). What the node
 * managed a few seconds ago it can manage again; a database that stays slower lowers the limit
 * once the horizon has passed.
 *
 * <p>Thread-safe: called for every send from the sessions' threads and for every answer from the
 * threads that complete them. Races between threads that roll a bucket only blur a bucket's count
 * by a few answers.
 */
final class SendAdmission {

  /**
   * @param maxInFlight a hard cap (0: none)
   * @param maxWait the longest an accepted send should wait for its answer (zero: only the cap applies)
   * @param minInFlight admitted whatever the rate
   */
  record Settings(int maxInFlight, Duration maxWait, int minInFlight) {}

  /** Admitted whatever the rate (see the class comment). */
  static final int MIN_IN_FLIGHT = 100;
  static final long BUCKET_NANOS = 500_000_000L;
  /** How far back the node's best rate counts: 20 buckets, 10 s. */
  static final int RATE_HORIZON_BUCKETS = 20;
  /** Bounds of the retry hint: no sooner than this (a retry must not come back at once)... */
  static final long MIN_RETRY_AFTER_MS = 100;
  /** ... and no later than this (the backlog's estimate is only as good as the last second's rate). */
  static final long MAX_RETRY_AFTER_MS = 5_000;

  private final int maxInFlight;
  private final long maxWaitNanos;
  private final int minInFlight;
  private final LongSupplier nanoClock;
  private final AtomicInteger inFlight = new AtomicInteger();
  private final AtomicInteger answeredInBucket = new AtomicInteger();
  /** Answers of the last completed buckets, newest at {@code (newest)}; guarded by this for writes. */
  private final int[] completed = new int[RATE_HORIZON_BUCKETS];
  private int newest;
  /** The highest count in {@link #completed}; read without the lock. */
  private volatile int peakBucket;
  private volatile long bucketStart;

  SendAdmission(Settings settings, LongSupplier nanoClock) {
    this.maxInFlight = settings.maxInFlight() > 0 ? settings.maxInFlight() : Integer.MAX_VALUE;
    this.maxWaitNanos = settings.maxWait().toNanos();
    this.minInFlight = Math.max(1, settings.minInFlight());
    this.nanoClock = nanoClock;
    this.bucketStart = nanoClock.getAsLong();
  }

  /**
   * Empty when the send may go to its conversation (then {@link #answered()} must follow once it is
   * answered, whatever the answer); otherwise after how many milliseconds the client should retry.
   */
  OptionalLong tryAdmit() {
    long now = nanoClock.getAsLong();
    roll(now);
    int admitted = inFlight.incrementAndGet();
    if (admitted <= limit(now)) return OptionalLong.empty();
    inFlight.decrementAndGet();
    return OptionalLong.of(retryAfterMs(now, admitted - 1));
  }

  /** An admitted send was answered (acknowledged or refused by its conversation). */
  void answered() {
    inFlight.decrementAndGet();
    roll(nanoClock.getAsLong());
    answeredInBucket.incrementAndGet();
  }

  int inFlight() {
    return inFlight.get();
  }

  /** Sends in flight that are answered within {@code maxWait} at the node's recent rate, within the bounds. */
  int limit(long now) {
    if (maxWaitNanos <= 0) return maxInFlight;
    double withinWait = answersPerSecond(now) * maxWaitNanos / 1e9;
    return (int) Math.min(maxInFlight, Math.max(minInFlight, withinWait));
  }

  /**
   * Answers per second: the best completed bucket of the horizon, or the current bucket so far
   * when it is already better (a node coming up to speed).
   */
  double answersPerSecond(long now) {
    double peak = peakBucket * 1e9 / BUCKET_NANOS;
    long elapsed = Math.max(1, now - bucketStart);
    double current = answeredInBucket.get() * 1e9 / Math.max(elapsed, BUCKET_NANOS / 5);
    return Math.max(peak, current);
  }

  /** How long {@code backlog} sends take to answer at the current rate, within the hint's bounds. */
  private long retryAfterMs(long now, int backlog) {
    double rate = answersPerSecond(now);
    long drainMs = rate <= 0 ? MAX_RETRY_AFTER_MS : (long) (backlog * 1000 / rate);
    return Math.max(MIN_RETRY_AFTER_MS, Math.min(MAX_RETRY_AFTER_MS, drainMs));
  }

  private void roll(long now) {
    if (now - bucketStart < BUCKET_NANOS) return;
    synchronized (this) {
      long elapsed = now - bucketStart;
      if (elapsed < BUCKET_NANOS) return;
      int buckets = (int) Math.min(RATE_HORIZON_BUCKETS, elapsed / BUCKET_NANOS);
      // The bucket that ended, then an empty one for each further bucket nobody answered in.
      push(answeredInBucket.getAndSet(0));
      for (int i = 1; i < buckets; i++) push(0);
      bucketStart = elapsed < (long) RATE_HORIZON_BUCKETS * BUCKET_NANOS ? bucketStart + (elapsed / BUCKET_NANOS) * BUCKET_NANOS : now;
      int peak = 0;
      for (int count : completed) peak = Math.max(peak, count);
      peakBucket = peak;
    }
  }

  private void push(int count) {
    newest = (newest + 1) % completed.length;
    completed[newest] = count;
  }
}
