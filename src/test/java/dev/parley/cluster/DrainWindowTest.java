package dev.parley.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** The drain window fits the connections a node holds, capped, and the shutdown timeouts follow the cap. */
class DrainWindowTest {

  /** window 10 s, handover 4 s, 50 handovers/s, at most 5 min. */
  private static final Drain.Settings SETTINGS =
      new Drain.Settings(Duration.ofSeconds(10), Duration.ofSeconds(10), Duration.ofSeconds(4), Duration.ofSeconds(2), true, Duration.ofMinutes(5), 50);

  @Test
  void aNodeWithFewConnectionsKeepsTheShortestWindow() {
    assertThat(SETTINGS.windowFor(0)).isEqualTo(Duration.ofSeconds(10));
    assertThat(SETTINGS.windowFor(300)).as("300 / 50 + 4 = 10 s").isEqualTo(Duration.ofSeconds(10));
  }

  @Test
  void aNodeWithManyConnectionsStretchesItsWindowToHandThemOverAtTheRate() {
    assertThat(SETTINGS.windowFor(1500)).as("1,500 / 50 + 4 s").isEqualTo(Duration.ofSeconds(34));
    assertThat(SETTINGS.windowFor(10_000)).as("10,000 / 50 + 4 s").isEqualTo(Duration.ofSeconds(204));
  }

  @Test
  void theWindowNeverExceedsTheCap() {
    assertThat(SETTINGS.windowFor(50_000)).as("1,004 s wanted, 5 min allowed").isEqualTo(Duration.ofMinutes(5));
  }

  @Test
  void withoutAHandoverRateTheWindowIsFixed() {
    Drain.Settings fixed = new Drain.Settings(Duration.ZERO, Duration.ofSeconds(10), Duration.ofSeconds(4), Duration.ZERO, true);
    assertThat(fixed.windowFor(50_000)).isEqualTo(Duration.ofSeconds(10));
  }

  @Test
  void aDownedNodeSpreadsItsClientsAtTheHandoverRateWithoutTheMinimumWindow() {
    assertThat(SETTINGS.downedWindowFor(300)).as("300 / 50 = 6 s: no 10 s minimum, no handover").isEqualTo(Duration.ofSeconds(6));
    assertThat(SETTINGS.downedWindowFor(10)).as("never under 1 s").isEqualTo(Duration.ofSeconds(1));
    assertThat(SETTINGS.downedWindowFor(50_000)).as("capped like a drain").isEqualTo(Duration.ofMinutes(5));
    Drain.Settings fixed = new Drain.Settings(Duration.ZERO, Duration.ofSeconds(10), Duration.ofSeconds(4), Duration.ZERO, true);
    assertThat(fixed.downedWindowFor(50_000)).as("without a rate: 1 s").isEqualTo(Duration.ofSeconds(1));
  }

  @Test
  void aCapBelowTheShortestWindowIsRefused() {
    assertThatThrownBy(
            () -> new Drain.Settings(Duration.ZERO, Duration.ofSeconds(30), Duration.ZERO, Duration.ZERO, true, Duration.ofSeconds(10), 50))
        .hasMessageContaining("parley.drain.max-window");
  }

  @Test
  void theShutdownPhasesAreRaisedToOutlastTheCapAndTheReadinessDelay() {
    Config configured =
        ConfigFactory.parseString(
            "pekko.coordinated-shutdown.phases.before-service-unbind.timeout = 5s\n"
                + "pekko.coordinated-shutdown.phases.service-requests-done.timeout = 45s");
    Config derived = Drain.derivedShutdownTimeouts(configured, SETTINGS);
    assertThat(derived.getDuration("pekko.coordinated-shutdown.phases.service-requests-done.timeout"))
        .as("max-window 5 min + 5 s")
        .isEqualTo(Duration.ofSeconds(305));
    assertThat(derived.getDuration("pekko.coordinated-shutdown.phases.before-service-unbind.timeout"))
        .as("readiness-delay 10 s + 5 s")
        .isEqualTo(Duration.ofSeconds(15));
  }

  @Test
  void aLongerConfiguredTimeoutIsKept() {
    Config configured = ConfigFactory.parseString("pekko.coordinated-shutdown.phases.service-requests-done.timeout = 10m");
    assertThat(Drain.derivedShutdownTimeouts(configured, SETTINGS).getDuration("pekko.coordinated-shutdown.phases.service-requests-done.timeout"))
        .isEqualTo(Duration.ofMinutes(10));
  }
}
