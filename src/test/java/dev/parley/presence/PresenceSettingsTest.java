package dev.parley.presence;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** parley.presence as the node reads it, and the write budget derived from Artery's frame and Distributed Data's delta tick. */
class PresenceSettingsTest {

  private static Config shipped(String overrides) {
    return ConfigFactory.parseString(overrides).withFallback(ConfigFactory.load()).resolve();
  }

  @Test
  void theShippedConfigurationGivesARoundAnEighthOfTheDefaultFrame() {
    PresenceSettings settings = PresenceSettings.from(shipped(""));
    // 256 KiB frame x 0.5, over the 4 write rounds (100 ms) of one 400 ms delta tick (gossip 2 s / 5).
    assertThat(settings.writeRoundBytes()).isEqualTo(256 * 1024 / 2 / 4);
    assertThat(settings.writeRoundBytes()).isEqualTo(PresenceSettings.DEFAULTS.writeRoundBytes());
    assertThat(settings.writeInterval()).isEqualTo(Duration.ofMillis(100));
    assertThat(settings.keys()).isEqualTo(1000);
  }

  @Test
  void aSmallerFrameGivesASmallerRound() {
    PresenceSettings settings = PresenceSettings.from(shipped("pekko.remote.artery.advanced.maximum-frame-size = 32 KiB"));
    assertThat(settings.writeRoundBytes()).isEqualTo(32 * 1024 / 2 / 4);
  }

  @Test
  void theShareAndTheTickAreRead() {
    PresenceSettings settings =
        PresenceSettings.from(
            shipped(
                """
                parley.presence.delta-share-of-frame = 0.25
                parley.presence.write-interval = 200ms
                pekko.cluster.distributed-data.gossip-interval = 4s
                """));
    // Tick 800 ms: 4 rounds of 200 ms; a quarter of 256 KiB shared by them.
    assertThat(settings.writeRoundBytes()).isEqualTo(256 * 1024 / 4 / 4);
  }

  @Test
  void theDeltaTickIsNeverShorterThan200msAsInPekko() {
    assertThat(PresenceSettings.deltaInterval(shipped("pekko.cluster.distributed-data.gossip-interval = 500ms"))).isEqualTo(Duration.ofMillis(200));
    assertThat(PresenceSettings.writeRoundBytes(100_000, 0.5, Duration.ofMillis(200), Duration.ofMillis(300))).isEqualTo(50_000);
    assertThat(PresenceSettings.writeRoundBytes(100_000, 0.5, Duration.ofMillis(450), Duration.ofMillis(100))).isEqualTo(10_000);
  }

  @Test
  void aFrameTooSmallForTheLongestEntryIsRefusedAtStartUp() {
    assertThatThrownBy(() -> PresenceSettings.from(shipped("pekko.remote.artery.advanced.maximum-frame-size = 8 KiB")))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("maximum-frame-size");
    assertThatThrownBy(() -> PresenceSettings.from(shipped("parley.presence.delta-share-of-frame = 1.5")))
        .isInstanceOf(IllegalArgumentException.class);
  }
}
