package dev.parley.endtoend;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.parley.testing.TestNode;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.net.http.WebSocketHandshakeException;
import java.time.Duration;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Browser upgrades from a foreign origin are refused before the upgrade (cross-site websocket hijacking). */
class OriginCheckIT {

  private static final HttpClient HTTP = HttpClient.newHttpClient();
  private static TestNode node;

  @BeforeAll
  static void start() throws Exception {
    node = TestNode.onH2();
  }

  @AfterAll
  static void stop() throws Exception {
    node.close();
  }

  @Test
  void aPageOfAnotherSiteIsRefusedWith403() {
    assertThatThrownBy(() -> open("https://evil.example"))
        .isInstanceOf(ExecutionException.class)
        .cause()
        .isInstanceOfSatisfying(
            WebSocketHandshakeException.class, refused -> assertThat(refused.getResponse().statusCode()).isEqualTo(403));
  }

  @Test
  void aPageServedByTheNodeItselfIsAccepted() throws Exception {
    WebSocket socket = open("http://127.0.0.1:" + node.httpPort());
    assertThat(socket.isOutputClosed()).isFalse();
    socket.abort();
  }

  private static WebSocket open(String origin) throws Exception {
    URI uri = node.wsUri(node.token("alice"));
    return HTTP.newWebSocketBuilder()
        .header("Origin", origin)
        .connectTimeout(Duration.ofSeconds(10))
        .buildAsync(uri, new WebSocket.Listener() {})
        .get(15, TimeUnit.SECONDS);
  }
}
