package dev.parley.bench;

import static org.assertj.core.api.Assertions.assertThat;

import dev.parley.testing.TestNode;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** `parley bench inbox` with tiny sizes against a real node on H2: it seeds, reuses, and reports every row. */
class InboxBenchSmokeIT {

  @TempDir static Path dir;
  private static TestNode node;

  @BeforeAll
  static void startNode() throws Exception {
    node = TestNode.onH2();
  }

  @AfterAll
  static void stopNode() throws Exception {
    if (node != null) node.close();
  }

  private static InboxBench.Settings settings(String prefix, Path json) {
    return new InboxBench.Settings(
        node.wsBase(), TestNode.JWT_SECRET, prefix, List.of(3, 23), 5, 5, 3, 20, 2, 3, List.of(2, 12), 3, 2, 8,
        Duration.ofSeconds(60), Duration.ofSeconds(10), false, json);
  }

  @Test
  void seedsThroughTheProtocolThenReportsPagesConnectsAndFanOutWithRatios() throws Exception {
    Path json = dir.resolve("inbox.json");
    ByteArrayOutputStream progress = new ByteArrayOutputStream();

    InboxReport report = new InboxBench(settings("smoke", json), new PrintStream(progress, true, StandardCharsets.UTF_8)).run();
    report.writeJson(json);

    assertThat(report.seeding()).extracting(InboxReport.Seeded::steps).containsExactly(3, 23);
    assertThat(report.rows())
        .extracting(r -> r.group() + "/" + r.size())
        .containsExactly("page-first/3", "page-deep/3", "page-first/23", "page-deep/23", "connect/3", "connect/23", "fanout/2", "fanout-ack/2", "fanout/12",
            "fanout-ack/12");
    assertThat(report.rows()).allSatisfy(r -> assertThat(r.latency().p50()).isPositive());
    assertThat(report.rows().stream().filter(r -> r.group().startsWith("page-"))).allSatisfy(r -> assertThat(r.latency().count()).isEqualTo(20));
    assertThat(report.rows().stream().filter(r -> r.group().startsWith("fanout"))).allSatisfy(r -> assertThat(r.latency().count()).isEqualTo(3));
    // 23 conversations in pages of 5: page 3 starts after 10 items; 3 conversations fit one page.
    assertThat(report.rows().get(0).detail()).isEqualTo("first page (3 items)");
    assertThat(report.rows().get(1).detail()).isEqualTo("page after item 1 (only one page), 2 items");
    assertThat(report.rows().get(2).detail()).isEqualTo("first page (5 items)");
    assertThat(report.rows().get(3).detail()).isEqualTo("page 3 (after 10 items), 5 items");
    assertThat(report.rows().get(0).p50Ratio()).isEqualTo(1.0);
    assertThat(report.missedUpdates()).isZero();
    assertThat(report.errorsByCode()).isEmpty();
    assertThat(report.targets()).hasSize(3);
    assertThat(report.toText()).contains("page-deep").contains("fanout").contains("target inbox page p99 < 10 ms");
    assertThat(Files.readString(json)).contains("\"p99Ratio\"");
  }

  @Test
  void aSecondRunFindsTheSeededInboxesAndSeedsNothing() throws Exception {
    InboxBench.Settings seedOnly = new InboxBench.Settings(
        node.wsBase(), TestNode.JWT_SECRET, "again", List.of(12), 4, 5, 2, 1, 0, 0, List.of(2), 0, 1, 4,
        Duration.ofSeconds(60), Duration.ofSeconds(10), true, null);
    PrintStream quiet = new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8);

    InboxReport first = new InboxBench(seedOnly, quiet).run();
    InboxReport second = new InboxBench(seedOnly, quiet).run();

    assertThat(first.seeding().get(0).steps()).isEqualTo(12);
    assertThat(second.seeding().get(0).steps()).as("everything was found in the inbox").isZero();
    assertThat(second.rows()).isEmpty();
  }
}
