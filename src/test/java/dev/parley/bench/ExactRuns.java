package dev.parley.bench;

import static org.assertj.core.api.Assertions.assertThat;

/** What every correct bench run shows, whatever the load: messages acknowledged, none lost, doubled or skipped. */
final class ExactRuns {

  private ExactRuns() {}

  static void assertExact(Report report) {
    assertThat(report.correctness().ackedMessages()).isPositive();
    assertThat(report.correctness().lostMessages()).as("acked but never delivered").isZero();
    assertThat(report.correctness().gapSeqs()).as("seq gaps").isZero();
    assertThat(report.correctness().duplicateDeliveries()).as("duplicate deliveries").isZero();
    assertThat(report.correctness().duplicatePosts()).as("duplicate posts").isZero();
    assertThat(report.unackedSends()).as("sends never acked").isZero();
  }
}
