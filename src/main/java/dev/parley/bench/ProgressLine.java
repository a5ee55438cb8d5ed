package dev.parley.bench;

import java.io.PrintStream;
import java.util.Locale;
import java.util.function.IntSupplier;
import java.util.function.Supplier;

/** Prints one line per second while a run goes: rates of the last second and its latencies. */
final class ProgressLine implements Runnable {

  private final PrintStream out;
  private final BenchCounters counters;
  private final LatencyRecorder ackLatency;
  private final LatencyRecorder deliveryLatency;
  private final Supplier<String> phase;
  private final IntSupplier pendingSends;
  private final int connections;
  private final long startNanos = System.nanoTime();
  private long lastNanos = startNanos;
  private long lastSent;
  private long lastAcked;
  private long lastDelivered;

  ProgressLine(
      PrintStream out,
      BenchCounters counters,
      LatencyRecorder ackLatency,
      LatencyRecorder deliveryLatency,
      Supplier<String> phase,
      IntSupplier pendingSends,
      int connections) {
    this.out = out;
    this.counters = counters;
    this.ackLatency = ackLatency;
    this.deliveryLatency = deliveryLatency;
    this.phase = phase;
    this.pendingSends = pendingSends;
    this.connections = connections;
  }

  @Override
  public synchronized void run() {
    long now = System.nanoTime();
    double seconds = Math.max((now - lastNanos) / 1e9, 1e-3);
    long sent = counters.sent.sum();
    long acked = counters.acked.sum();
    long delivered = counters.delivered.sum();
    LatencyRecorder.LatencySummary ack = ackLatency.interval();
    LatencyRecorder.LatencySummary delivery = deliveryLatency.interval();
    out.printf(
        Locale.ROOT,
        "[%4ds %-7s] sent %7.0f/s acked %7.0f/s delivered %8.0f/s | ack p99 %s max %s | delivery p99 %s | pending %d, connected %d/%d, reconnects %d, errors %d%n",
        (now - startNanos) / 1_000_000_000L,
        phase.get(),
        (sent - lastSent) / seconds,
        (acked - lastAcked) / seconds,
        (delivered - lastDelivered) / seconds,
        millis(ack, ack.p99()),
        millis(ack, ack.max()),
        millis(delivery, delivery.p99()),
        pendingSends.getAsInt(),
        counters.connected.get(),
        connections,
        counters.reconnects.sum(),
        counters.errors());
    lastNanos = now;
    lastSent = sent;
    lastAcked = acked;
    lastDelivered = delivered;
  }

  /** Latencies are only recorded for sends due in the measured window; before it there are none. */
  private static String millis(LatencyRecorder.LatencySummary s, double value) {
    return s.count() == 0 ? "    -   " : String.format(Locale.ROOT, "%6.1fms", value);
  }
}
