package dev.parley.bench;

import java.io.PrintStream;
import java.util.Locale;
import java.util.function.IntSupplier;
import java.util.function.Supplier;

/**
 * Prints one line per second while a run goes: rates of the last second and its latencies; and
 * appends the same second to the {@link Timeline} that goes into the JSON report.
 */
final class ProgressLine implements Runnable {

  private final PrintStream out;
  private final BenchCounters counters;
  private final LatencyRecorder ackLatency;
  private final LatencyRecorder deliveryLatency;
  private final Supplier<String> phase;
  private final IntSupplier pendingSends;
  private final int connections;
  private final DeliveryTracker tracker;
  private final Timeline timeline;
  private final long startNanos = System.nanoTime();
  private long lastNanos = startNanos;
  private long lastSent;
  private long lastAcked;
  private long lastDelivered;
  private long lastReconnects;
  private long lastErrors;
  private DeliveryTracker.Counts lastCounts = new DeliveryTracker.Counts(0, 0, 0, 0, 0, 0, 0);

  ProgressLine(
      PrintStream out,
      BenchCounters counters,
      LatencyRecorder ackLatency,
      LatencyRecorder deliveryLatency,
      Supplier<String> phase,
      IntSupplier pendingSends,
      int connections,
      DeliveryTracker tracker,
      Timeline timeline) {
    this.out = out;
    this.counters = counters;
    this.ackLatency = ackLatency;
    this.deliveryLatency = deliveryLatency;
    this.phase = phase;
    this.pendingSends = pendingSends;
    this.connections = connections;
    this.tracker = tracker;
    this.timeline = timeline;
  }

  @Override
  public synchronized void run() {
    long now = System.nanoTime();
    double seconds = Math.max((now - lastNanos) / 1e9, 1e-3);
    long sent = counters.sent.sum();
    long acked = counters.acked.sum();
    long delivered = counters.delivered.sum();
    org.HdrHistogram.Histogram ackHistogram = ackLatency.intervalHistogram();
    org.HdrHistogram.Histogram deliveryHistogram = deliveryLatency.intervalHistogram();
    LatencyRecorder.LatencySummary ack = LatencyRecorder.LatencySummary.of(ackHistogram);
    LatencyRecorder.LatencySummary delivery = LatencyRecorder.LatencySummary.of(deliveryHistogram);
    long reconnects = counters.reconnects.sum();
    long errors = counters.errors();
    DeliveryTracker.Counts counts = tracker.counts();
    int pending = pendingSends.getAsInt();
    String benchPhase = phase.get();
    String label = timeline.label(benchPhase);
    double t = (now - startNanos) / 1e9;
    timeline.add(
        new Timeline.Second(
            Math.round(t * 10) / 10.0, System.currentTimeMillis(), label, benchPhase,
            (sent - lastSent) / seconds, (acked - lastAcked) / seconds, (delivered - lastDelivered) / seconds,
            ack.count(), ack.p50(), ack.p99(), ack.max(), delivery.p99(),
            pending, counters.connected.get(), reconnects, errors,
            counts.duplicateDeliveries(), counts.gapSeqs(), counts.duplicatePosts()),
        new Timeline.Increments(
            sent - lastSent, acked - lastAcked, delivered - lastDelivered, reconnects - lastReconnects, errors - lastErrors,
            counts.duplicateDeliveries() - lastCounts.duplicateDeliveries(), counts.gapSeqs() - lastCounts.gapSeqs(),
            counts.duplicatePosts() - lastCounts.duplicatePosts()),
        ackHistogram,
        deliveryHistogram);
    out.printf(
        Locale.ROOT,
        "[%4ds %-7s] sent %7.0f/s acked %7.0f/s delivered %8.0f/s | ack p99 %s max %s | delivery p99 %s | pending %d, connected %d/%d, reconnects %d, errors %d%n",
        (now - startNanos) / 1_000_000_000L,
        label,
        (sent - lastSent) / seconds,
        (acked - lastAcked) / seconds,
        (delivered - lastDelivered) / seconds,
        millis(ack, ack.p99()),
        millis(ack, ack.max()),
        millis(delivery, delivery.p99()),
        pending,
        counters.connected.get(),
        connections,
        reconnects,
        errors);
    lastNanos = now;
    lastSent = sent;
    lastAcked = acked;
    lastDelivered = delivered;
    lastReconnects = reconnects;
    lastErrors = errors;
    lastCounts = counts;
  }

  /** Latencies are only recorded for sends due in the measured window; before it there are none. */
  private static String millis(LatencyRecorder.LatencySummary s, double value) {
    return s.count() == 0 ? "    -   " : String.format(Locale.ROOT, "%6.1fms", value);
  }
}
