package dev.parley.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.Random;
import org.junit.jupiter.api.Test;

class BackoffTest {

  private final Backoff backoff = new Backoff(Duration.ofMillis(100), Duration.ofSeconds(5), new Random(42));

  @Test
  void theCeilingDoublesPerAttemptUpToTheCap() {
    assertThat(backoff.ceilingMillis(0)).isEqualTo(100);
    assertThat(backoff.ceilingMillis(1)).isEqualTo(200);
    assertThat(backoff.ceilingMillis(5)).isEqualTo(3200);
    assertThat(backoff.ceilingMillis(6)).isEqualTo(5000);
    assertThat(backoff.ceilingMillis(1_000)).isEqualTo(5000);
    assertThat(backoff.ceilingMillis(Integer.MAX_VALUE)).isEqualTo(5000);
  }

  @Test
  void everyDelayLiesBetweenZeroAndItsCeiling() {
    for (int attempt = 0; attempt < 40; attempt++) {
      for (int i = 0; i < 500; i++) {
        assertThat(backoff.delay(attempt).toMillis()).isBetween(0L, backoff.ceilingMillis(attempt));
      }
    }
  }

  @Test
  void delaysAreSpreadOverTheWholeRangeNotBunchedAtTheCeiling() {
    long below = 0;
    long above = 0;
    for (int i = 0; i < 2_000; i++) {
      long delay = backoff.delay(20).toMillis();
      if (delay < 1_000) below++;
      if (delay > 4_000) above++;
    }
    // Full jitter is uniform over [0, 5000]: about a fifth of the samples in each of these ranges.
    assertThat(below).isBetween(300L, 500L);
    assertThat(above).isBetween(300L, 500L);
  }

  @Test
  void refusesABaseAboveTheCap() {
    assertThatThrownBy(() -> new Backoff(Duration.ofSeconds(10), Duration.ofSeconds(1), new Random()))
        .isInstanceOf(IllegalArgumentException.class);
  }
}
