package dev.parley.endtoend;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.parley.testing.TestNode;
import dev.parley.testing.WsClient;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** A token that expires while its connection is open ends that connection, with a reason the client can act on. */
class TokenExpiryIT {

  private static TestNode node;

  @BeforeAll
  static void start() throws Exception {
    node = TestNode.onH2(Map.of("parley.jwt.clock-skew", "0s"));
  }

  @AfterAll
  static void stop() throws Exception {
    node.close();
  }

  @Test
  void aConnectionIsClosedWithTokenExpiredWhenItsTokenExpires() {
    WsClient alice = WsClient.connect(node.wsUri(node.tokens().mint("alice", Duration.ofSeconds(3))));
    assertThat(alice.pingPong().path("type").asText()).as("usable before expiry").isEqualTo("pong");

    ObjectNode error = alice.expect(f -> "error".equals(f.path("type").asText()), "the expiry error");

    assertThat(error.path("code").asText()).isEqualTo("unauthorized");
    assertThat(error.path("message").asText()).contains("token expired");
    alice.awaitClosed();
    assertThat(alice.isOpen()).isFalse();
  }

  @Test
  void aConnectionWithALongLivedTokenIsNotClosed() {
    WsClient shortLived = WsClient.connect(node.wsUri(node.tokens().mint("carol", Duration.ofSeconds(2))));
    WsClient longLived = node.connect("bob");

    shortLived.awaitClosed(); // by then the long-lived one has lived past the short token's expiry

    assertThat(longLived.pingPong().path("type").asText()).isEqualTo("pong");
    assertThat(longLived.isOpen()).isTrue();
    longLived.close();
  }
}
