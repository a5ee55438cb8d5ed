package dev.parley.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.parley.cli.ParleyCommand;
import dev.parley.testing.TestNode;
import dev.parley.testing.WsClient;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** The operator routes on the management port and {@code parley admin}, against a real node. */
class AdminIT {

  private static final HttpClient HTTP = HttpClient.newHttpClient();
  private TestNode node;

  @BeforeEach
  void start() throws Exception {
    node = TestNode.onH2();
  }

  @AfterEach
  void stop() throws Exception {
    node.close();
  }

  @Test
  void statusNeedsTheAdminToken() throws Exception {
    assertThat(call("GET", "/parley/status", null).statusCode()).isEqualTo(401);
    assertThat(call("GET", "/parley/status", "wrong-token").statusCode()).isEqualTo(401);
    assertThat(call("POST", "/parley/drain", "wrong-token").statusCode()).isEqualTo(401);
    assertThat(node.hasTerminated()).isFalse();
  }

  @Test
  void statusCountsOpenConnections() throws Exception {
    try (WsClient client = node.connect("alice")) {
      client.pingPong();
      HttpResponse<String> response = call("GET", "/parley/status", TestNode.ADMIN_TOKEN);
      assertThat(response.statusCode()).isEqualTo(200);
      JsonNode status = WsClient.JSON.readTree(response.body());
      assertThat(status.path("connections").asInt()).isEqualTo(1);
      assertThat(status.path("draining").asBoolean()).isFalse();
      assertThat(status.path("status").asText()).isEqualTo("Up");
      assertThat(status.path("admission").path("connections").path("admitted").asLong()).isGreaterThanOrEqualTo(1);
    }
  }

  @Test
  void statusCountsConversationRecoveries() throws Exception {
    JsonNode before = WsClient.JSON.readTree(call("GET", "/parley/status", TestNode.ADMIN_TOKEN).body());
    try (WsClient client = node.connect("alice")) {
      // Each new conversation entity recovers (from an empty journal) before it answers.
      for (int i = 0; i < 3; i++) {
        ObjectNode create = WsClient.frame("create").put("conversation", "recovering-" + i + "-" + System.nanoTime());
        create.putArray("members");
        assertThat(client.request(create).path("type").asText()).isEqualTo("created");
      }
    }
    JsonNode after = WsClient.JSON.readTree(call("GET", "/parley/status", TestNode.ADMIN_TOKEN).body());
    assertThat(after.path("recoveriesCompleted").asLong() - before.path("recoveriesCompleted").asLong()).isGreaterThanOrEqualTo(3);
    assertThat(after.path("recoveriesInFlight").asInt()).isZero();
    assertThat(after.path("recoveriesPeak").asInt()).isGreaterThanOrEqualTo(1);
  }

  @Test
  void adminCommandReportsStatusAndRefusesAWrongToken() {
    String management = node.managementUri().toString();
    assertThat(parley("admin", "--management", management, "--token", TestNode.ADMIN_TOKEN, "--json", "status")).isZero();
    assertThat(parley("admin", "--management", management, "--token", "wrong-token", "status")).isEqualTo(1);
  }

  @Test
  void drainTellsClientsToReconnectAndStopsTheNode() throws Exception {
    WsClient client = node.connect("alice");
    client.pingPong();
    assertThat(parley("admin", "--management", node.managementUri().toString(), "--token", TestNode.ADMIN_TOKEN, "drain"))
        .isZero();
    JsonNode reconnect = client.expect("reconnect");
    assertThat(reconnect.path("afterMs").asLong()).isBetween(0L, 1000L);
    client.awaitClosed();
    await().atMost(Duration.ofSeconds(60)).until(node::hasTerminated);
  }

  private HttpResponse<String> call(String method, String path, String token) throws Exception {
    HttpRequest.Builder request =
        HttpRequest.newBuilder(URI.create(node.managementUri() + path)).method(method, HttpRequest.BodyPublishers.noBody());
    if (token != null) request.header("Authorization", "Bearer " + token);
    return HTTP.send(request.build(), HttpResponse.BodyHandlers.ofString());
  }

  private static int parley(String... args) {
    return new CommandLine(new ParleyCommand()).execute(args);
  }
}
