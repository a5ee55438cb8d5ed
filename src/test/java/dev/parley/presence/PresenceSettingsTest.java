package dev.parley.presence;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** parley.presence as the node reads it, and the size of a message between hubs derived from Artery's frame. */
class PresenceSettingsTest {

  private static Config shipped(String overrides) {
    return ConfigFactory.parseString(overrides).withFallback(ConfigFactory.load()).resolve();
  }

  @Test
  void theShippedConfigurationGivesAMessageHalfOfTheDefaultFrame() {
    PresenceSettings settings = PresenceSettings.from(shipped(""));
    assertThat(settings.messageBytes()).isEqualTo(256 * 1024 / 2);
    assertThat(settings.messageBytes()).isEqualTo(PresenceSettings.DEFAULTS.messageBytes());
    assertThat(settings.writeInterval()).isEqualTo(Duration.ofMillis(100));
  }

  @Test
  void aSmallerFrameOrShareGivesASmallerMessage() {
    assertThat(PresenceSettings.from(shipped("pekko.remote.artery.advanced.maximum-frame-size = 32 KiB")).messageBytes()).isEqualTo(32 * 1024 / 2);
    assertThat(PresenceSettings.from(shipped("parley.presence.message-share-of-frame = 0.25")).messageBytes()).isEqualTo(256 * 1024 / 4);
  }

  @Test
  void aMessageTooSmallForTheLongestEntryIsRefusedAtStartUp() {
    assertThatThrownBy(() -> PresenceSettings.from(shipped("parley.presence.message-share-of-frame = 0.004")))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("maximum-frame-size");
    assertThatThrownBy(() -> PresenceSettings.from(shipped("parley.presence.message-share-of-frame = 1.5")))
        .isInstanceOf(IllegalArgumentException.class);
  }
}
