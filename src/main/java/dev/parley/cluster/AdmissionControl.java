package dev.parley.cluster;

import io.github.bucket4j.Bandwidth;
import io.github.bucket4j.Bucket;
import io.github.bucket4j.ConsumptionProbe;
import java.time.Duration;
import java.util.OptionalLong;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.LongAdder;

/**
 * A per-node token bucket in front of expensive work that arrives in herds after a restart: new
 * websocket connections and {@code subscribe ... since} replays. Over the limit the caller is told
 * to come back later (HTTP 503 with a jittered {@code Retry-After}, or {@code rate_limited}); nothing
 * waits in a queue, so a backlog cannot form and be replayed at once.
 */
public final class AdmissionControl {

  /** {@code ratePerSecond <= 0} switches the control off (every request is admitted). */
  public record Settings(double ratePerSecond, long burst) {}

  private final Bucket bucket;
  private final LongAdder admitted = new LongAdder();
  private final LongAdder rejected = new LongAdder();

  public AdmissionControl(Settings settings) {
    if (settings.ratePerSecond() <= 0) {
      this.bucket = null;
    } else {
      long burst = Math.max(1, settings.burst());
      long refillNanos = (long) (1_000_000_000L / settings.ratePerSecond());
      this.bucket =
          Bucket.builder()
              .addLimit(
                  Bandwidth.builder()
                      .capacity(burst)
                      .refillGreedy(1, Duration.ofNanos(Math.max(1, refillNanos)))
                      .build())
              .build();
    }
  }

  /**
   * Empty when admitted; otherwise how long to wait before trying again, with full jitter on top of
   * the time the bucket needs, so rejected clients do not all return in the same second.
   */
  public OptionalLong tryAdmit() {
    if (bucket == null) {
      admitted.increment();
      return OptionalLong.empty();
    }
    ConsumptionProbe probe = bucket.tryConsumeAndReturnRemaining(1);
    if (probe.isConsumed()) {
      admitted.increment();
      return OptionalLong.empty();
    }
    rejected.increment();
    long waitMs = Math.max(1, probe.getNanosToWaitForRefill() / 1_000_000);
    return OptionalLong.of(waitMs + ThreadLocalRandom.current().nextLong(Math.max(1000, waitMs * 2)));
  }

  public long admittedCount() {
    return admitted.sum();
  }

  public long rejectedCount() {
    return rejected.sum();
  }
}
