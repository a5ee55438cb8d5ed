package dev.parley.bench;

import java.util.concurrent.TimeUnit;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;

/**
 * Latencies in microseconds, recorded from any thread without locks (HdrHistogram's
 * {@link Recorder}), read per interval for the progress line and in total for the report.
 */
public final class LatencyRecorder {

  /** Anything slower than an hour is recorded as an hour: the run is broken anyway. */
  private static final long HIGHEST_MICROS = TimeUnit.HOURS.toMicros(1);

  private final Recorder recorder = new Recorder(HIGHEST_MICROS, 3);
  private final Histogram total = new Histogram(HIGHEST_MICROS, 3);
  private Histogram interval;

  public void record(long latencyNanos) {
    long micros = TimeUnit.NANOSECONDS.toMicros(latencyNanos);
    recorder.recordValue(Math.min(Math.max(micros, 0), HIGHEST_MICROS));
  }

  /** What was recorded since the previous call (or the start); also folds it into the total. */
  public synchronized LatencySummary interval() {
    return LatencySummary.of(intervalHistogram());
  }

  /** Like {@link #interval()}, as a histogram of its own (a copy) for callers that aggregate. */
  synchronized Histogram intervalHistogram() {
    interval = recorder.getIntervalHistogram(interval);
    total.add(interval);
    return interval.copy();
  }

  /** Everything recorded so far. */
  public synchronized LatencySummary total() {
    interval();
    return LatencySummary.of(total);
  }

  /** Percentiles in milliseconds. */
  public record LatencySummary(long count, double p50, double p90, double p99, double p999, double max) {

    static LatencySummary of(Histogram h) {
      if (h.getTotalCount() == 0) return new LatencySummary(0, 0, 0, 0, 0, 0);
      return new LatencySummary(
          h.getTotalCount(),
          millis(h.getValueAtPercentile(50)),
          millis(h.getValueAtPercentile(90)),
          millis(h.getValueAtPercentile(99)),
          millis(h.getValueAtPercentile(99.9)),
          millis(h.getMaxValue()));
    }

    private static double millis(long micros) {
      return micros / 1000.0;
    }
  }
}
