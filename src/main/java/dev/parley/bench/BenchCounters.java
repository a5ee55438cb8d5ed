package dev.parley.bench;

import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;

/**
 * Throughput and failure counters shared by all connections; lock-free, read by the progress line.
 * "In window" counts only what arrived during the measured window (after warm-up, before drain).
 */
public final class BenchCounters {

  final LongAdder sent = new LongAdder();
  final LongAdder acked = new LongAdder();
  final LongAdder ackedInWindow = new LongAdder();
  final LongAdder delivered = new LongAdder();
  final LongAdder deliveredInWindow = new LongAdder();
  final LongAdder reconnects = new LongAdder();
  /** Reconnects made on a {@code reconnect} hint while the old socket still worked (make before break). */
  final LongAdder handovers = new LongAdder();
  final LongAdder resentSends = new LongAdder();
  final LongAdder retriedSends = new LongAdder();
  final LongAdder failedSends = new LongAdder();
  final AtomicInteger connected = new AtomicInteger();
  /**
   * Acknowledged sends (intended in the window), from the attempt that was acknowledged: the
   * server's own wait for a send it accepted, without the client's pauses after refusals. Under
   * overload the send->ack figure grows with every refusal a send met before it got in; this one
   * says whether the sends the node took were served quickly (issue 18, target 8).
   */
  final LatencyRecorder lastTryToAck = new LatencyRecorder();
  /** Sends acknowledged at their first attempt (intended in the window). */
  final LongAdder ackedAtFirstTry = new LongAdder();
  private final Map<String, LongAdder> errorsByCode = new ConcurrentHashMap<>();
  /** Every acknowledged send, when {@code --ack-log} asks for it; null otherwise. */
  volatile AckLog ackLog;

  private volatile long windowStartNanos = Long.MAX_VALUE;
  private volatile long windowEndNanos = Long.MAX_VALUE;

  void window(long startNanos, long endNanos) {
    windowStartNanos = startNanos;
    windowEndNanos = endNanos;
  }

  boolean inWindow(long nanos) {
    return nanos - windowStartNanos >= 0 && nanos - windowEndNanos < 0;
  }

  void error(String code) {
    errorsByCode.computeIfAbsent(code == null ? "unknown" : code, c -> new LongAdder()).increment();
  }

  public Map<String, Long> errorsByCode() {
    Map<String, Long> errors = new TreeMap<>();
    errorsByCode.forEach((code, count) -> errors.put(code, count.sum()));
    return errors;
  }

  public long errors() {
    return errorsByCode.values().stream().mapToLong(LongAdder::sum).sum();
  }
}
