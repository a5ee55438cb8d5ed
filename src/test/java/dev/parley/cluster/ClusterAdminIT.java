package dev.parley.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.Node;
import dev.parley.testing.ParleyCli;
import dev.parley.testing.TestCluster;
import dev.parley.testing.TestNode;
import dev.parley.testing.WsClient;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.pekko.cluster.typed.Cluster;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * {@code parley admin} driven as an operator would (the real command line, in process) against a
 * real 2-node cluster on PostgreSQL, through the management port of one node.
 */
class ClusterAdminIT {

  private static final String TOKEN = TestNode.ADMIN_TOKEN;

  @RegisterExtension final TestCluster cluster = TestCluster.perTest();
  private Node first;
  private Node second;

  @BeforeEach
  void startNodes() throws Exception {
    first = cluster.startNode(Map.of("parley.admin.token", TOKEN));
    second = cluster.startNode(Map.of("parley.admin.token", TOKEN));
    await().atMost(Duration.ofSeconds(30)).until(() -> upMembers(first) == 2 && upMembers(second) == 2);
    // Each node's agent registers with the receptionist, whose registry spreads by gossip: only
    // then can a node answer for (or drain) the other.
    await()
        .atMost(Duration.ofSeconds(30))
        .until(
            () ->
                json(admin(first, "connections", "--json")).path("nodes").size() == 2
                    && json(admin(second, "connections", "--json")).path("nodes").size() == 2);
  }

  @Test
  void membersListsEveryNodeWithStatusAppVersionAndRoles() throws Exception {
    ParleyCli.Result table = admin(first, "members");
    assertThat(table.exitCode()).as(table.out() + table.err()).isZero();
    String appVersion = Cluster.get(first.system()).selfMember().appVersion().toString();
    assertThat(table.out().lines().toList())
        .first()
        .asString()
        .startsWith("ADDRESS")
        .contains("STATUS", "REACHABLE", "APP-VERSION", "ROLES");
    assertThat(table.out()).contains(address(first), address(second));
    assertThat(table.out().lines().filter(line -> line.contains(" Up ") && line.contains(appVersion))).hasSize(2);

    JsonNode json = json(admin(second, "members", "--json"));
    assertThat(json.path("members")).hasSize(2);
    for (JsonNode member : json.path("members")) {
      assertThat(member.path("status").asText()).isEqualTo("Up");
      assertThat(member.path("reachable").asBoolean()).isTrue();
      assertThat(member.path("appVersion").asText()).isEqualTo(appVersion);
      assertThat(member.path("roles").isArray()).isTrue();
    }
    assertThat(json.path("self").asText()).isEqualTo(address(second));
  }

  @Test
  void shardsAndConnectionsArePerNode() throws Exception {
    List<WsClient> clients = new ArrayList<>();
    try {
      WsClient alice = cluster.connect(first, "alice");
      clients.add(alice);
      clients.add(cluster.connect(first, "bob"));
      clients.add(cluster.connect(second, "carol"));
      clients.forEach(WsClient::pingPong);
      int conversations = 12;
      for (int i = 0; i < conversations; i++) {
        assertThat(alice.request(WsClient.frame("create").put("conversation", "admin-" + i)).path("type").asText()).isEqualTo("created");
      }

      JsonNode connections = json(admin(first, "connections", "--json"));
      assertThat(connections.path("connections").asInt()).isEqualTo(3);
      assertThat(perNode(connections, "connections")).containsEntry(address(first), 2L).containsEntry(address(second), 1L);
      // A node that does not answer an admin query in time (5 s) is left out of that answer: on a
      // loaded machine ask again rather than fail on one slow reply.
      await()
          .atMost(Duration.ofSeconds(30))
          .untilAsserted(
              () -> {
                ParleyCli.Result connectionsTable = admin(second, "connections");
                assertThat(connectionsTable.out()).containsPattern("(?m)^total\\s+3\\b");
                assertThat(connectionsTable.out()).containsPattern("(?m)^" + java.util.regex.Pattern.quote(address(first)) + "\\s+2\\s+no$");
              });

      JsonNode shards = json(admin(second, "shards", "--json"));
      assertThat(shards.path("entities").asInt()).isEqualTo(conversations);
      Map<String, Long> entities = perNode(shards, "entities");
      assertThat(entities).containsOnlyKeys(address(first), address(second));
      assertThat(entities.values().stream().mapToLong(Long::longValue).sum()).isEqualTo(conversations);
      assertThat(shards.path("shards").asInt()).isPositive();
      ParleyCli.Result shardsTable = admin(first, "shards");
      assertThat(shardsTable.out()).startsWith("ADDRESS").containsPattern("(?m)^total\\s+\\d+\\s+" + conversations + "$");
    } finally {
      clients.forEach(WsClient::close);
    }
  }

  @Test
  void leaveMakesAnotherNodeLeaveTheCluster() throws Exception {
    ParleyCli.Result left = admin(first, "leave", address(second));
    assertThat(left.exitCode()).as(left.out() + left.err()).isZero();
    assertThat(left.out()).contains("status: leaving", "node: " + address(second));
    await().atMost(Duration.ofSeconds(60)).until(() -> second.whenTerminated().isDone());
    cluster.forget(second);
    await().atMost(Duration.ofSeconds(30)).until(() -> json(admin(first, "members", "--json")).path("members").size() == 1);
  }

  @Test
  void drainOfAnotherNodeSendsItsClientsAReconnectHint() throws Exception {
    WsClient carol = cluster.connect(second, "carol");
    carol.pingPong();
    String hostPort = address(second).substring(address(second).indexOf('@') + 1);
    ParleyCli.Result drained = admin(first, "drain", hostPort, "--json");
    assertThat(drained.exitCode()).as(drained.out() + drained.err()).isZero();
    assertThat(json(drained).path("status").asText()).isEqualTo("draining");
    assertThat(carol.expect("reconnect").path("afterMs").asLong()).isBetween(0L, 1000L);
    carol.awaitClosed();
    await().atMost(Duration.ofSeconds(60)).until(() -> second.whenTerminated().isDone());
    cluster.forget(second);
    assertThat(first.whenTerminated().isDone()).isFalse();
  }

  @Test
  void unknownNodesAndWrongTokensAreRefusedWithAReason() {
    ParleyCli.Result unknown = admin(first, "down", "127.0.0.1:1");
    assertThat(unknown.exitCode()).isEqualTo(1);
    assertThat(unknown.err()).contains("404", "no such member");
    ParleyCli.Result wrongToken =
        ParleyCli.run("admin", "members", "--management", first.managementUri().toString(), "--token", "wrong-token");
    assertThat(wrongToken.exitCode()).isEqualTo(1);
    assertThat(wrongToken.err()).contains("401");
    assertThat(upMembers(first)).isEqualTo(2);
  }

  @Test
  void pekkoManagementsUnauthenticatedClusterRoutesCannotLeaveOrDownANode() throws Exception {
    String member = URLEncoder.encode(address(second), StandardCharsets.UTF_8);
    for (String operation : List.of("Leave", "Down")) {
      HttpResponse<String> response =
          HttpClient.newHttpClient()
              .send(
                  HttpRequest.newBuilder(URI.create(first.managementUri() + "/cluster/members/" + member))
                      .header("Content-Type", "application/x-www-form-urlencoded")
                      .PUT(HttpRequest.BodyPublishers.ofString("operation=" + operation))
                      .build(),
                  HttpResponse.BodyHandlers.ofString());
      assertThat(response.statusCode()).as(operation + ": " + response.body()).isEqualTo(405);
    }
    assertThat(json(admin(first, "members", "--json")).path("members").findValuesAsText("status")).containsExactly("Up", "Up");
    assertThat(second.whenTerminated().isDone()).isFalse();
  }

  private static ParleyCli.Result admin(Node node, String... args) {
    List<String> all = new ArrayList<>(List.of("admin"));
    all.addAll(List.of(args));
    all.addAll(List.of("--management", node.managementUri().toString(), "--token", TOKEN));
    return ParleyCli.run(all.toArray(String[]::new));
  }

  private static JsonNode json(ParleyCli.Result result) throws Exception {
    assertThat(result.exitCode()).as(result.out() + result.err()).isZero();
    return WsClient.JSON.readTree(result.out());
  }

  private static Map<String, Long> perNode(JsonNode body, String field) {
    Map<String, Long> values = new HashMap<>();
    body.path("nodes").forEach(n -> values.put(n.path("address").asText(), n.path(field).asLong()));
    return values;
  }

  private static String address(Node node) {
    return Cluster.get(node.system()).selfMember().address().toString();
  }

  private static long upMembers(Node node) {
    return java.util.stream.StreamSupport.stream(Cluster.get(node.system()).state().getMembers().spliterator(), false)
        .filter(m -> m.status() == org.apache.pekko.cluster.MemberStatus.up())
        .count();
  }
}
