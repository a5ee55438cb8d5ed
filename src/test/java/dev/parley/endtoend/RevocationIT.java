package dev.parley.endtoend;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.auth.Tokens;
import dev.parley.cli.ParleyCommand;
import dev.parley.testing.TestNode;
import dev.parley.testing.WsClient;
import java.time.Clock;
import java.time.Duration;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import picocli.CommandLine;

/**
 * Revocation by user id (issue 8): `parley admin revoke USER` ends the user's open connections
 * with a reason, refuses their old tokens on the websocket and the HTTP API, leaves other users
 * alone, accepts tokens issued afterwards, and is remembered across a restart (H2 and PostgreSQL).
 */
class RevocationIT {

  @ParameterizedTest(name = "{0}")
  @MethodSource("dev.parley.testing.TestNode#storages")
  void revokingAUserEndsTheirConnectionsAndRefusesTheirOldTokens(String storage, TestNode.Factory factory) throws Exception {
    try (TestNode node = factory.start()) {
      String oldToken = node.token("mallory");
      WsClient mallory = WsClient.connect(node.wsUri(oldToken));
      WsClient secondDevice = WsClient.connect(node.wsUri(oldToken));
      WsClient bob = node.connect("bob");
      mallory.pingPong();
      secondDevice.pingPong();
      bob.pingPong();

      int exit =
          new CommandLine(new ParleyCommand())
              .execute("admin", "--management", node.managementUri().toString(), "--token", TestNode.ADMIN_TOKEN, "revoke", "mallory");
      assertThat(exit).isZero();

      for (WsClient device : new WsClient[] {mallory, secondDevice}) {
        JsonNode reason = device.expect("error");
        assertThat(reason.path("code").asText()).isEqualTo("unauthorized");
        assertThat(reason.path("message").asText()).contains("revoked");
        device.awaitClosed();
      }
      assertThat(bob.pingPong().path("type").asText()).isEqualTo("pong");

      assertThat(WsClient.refusedUpgradeStatus(node.wsUri(oldToken))).isEqualTo(401);
      assertThat(node.api().get("/v1/inbox", oldToken).status()).isEqualTo(401);
      assertThat(node.api().get("/v1/inbox", oldToken).errorCode()).isEqualTo("unauthorized");

      // A token issued after the revocation (iat has one-second resolution: two seconds later).
      Tokens later = new Tokens(TestNode.JWT_SECRET, Clock.offset(Clock.systemUTC(), Duration.ofSeconds(2)));
      String newToken = later.mint("mallory", Duration.ofMinutes(10));
      try (WsClient again = WsClient.connect(node.wsUri(newToken))) {
        assertThat(again.pingPong().path("type").asText()).isEqualTo("pong");
      }

      node.restart();
      assertThat(WsClient.refusedUpgradeStatus(node.wsUri(oldToken))).isEqualTo(401);
      try (WsClient afterRestart = WsClient.connect(node.wsUri(newToken))) {
        assertThat(afterRestart.pingPong().path("type").asText()).isEqualTo("pong");
      }
      bob.close();
    }
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("dev.parley.testing.TestNode#storages")
  void revokeNeedsTheAdminTokenAndAUser(String storage, TestNode.Factory factory) throws Exception {
    try (TestNode node = factory.start()) {
      String management = node.managementUri().toString();
      assertThat(new CommandLine(new ParleyCommand()).execute("admin", "--management", management, "--token", "wrong", "revoke", "bob"))
          .isEqualTo(1);
      assertThat(new CommandLine(new ParleyCommand()).execute("admin", "--management", management, "--token", TestNode.ADMIN_TOKEN, "revoke", " "))
          .isEqualTo(1);
      try (WsClient bob = node.connect("bob")) {
        assertThat(bob.pingPong().path("type").asText()).isEqualTo("pong");
      }
    }
  }
}
