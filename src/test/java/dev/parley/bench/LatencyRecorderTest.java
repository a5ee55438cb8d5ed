package dev.parley.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class LatencyRecorderTest {

  @Test
  void percentilesOfOneToThousandMillisecondsAreWhereTheyShouldBe() {
    LatencyRecorder recorder = new LatencyRecorder();
    for (int ms = 1; ms <= 1000; ms++) recorder.record(TimeUnit.MILLISECONDS.toNanos(ms));

    LatencyRecorder.LatencySummary total = recorder.total();

    assertThat(total.count()).isEqualTo(1000);
    // HdrHistogram with 3 significant digits: each value is exact to within 0.1%.
    assertThat(total.p50()).isCloseTo(500, within(1.0));
    assertThat(total.p90()).isCloseTo(900, within(1.0));
    assertThat(total.p99()).isCloseTo(990, within(1.0));
    assertThat(total.p999()).isCloseTo(999, within(1.0));
    assertThat(total.max()).isCloseTo(1000, within(1.0));
  }

  @Test
  void oneStallShowsInTheMaxAndTheTailButNotInTheMedian() {
    LatencyRecorder recorder = new LatencyRecorder();
    for (int i = 0; i < 999; i++) recorder.record(TimeUnit.MILLISECONDS.toNanos(2));
    recorder.record(TimeUnit.SECONDS.toNanos(3));

    LatencyRecorder.LatencySummary total = recorder.total();

    assertThat(total.p50()).isCloseTo(2, within(0.01));
    assertThat(total.p999()).isCloseTo(2, within(0.01));
    assertThat(total.max()).isCloseTo(3000, within(3.0));
  }

  @Test
  void anIntervalHoldsOnlyWhatCameSinceThePreviousOneWhileTheTotalKeepsEverything() {
    LatencyRecorder recorder = new LatencyRecorder();
    recorder.record(TimeUnit.MILLISECONDS.toNanos(10));
    assertThat(recorder.interval().count()).isEqualTo(1);

    recorder.record(TimeUnit.MILLISECONDS.toNanos(20));
    recorder.record(TimeUnit.MILLISECONDS.toNanos(30));
    LatencyRecorder.LatencySummary second = recorder.interval();

    assertThat(second.count()).isEqualTo(2);
    assertThat(second.max()).isCloseTo(30, within(0.1));
    assertThat(recorder.total().count()).isEqualTo(3);
  }

  @Test
  void nothingRecordedGivesZeros() {
    assertThat(new LatencyRecorder().total()).isEqualTo(new LatencyRecorder.LatencySummary(0, 0, 0, 0, 0, 0));
  }
}
