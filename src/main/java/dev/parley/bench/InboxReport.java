package dev.parley.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.parley.bench.LatencyRecorder.LatencySummary;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * The result of {@code parley bench inbox}: one row per measured thing, each with its latency
 * percentiles and its ratio to the baseline row of its group (the smallest inbox for pages and
 * connects, the 2-member conversation for fan-out), because on a shared machine the ratio within
 * one run says more than the absolute figure. Printed for people, written as JSON for scripts.
 */
public record InboxReport(
    Setup setup, List<Seeded> seeding, List<Row> rows, Map<String, Long> errorsByCode, long missedUpdates, List<Target> targets) {

  /** What was asked for. */
  public record Setup(
      String url, List<Integer> users, int pageLimit, int deepPage, int requests, int connects, List<Integer> fanoutMembers,
      int fanoutSends) {}

  /** How one user's inbox was seeded: {@code steps} creates/messages done this run (0: reused). */
  public record Seeded(String user, int conversations, int steps, double seconds, double catchUpSeconds) {}

  /**
   * One measured row. {@code group} is page-first, page-deep, connect or fanout; {@code size} is the
   * user's number of conversations (or the conversation's members for fan-out); {@code detail} says
   * what exactly was timed; ratios are p50 and p99 over the baseline row of the group (1.0 for it).
   */
  public record Row(String group, int size, String detail, LatencySummary latency, double p50Ratio, double p99Ratio) {}

  /** One of the targets, checked against the rows. */
  public record Target(String target, boolean met, String figures) {}

  private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

  /** Rows with their ratios: each row over the row of its group with the smallest size. */
  static List<Row> withRatios(List<Row> rows) {
    List<Row> out = new ArrayList<>(rows.size());
    for (Row row : rows) {
      Row baseline = rows.stream()
          .filter(r -> r.group().equals(row.group()))
          .min(java.util.Comparator.comparingInt(Row::size))
          .orElseThrow();
      out.add(new Row(row.group(), row.size(), row.detail(), row.latency(),
          ratio(row.latency().p50(), baseline.latency().p50()), ratio(row.latency().p99(), baseline.latency().p99())));
    }
    return out;
  }

  static double ratio(double value, double baseline) {
    if (baseline <= 0) return value <= 0 ? 1.0 : Double.POSITIVE_INFINITY;
    return value / baseline;
  }

  /**
   * Issue 4's page targets: p99 below 10 ms for every page row, and the largest inbox within 1.5x
   * of the smallest (p99, and p50 as the steadier figure on a shared machine), first and deep page.
   */
  static List<Target> targets(List<Row> rows) {
    List<Target> targets = new ArrayList<>();
    List<Row> pages = rows.stream().filter(r -> r.group().startsWith("page-")).toList();
    if (pages.isEmpty()) return targets;
    double worstP99 = pages.stream().mapToDouble(r -> r.latency().p99()).max().orElse(0);
    targets.add(new Target(
        "inbox page p99 < 10 ms", worstP99 < 10,
        pages.stream().map(r -> String.format(Locale.ROOT, "%s/%d %.2f", r.group(), r.size(), r.latency().p99()))
            .collect(Collectors.joining(", "))));
    for (String group : List.of("page-first", "page-deep")) {
      Row largest = pages.stream().filter(r -> r.group().equals(group)).max(java.util.Comparator.comparingInt(Row::size)).orElse(null);
      if (largest == null) continue;
      targets.add(new Target(
          group + ": largest inbox within 1.5x of the smallest (p99)", largest.p99Ratio() <= 1.5,
          String.format(Locale.ROOT, "%d conversations: p99 x%.2f, p50 x%.2f", largest.size(), largest.p99Ratio(), largest.p50Ratio())));
    }
    return targets;
  }

  public void writeJson(Path file) throws IOException {
    JSON.writeValue(file.toFile(), this);
  }

  public String toText() {
    StringBuilder out = new StringBuilder();
    out.append(String.format(Locale.ROOT,
        "parley bench inbox: %s, users with %s conversations, pages of %d, deep page %d, %d requests per page row,%n"
            + "                    %d connects per user, fan-out to %s members x %d sends%n",
        setup.url(), setup.users(), setup.pageLimit(), setup.deepPage(), setup.requests(), setup.connects(),
        setup.fanoutMembers(), setup.fanoutSends()));
    for (Seeded s : seeding) {
      out.append(String.format(Locale.ROOT, "seeded %-24s %7d conversations, %7d steps this run in %.1fs, read model caught up %.1fs later%n",
          s.user(), s.conversations(), s.steps(), s.seconds(), s.catchUpSeconds()));
    }
    out.append(String.format(Locale.ROOT, "%-10s %8s  %-44s %8s %8s %8s %8s %7s  %s%n",
        "row", "size", "what", "p50 ms", "p90 ms", "p99 ms", "max ms", "n", "ratio p50 / p99"));
    for (Row r : rows) {
      LatencySummary l = r.latency();
      out.append(String.format(Locale.ROOT, "%-10s %8d  %-44s %8.2f %8.2f %8.2f %8.2f %7d  x%.2f / x%.2f%n",
          r.group(), r.size(), r.detail(), l.p50(), l.p90(), l.p99(), l.max(), l.count(), r.p50Ratio(), r.p99Ratio()));
    }
    out.append("errors            ")
        .append(errorsByCode.isEmpty() ? "none" : errorsByCode.entrySet().stream().map(e -> e.getKey() + "=" + e.getValue())
            .collect(Collectors.joining(" ")))
        .append(String.format(Locale.ROOT, ", fan-out sends some member never got an inbox_update for: %d%n", missedUpdates));
    for (Target t : targets) {
      out.append(String.format(Locale.ROOT, "target %-55s %s  (%s)%n", t.target(), t.met() ? "met" : "NOT MET", t.figures()));
    }
    return out.toString();
  }
}
