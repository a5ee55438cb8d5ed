package dev.parley.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.URI;
import org.junit.jupiter.api.Test;

class WebSocketHandshakeTest {

  /** The example of RFC 6455, section 1.3. */
  private static final String RFC_KEY = "dGhlIHNhbXBsZSBub25jZQ==";
  private static final String RFC_ACCEPT = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

  @Test
  void theAcceptValueIsTheOneOfTheRfcExample() {
    assertThat(WebSocketHandshake.accept(RFC_KEY)).isEqualTo(RFC_ACCEPT);
  }

  @Test
  void theKeyIsSixteenBytesInBase64() {
    assertThat(WebSocketHandshake.key("the sample nonce".getBytes(java.nio.charset.StandardCharsets.US_ASCII))).isEqualTo(RFC_KEY);
    assertThatThrownBy(() -> WebSocketHandshake.key(new byte[15])).isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void theRequestCarriesPathQueryHostAndTheUpgradeHeaders() {
    String request = WebSocketHandshake.request(URI.create("ws://127.0.0.1:18481/v1/ws?token=abc.def"), RFC_KEY);

    assertThat(request)
        .startsWith("GET /v1/ws?token=abc.def HTTP/1.1\r\n")
        .contains("\r\nHost: 127.0.0.1:18481\r\n", "\r\nUpgrade: websocket\r\n", "\r\nConnection: Upgrade\r\n",
            "\r\nSec-WebSocket-Key: " + RFC_KEY + "\r\n", "\r\nSec-WebSocket-Version: 13\r\n")
        .endsWith("\r\n\r\n");
  }

  @Test
  void a101WithTheRightAcceptUpgradesAndAWrongAcceptDoesNot() {
    String head = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ";

    assertThat(WebSocketHandshake.Response.parse(head + RFC_ACCEPT + "\r\n\r\n").upgrades(RFC_KEY)).isTrue();
    assertThat(WebSocketHandshake.Response.parse(head + "bm9wZQ==\r\n\r\n").upgrades(RFC_KEY)).isFalse();
  }

  @Test
  void a503SaysWhenToRetryAndIsNotAnUpgrade() {
    WebSocketHandshake.Response response =
        WebSocketHandshake.Response.parse("HTTP/1.1 503 Service Unavailable\r\nretry-after: 2\r\nContent-Length: 0\r\n\r\n");

    assertThat(response.status()).isEqualTo(503);
    assertThat(response.upgrades(RFC_KEY)).isFalse();
    assertThat(response.retryAfterSeconds()).hasValue(2);
    assertThat(WebSocketHandshake.Response.parse("HTTP/1.1 401 Unauthorized\r\n\r\n").retryAfterSeconds()).isEmpty();
  }

  @Test
  void somethingThatIsNotHttpIsRefused() {
    assertThatThrownBy(() -> WebSocketHandshake.Response.parse("SSH-2.0-OpenSSH\r\n\r\n")).isInstanceOf(IllegalArgumentException.class);
  }
}
