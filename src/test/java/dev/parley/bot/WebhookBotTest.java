package dev.parley.bot;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** The webhook signature, checked against a value computed independently (openssl, see bots.md). */
class WebhookBotTest {

  @Test
  void signatureIsTheHexHmacSha256OfTheBody() {
    // printf '%s' '{"type":"message"}' | openssl dgst -sha256 -hmac 'webhook-secret-for-tests'
    assertThat(WebhookBot.signature("webhook-secret-for-tests".getBytes(StandardCharsets.UTF_8), "{\"type\":\"message\"}".getBytes(StandardCharsets.UTF_8)))
        .isEqualTo("sha256=" + OPENSSL);
  }

  @Test
  void aShortSecretIsRefusedAtStartUp() {
    assertThatThrownBy(() -> new WebhookBot("hook", URI.create("http://127.0.0.1:9/"), "short", Duration.ofSeconds(1)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("at least 16 bytes");
  }

  private static final String OPENSSL = "6c67864f606e1897da1a600019bc747e7d9afc6514e532d726fce3659e5383b6";
}
