package dev.parley.notification;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** parley.notifications read and checked once at start-up, the retry schedule, and the payload's shape. */
class NotificationSettingsTest {

  private static Config withDefaults(Map<String, Object> settings) {
    ConfigFactory.invalidateCaches();
    return ConfigFactory.load(ConfigFactory.parseMap(settings).withFallback(ConfigFactory.defaultApplication()));
  }

  @Test
  void offByDefault() {
    NotificationSettings settings = NotificationSettings.from(withDefaults(Map.of()));
    assertThat(settings.enabled()).isFalse();
    assertThat(settings.window()).isEqualTo(Duration.ofSeconds(30));
  }

  @Test
  void aUrlNeedsASecretOfAtLeastSixteenBytes() {
    assertThatThrownBy(() -> NotificationSettings.from(withDefaults(Map.of("parley.notifications.url", "http://push.example/n"))))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("parley.notifications.secret");
    NotificationSettings on =
        NotificationSettings.from(
            withDefaults(Map.of("parley.notifications.url", "https://push.example/n", "parley.notifications.secret", "0123456789abcdef")));
    assertThat(on.enabled()).isTrue();
  }

  @Test
  void aUrlThatIsNotHttpIsRefused() {
    assertThatThrownBy(
            () ->
                NotificationSettings.from(
                    withDefaults(Map.of("parley.notifications.url", "ftp://push.example/n", "parley.notifications.secret", "0123456789abcdef"))))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("http");
  }

  @Test
  void backoffDoublesFromTheMinimumUpToTheMaximumWithBoundedJitter() {
    NotificationSettings settings = NotificationSettings.OFF;
    assertThat(settings.backoff(1, 0)).isEqualTo(Duration.ofSeconds(1));
    assertThat(settings.backoff(2, 0)).isEqualTo(Duration.ofSeconds(2));
    assertThat(settings.backoff(4, 0)).isEqualTo(Duration.ofSeconds(8));
    assertThat(settings.backoff(40, 0)).isEqualTo(Duration.ofMinutes(5));
    assertThat(settings.backoff(40, 1)).isEqualTo(Duration.ofMinutes(6));
  }

  @Test
  void thePayloadLeavesTheTextOutWhenAsked() {
    NotificationStore.Due due = new NotificationStore.Due("bob", "c1", 2, 17, "alice", "hello", 1000, 900, 0, true, false, 1, null);
    var with = NotificationWebhook.payload(due, true);
    assertThat(with.path("unread").asInt()).as("never below the messages it covers").isEqualTo(2);
    assertThat(with.path("message").path("text").asText()).isEqualTo("hello");
    assertThat(with.path("title").isNull()).isTrue();
    assertThat(with.path("delivery").asText()).isEqualTo("notify/bob/c1/17");
    assertThat(NotificationWebhook.payload(due, false).path("message").has("text")).isFalse();
  }
}
