package dev.parley.storage;

import java.time.Duration;

/**
 * When the journal's write stage waits for more writes before it writes (issue 18): group commit
 * in the manner of PostgreSQL's {@code commit_delay} / {@code commit_siblings}, which delays a
 * commit only while enough other transactions are active, because waiting is worth it only when
 * company is likely to come.
 *
 * <p>Here the likelihood is the recent rate of writes: an exponentially decaying count of the
 * writes the stage took, with a time constant of {@link #RATE_WINDOW} (50 ms: at 2,000 writes/s
 * that is ~100 writes, steady enough; at 50/s it can never reach a 400/s threshold, so a Poisson
 * burst of a quiet node does not make a lone write wait). At or above {@code fromRate} a batch's
 * first write waits up to {@code linger} for more, and no longer once the batch holds {@code
 * rows} rows; below it a write goes at once, as without a linger.
 *
 * <p>Not thread-safe: only the writer that collects a batch uses it ({@link JournalWriter} lets
 * one writer collect at a time).
 */
final class WriteLinger {

  /** The time constant of the rate estimate. */
  static final Duration RATE_WINDOW = Duration.ofMillis(50);

  private static final double WINDOW_NANOS = RATE_WINDOW.toNanos();

  private final long lingerNanos;
  private final double fromRate;
  private final int rows;
  /** Writes taken, each weighted by exp(-age / RATE_WINDOW), as of {@code decayedAt}. */
  private double recentWrites;
  private long decayedAt;
  private boolean started;

  /**
   * @param linger the longest a batch's first write waits for more (jdbc-journal.write-linger)
   * @param fromRate writes per second from which a writer lingers (jdbc-journal.write-linger-from-rate; 0: always)
   * @param rows a lingering writer writes as soon as its batch holds this many rows (jdbc-journal.write-linger-rows)
   */
  WriteLinger(Duration linger, double fromRate, int rows) {
    if (linger.isNegative()) throw new IllegalArgumentException("jdbc-journal.write-linger must not be negative");
    if (fromRate < 0) throw new IllegalArgumentException("jdbc-journal.write-linger-from-rate must not be negative");
    if (rows < 1) throw new IllegalArgumentException("jdbc-journal.write-linger-rows must be positive");
    this.lingerNanos = linger.toNanos();
    this.fromRate = fromRate;
    this.rows = rows;
  }

  /** How long a batch whose first write was taken at {@code now} may wait for more: 0 or the linger. */
  long lingerNanos(long now) {
    if (lingerNanos == 0) return 0;
    // the write just taken counts too: at a steady rate r the estimate is r (one write per 1/r)
    return (decayed(now) + 1) / WINDOW_NANOS * 1e9 >= fromRate ? lingerNanos : 0;
  }

  /** The rows at which a lingering batch stops waiting. */
  int rows() {
    return rows;
  }

  /** The batch collected from {@code now} on took {@code writes} writes. */
  void taken(long now, int writes) {
    recentWrites = decayed(now) + writes;
    decayedAt = now;
    started = true;
  }

  /** The recent writes' rate in writes per second, as of {@code now} (what {@link #lingerNanos} compares). */
  double rate(long now) {
    return decayed(now) / WINDOW_NANOS * 1e9;
  }

  private double decayed(long now) {
    if (!started) return 0;
    long age = now - decayedAt;
    return age <= 0 ? recentWrites : recentWrites * Math.exp(-age / WINDOW_NANOS);
  }
}
