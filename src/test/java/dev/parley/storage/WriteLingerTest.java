package dev.parley.storage;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * {@link WriteLinger}: a batch waits for company only while writes arrive fast (issue 18), so a
 * quiet node's sends pay no linger and a busy node's share commits.
 */
class WriteLingerTest {

  private static final long MS = 1_000_000L;
  private static final long LINGER = 5 * MS;

  private final WriteLinger linger = new WriteLinger(Duration.ofNanos(LINGER), 400, 50);

  @Test
  void aLoneWriteOfAQuietNodeDoesNotWait() {
    assertThat(linger.lingerNanos(123 * MS)).isZero();
  }

  @Test
  void writesArrivingAt2000PerSecondWait() {
    long now = 0;
    for (int batch = 0; batch < 40; batch++, now += LINGER) linger.taken(now, 10); // 10 writes per 5 ms
    assertThat(linger.rate(now)).isBetween(1_800.0, 2_200.0);
    assertThat(linger.lingerNanos(now)).isEqualTo(LINGER);
  }

  @Test
  void fiftyWritesPerSecondNeverWaitEvenInBursts() {
    long now = 0;
    for (int i = 0; i < 200; i++, now += 20 * MS) {
      assertThat(linger.lingerNanos(now)).isZero();
      linger.taken(now, 1);
      if (i % 10 == 0) {
        // a burst: five sends within a millisecond, each its own batch
        for (int b = 1; b <= 5; b++) {
          assertThat(linger.lingerNanos(now + b * MS / 5)).isZero();
          linger.taken(now + b * MS / 5, 1);
        }
      }
    }
  }

  @Test
  void aWriteAfterTheLoadStoppedDoesNotWait() {
    long now = 0;
    for (int batch = 0; batch < 40; batch++, now += LINGER) linger.taken(now, 10);
    assertThat(linger.lingerNanos(now)).isEqualTo(LINGER);
    assertThat(linger.lingerNanos(now + 200 * MS)).isZero();
  }

  @Test
  void withoutALingerNothingWaits() {
    WriteLinger none = new WriteLinger(Duration.ZERO, 0, 50);
    for (long now = 0; now < 40 * LINGER; now += LINGER) none.taken(now, 100);
    assertThat(none.lingerNanos(40 * LINGER)).isZero();
  }

  @Test
  void fromRateZeroAlwaysWaits() {
    assertThat(new WriteLinger(Duration.ofNanos(LINGER), 0, 50).lingerNanos(7 * MS)).isEqualTo(LINGER);
  }
}
