package dev.parley.bench;

import dev.parley.bench.LatencyRecorder.LatencySummary;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.HdrHistogram.Histogram;

/**
 * The run second by second, and split into labelled phases, for runs where something happens in
 * the middle (a rolling restart). Each progress tick (once a second) appends one {@link Second} and
 * adds that second's latencies and counter increments to the current phase's totals.
 *
 * <p>The phase label is the bench's own ({@code setup}, {@code warm-up}, {@code measure},
 * {@code drain}) unless a phase file is given: then it is that file's first line, read at every
 * tick, so a script driving the run (e.g. {@code src/site/bench/rolling-restart.sh}) can mark
 * {@code before}, {@code during} and {@code after}. Granularity is the tick: a latency belongs to
 * the phase of the second its ack (or delivery) arrived in, not the second the send was due.
 * Lost messages are only known at the end of the run and are not split by phase. A phase file that
 * reads {@code end} ends the measured time early, so the script decides how long "after" lasts.
 */
public final class Timeline {

  /** One second of the run; rates per second, counters cumulative since the start. */
  public record Second(
      double t,
      long epochMillis,
      String phase,
      String benchPhase,
      double sentPerSecond,
      double ackedPerSecond,
      double deliveredPerSecond,
      long ackCount,
      double ackP50,
      double ackP99,
      double ackMax,
      double deliveryP99,
      int pendingSends,
      int connected,
      long reconnects,
      long errors,
      long duplicateDeliveries,
      long gapSeqs,
      long duplicatePosts) {}

  /** One phase's totals: every second labelled with it. */
  public record Phase(
      int seconds,
      double firstT,
      double lastT,
      long sent,
      long acked,
      long delivered,
      LatencySummary sendToAck,
      LatencySummary sendToDelivery,
      long reconnects,
      long errors,
      long duplicateDeliveries,
      long gapSeqs,
      long duplicatePosts) {}

  private static final long HIGHEST_MICROS = java.util.concurrent.TimeUnit.HOURS.toMicros(1);

  /** A phase file reading this ends the measured time early (the drain still follows). */
  static final String END = "end";

  private final Path phaseFile;
  private final List<Second> seconds = new ArrayList<>();
  private final Map<String, Accumulator> phases = new LinkedHashMap<>();

  Timeline(Path phaseFile) {
    this.phaseFile = phaseFile;
  }

  /** The label of the current second: the phase file's first line, else the bench's phase. */
  String label(String benchPhase) {
    if (phaseFile == null) return benchPhase;
    try {
      List<String> lines = Files.readAllLines(phaseFile, StandardCharsets.UTF_8);
      if (!lines.isEmpty() && !lines.get(0).isBlank()) return lines.get(0).trim();
    } catch (IOException e) {
      // not written yet: fall through
    }
    return benchPhase;
  }

  /** The phase file says {@value #END}: the driving script wants the measured time to end now. */
  boolean endRequested() {
    return phaseFile != null && END.equals(label(""));
  }

  /** Appends one second; the increments are this second's, added to its phase's totals. */
  synchronized void add(Second second, Increments increments, Histogram ackInterval, Histogram deliveryInterval) {
    seconds.add(second);
    Accumulator a = phases.computeIfAbsent(second.phase(), p -> new Accumulator(second.t()));
    a.seconds++;
    a.lastT = second.t();
    a.total = a.total.plus(increments);
    a.ack.add(ackInterval);
    a.delivery.add(deliveryInterval);
  }

  synchronized List<Second> seconds() {
    return List.copyOf(seconds);
  }

  synchronized Map<String, Phase> phases() {
    Map<String, Phase> out = new LinkedHashMap<>();
    phases.forEach((name, a) -> out.put(name, a.toPhase()));
    return out;
  }

  /** What one second added to the counters. */
  record Increments(
      long sent, long acked, long delivered, long reconnects, long errors, long duplicateDeliveries, long gapSeqs, long duplicatePosts) {

    static final Increments ZERO = new Increments(0, 0, 0, 0, 0, 0, 0, 0);

    Increments plus(Increments o) {
      return new Increments(
          sent + o.sent, acked + o.acked, delivered + o.delivered, reconnects + o.reconnects, errors + o.errors,
          duplicateDeliveries + o.duplicateDeliveries, gapSeqs + o.gapSeqs, duplicatePosts + o.duplicatePosts);
    }
  }

  private static final class Accumulator {
    final double firstT;
    double lastT;
    int seconds;
    Increments total = Increments.ZERO;
    final Histogram ack = new Histogram(HIGHEST_MICROS, 3);
    final Histogram delivery = new Histogram(HIGHEST_MICROS, 3);

    Accumulator(double firstT) {
      this.firstT = firstT;
    }

    Phase toPhase() {
      return new Phase(
          seconds, firstT, lastT, total.sent(), total.acked(), total.delivered(),
          LatencySummary.of(ack), LatencySummary.of(delivery),
          total.reconnects(), total.errors(), total.duplicateDeliveries(), total.gapSeqs(), total.duplicatePosts());
    }
  }
}
