package dev.parley.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.parley.bench.LatencyRecorder.LatencySummary;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * The result of one run: throughput over the measured window, latency from intended send time, and
 * the correctness counters. Printed for people, written as JSON ({@code --json}) for scripts.
 * {@code schedulerLag} is how late the bench itself dispatched sends: on a shared machine it tells a
 * starved client apart from a slow server. {@code phases} splits latencies and the counters that
 * are known as they happen (duplicates, gaps, reconnects, errors) by phase, and {@code timeline}
 * has every second (see {@link Timeline}); lost messages are whole-run only. {@code cost} is what
 * the measured window cost the node, its database and this client per acknowledged send
 * ({@link WindowCost}; null when the run ended before the window started).
 */
public record Report(
    Setup setup,
    double measuredSeconds,
    long scheduledSends,
    double ackedSendsPerSecond,
    double deliveriesPerSecond,
    LatencySummary sendToAck,
    LatencySummary lastTryToAck,
    long ackedAtFirstTry,
    LatencySummary sendToDelivery,
    LatencySummary schedulerLag,
    Map<String, Long> errorsByCode,
    long reconnects,
    long handovers,
    long resentSends,
    long retriedSends,
    long failedSends,
    long unackedSends,
    DeliveryTracker.Counts correctness,
    WindowCost.Cost cost,
    Map<String, Timeline.Phase> phases,
    List<Timeline.Second> timeline) {

  /** What was asked for, so a JSON file says how it was produced. */
  public record Setup(
      List<String> urls,
      int connections,
      int conversations,
      int members,
      double targetRate,
      int messageBytes,
      double warmupSeconds,
      double durationSeconds,
      double setupSeconds) {}

  private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

  public void writeJson(Path file) throws IOException {
    JSON.writeValue(file.toFile(), this);
  }

  public String toText() {
    DeliveryTracker.Counts c = correctness;
    String errors = errorsByCode.isEmpty()
        ? "none"
        : errorsByCode.entrySet().stream().map(e -> e.getKey() + "=" + e.getValue()).collect(Collectors.joining(" "));
    return String.format(
        Locale.ROOT,
        """
        parley bench: %d connections, %d conversations x %d members, target %.0f sends/s, %d-byte messages,
                      %.0fs measured after %.0fs warm-up (setup %.1fs), %s
        acked sends/s     %10.1f
        deliveries/s      %10.1f
        send->ack      ms %s
        last try->ack  ms %s   (from the attempt that was acknowledged; acked at the first try: %d)
        send->delivery ms %s
        scheduler lag  ms %s   (how late this client sent: its own stalls, included above)
        errors            %s
        reconnects %d (made before the old socket closed: %d), resent after reconnect %d, retried after refusal %d, failed sends %d, unacked at end %d
        correctness       acked %d, lost %d (missing deliveries %d), duplicates %d, gap seqs %d, duplicate posts %d, unrecovered resumes %d: %s
        """,
        setup.connections(), setup.conversations(), setup.members(), setup.targetRate(), setup.messageBytes(),
        setup.durationSeconds(), setup.warmupSeconds(), setup.setupSeconds(), String.join(" ", setup.urls()),
        ackedSendsPerSecond,
        deliveriesPerSecond,
        percentiles(sendToAck),
        percentiles(lastTryToAck),
        ackedAtFirstTry,
        percentiles(sendToDelivery),
        percentiles(schedulerLag),
        errors,
        reconnects, handovers, resentSends, retriedSends, failedSends, unackedSends,
        c.ackedMessages(), c.lostMessages(), c.missingDeliveries(), c.duplicateDeliveries(), c.gapSeqs(),
        c.duplicatePosts(), c.unrecoveredResumes(), c.clean() ? "OK" : "VIOLATED")
        + costText()
        + phasesText();
  }

  private String costText() {
    if (cost == null) return "";
    return String.format(
        Locale.ROOT,
        "cost per acked send: node CPU %s ms (node %s cores), database commits %s, this client's CPU %.3f ms%n",
        cost.nodeCpuMsPerAckedSend() == null ? "n/a" : String.format(Locale.ROOT, "%.3f", cost.nodeCpuMsPerAckedSend()),
        cost.nodeCores() == null ? "n/a" : String.format(Locale.ROOT, "%.2f", cost.nodeCores()),
        cost.commitsPerAckedSend() == null ? "n/a" : String.format(Locale.ROOT, "%.3f", cost.commitsPerAckedSend()),
        cost.benchCpuMsPerSend());
  }

  private String phasesText() {
    StringBuilder out = new StringBuilder();
    phases.forEach(
        (name, p) -> out.append(String.format(
            Locale.ROOT,
            "phase %-8s %4ds  acked %d  send->ack %s  reconnects %d, errors %d, duplicates %d, gap seqs %d, duplicate posts %d%n",
            name, p.seconds(), p.acked(), percentiles(p.sendToAck()), p.reconnects(), p.errors(), p.duplicateDeliveries(),
            p.gapSeqs(), p.duplicatePosts())));
    return out.toString();
  }

  static String percentiles(LatencySummary s) {
    return String.format(
        Locale.ROOT, "p50 %.2f  p90 %.2f  p99 %.2f  p99.9 %.2f  max %.2f  (n=%d)", s.p50(), s.p90(), s.p99(), s.p999(), s.max(), s.count());
  }
}
