package dev.parley.bench;

import java.time.Duration;
import java.util.random.RandomGenerator;

/**
 * Reconnect delays with exponential backoff and full jitter: a uniformly random delay between zero
 * and {@code min(cap, base * 2^attempt)}. Full jitter (the AWS Architecture Blog's analysis) is what
 * keeps thousands of clients dropped at once from coming back in synchronized waves.
 */
public final class Backoff {

  private final long baseMillis;
  private final long capMillis;
  private final RandomGenerator random;

  public Backoff(Duration base, Duration cap, RandomGenerator random) {
    if (base.toMillis() < 1 || cap.compareTo(base) < 0 || cap.compareTo(Duration.ofDays(1)) > 0) {
      throw new IllegalArgumentException("backoff needs 1 ms <= base <= cap <= 1 day");
    }
    this.baseMillis = base.toMillis();
    this.capMillis = cap.toMillis();
    this.random = random;
  }

  /** The largest delay attempt {@code attempt} (0-based) may wait. */
  public long ceilingMillis(int attempt) {
    // base <= 1 day and 2^30 doublings stay far below Long.MAX_VALUE, so the shift cannot overflow.
    long ceiling = baseMillis << Math.min(Math.max(attempt, 0), 30);
    return Math.min(capMillis, ceiling);
  }

  public Duration delay(int attempt) {
    return Duration.ofMillis(random.nextLong(ceilingMillis(attempt) + 1));
  }
}
