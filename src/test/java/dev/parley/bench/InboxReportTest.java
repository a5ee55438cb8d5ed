package dev.parley.bench;

import static org.assertj.core.api.Assertions.assertThat;

import dev.parley.bench.LatencyRecorder.LatencySummary;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class InboxReportTest {

  private static InboxReport.Row row(String group, int size, double p50, double p99) {
    return new InboxReport.Row(group, size, "what", new LatencySummary(100, p50, p50, p99, p99, p99), 0, 0);
  }

  @Test
  void eachRowIsComparedWithTheSmallestRowOfItsGroup() {
    List<InboxReport.Row> rows = InboxReport.withRatios(List.of(
        row("page-first", 10, 1.0, 4.0),
        row("page-first", 100000, 1.5, 8.0),
        row("fanout", 1000, 300, 600),
        row("fanout", 2, 200, 300)));

    assertThat(rows.get(0).p50Ratio()).isEqualTo(1.0);
    assertThat(rows.get(1).p50Ratio()).isEqualTo(1.5);
    assertThat(rows.get(1).p99Ratio()).isEqualTo(2.0);
    assertThat(rows.get(2).p50Ratio()).isEqualTo(1.5);
    assertThat(rows.get(2).p99Ratio()).isEqualTo(2.0);
    assertThat(rows.get(3).p99Ratio()).isEqualTo(1.0);
  }

  @Test
  void aZeroBaselineGivesNoFiniteRatioRatherThanAnException() {
    assertThat(InboxReport.ratio(0, 0)).isEqualTo(1.0);
    assertThat(InboxReport.ratio(2, 0)).isInfinite();
  }

  @Test
  void targetsSayMetOrNotWithTheFigures() {
    List<InboxReport.Row> fast = InboxReport.withRatios(List.of(
        row("page-first", 10, 1.0, 4.0), row("page-first", 100000, 1.1, 5.0),
        row("page-deep", 10, 1.0, 4.0), row("page-deep", 100000, 1.1, 9.0)));
    List<InboxReport.Target> met = InboxReport.targets(fast);
    assertThat(met).hasSize(3);
    assertThat(met.get(0).met()).isTrue();
    assertThat(met.get(1).met()).as("5 / 4 = 1.25").isTrue();
    assertThat(met.get(2).met()).as("9 / 4 = 2.25").isFalse();
    assertThat(met.get(2).figures()).contains("x2.25");

    List<InboxReport.Target> slow = InboxReport.targets(InboxReport.withRatios(List.of(row("page-first", 10, 3, 12.5))));
    assertThat(slow.get(0).met()).isFalse();
    assertThat(slow.get(0).figures()).contains("page-first/10 12.50");
  }

  @Test
  void theTextHasEveryRowAndTheTargets() {
    List<InboxReport.Row> rows = InboxReport.withRatios(List.of(row("page-first", 10, 1.0, 4.0), row("connect", 10, 20, 40)));
    InboxReport report = new InboxReport(
        new InboxReport.Setup("ws://127.0.0.1:1/v1/ws", List.of(10), 50, 100, 2000, 200, List.of(2), 200),
        List.of(new InboxReport.Seeded("ib-u10", 10, 0, 0.1, 0)), rows, Map.of("unavailable", 2L), 0, InboxReport.targets(rows));

    assertThat(report.toText())
        .contains("seeded ib-u10")
        .contains("page-first")
        .contains("connect")
        .contains("unavailable=2")
        .contains("target inbox page p99 < 10 ms");
  }
}
