package dev.parley.endtoend;

import static dev.parley.testing.WsClient.frame;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.parley.testing.ApiClient;
import dev.parley.testing.TestNode;
import dev.parley.testing.WsClient;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The abuse limits of {@code parley.limits}, over real websockets and HTTP: each is answered with
 * {@code rate_limited} or {@code too_large} (or HTTP 429 before an upgrade), and the connection
 * that hit it stays open and usable.
 */
class AbuseLimitsIT {

  private static TestNode node;

  @BeforeAll
  static void start() throws Exception {
    node =
        TestNode.onH2(
            Map.of(
                "parley.limits.sends-per-second", 1,
                "parley.limits.sends-burst", 3,
                "parley.limits.typing-per-second", 1,
                "parley.limits.typing-burst", 2,
                "parley.limits.subscriptions-per-connection", 2,
                "parley.limits.connections-per-user", 2,
                "parley.limits.conversations-created-per-minute", 1,
                "parley.limits.conversations-created-burst", 3));
  }

  @AfterAll
  static void stop() throws Exception {
    node.close();
  }

  private static String create(WsClient client, String... members) {
    ObjectNode create = frame("create").put("conversation", "limits-" + UUID.randomUUID());
    var list = create.putArray("members");
    for (String m : members) list.add(m);
    ObjectNode reply = client.request(create);
    assertThat(reply.path("type").asText()).as("reply %s", reply).isEqualTo("created");
    return reply.path("conversation").asText();
  }

  @Test
  void sendsBeyondTheConnectionsRateAreRefusedAndTheConnectionStaysUsable() {
    try (WsClient alice = node.connect("alice-sends")) {
      String conversation = create(alice);
      List<String> answers = new ArrayList<>();
      long started = System.nanoTime();
      for (int i = 0; i < 10; i++) {
        ObjectNode reply =
            alice.request(frame("send").put("conversation", conversation).put("clientMsgId", "m" + i).put("text", "hi"));
        answers.add(reply.path("type").asText().equals("ack") ? "ack" : reply.path("code").asText());
      }
      long seconds = Duration.ofNanos(System.nanoTime() - started).toSeconds();

      assertThat(answers).contains("rate_limited").containsOnly("ack", "rate_limited");
      assertThat(answers.stream().filter("ack"::equals).count()).isBetween(3L, 3L + seconds + 1);
      assertThat(alice.pingPong().path("type").asText()).isEqualTo("pong");
      assertThat(alice.isOpen()).isTrue();
    }
  }

  @Test
  void typingBeyondTheConnectionsRateIsRefusedWithRateLimited() {
    try (WsClient alice = node.connect("alice-typing")) {
      String conversation = create(alice);
      for (int i = 0; i < 10; i++) alice.send(frame("typing").put("id", "t" + i).put("conversation", conversation));

      List<ObjectNode> before = alice.framesBeforePong();
      long limited = before.stream().filter(f -> "rate_limited".equals(f.path("code").asText())).count();
      assertThat(limited).isBetween(1L, 8L);
      assertThat(alice.isOpen()).isTrue();
    }
  }

  @Test
  void subscriptionsBeyondTheConnectionsLimitAreRefusedWithTooLarge() {
    try (WsClient owner = node.connect("owner-subs"); WsClient bob = node.connect("bob-subs")) {
      String first = create(owner, "bob-subs");
      String second = create(owner, "bob-subs");
      String third = create(owner, "bob-subs");

      assertThat(subscribe(bob, first).path("type").asText()).isEqualTo("subscribed");
      assertThat(subscribe(bob, second).path("type").asText()).isEqualTo("subscribed");
      ObjectNode refused = subscribe(bob, third);
      assertThat(refused.path("code").asText()).isEqualTo("too_large");
      assertThat(subscribe(bob, first).path("type").asText()).as("resubscribing counts once").isEqualTo("subscribed");

      bob.request(frame("unsubscribe").put("conversation", second));
      assertThat(subscribe(bob, third).path("type").asText()).isEqualTo("subscribed");
    }
  }

  private static ObjectNode subscribe(WsClient client, String conversation) {
    return client.request(frame("subscribe").put("conversation", conversation).put("since", 0));
  }

  @Test
  void conversationsCreatedBeyondTheUsersAllowanceAreRefusedOnWebsocketAndHttp() {
    String user = "carol-creates";
    try (WsClient carol = node.connect(user)) {
      create(carol);
      create(carol);
      ApiClient.Response third = node.api().post("/v1/conversations", node.token(user), "{\"members\":[]}");
      assertThat(third.status()).isEqualTo(201);

      ApiClient.Response overHttp = node.api().post("/v1/conversations", node.token(user), "{\"members\":[]}");
      assertThat(overHttp.status()).isEqualTo(429);
      assertThat(overHttp.errorCode()).isEqualTo("rate_limited");
      ObjectNode overWs = carol.request(frame("create").putNull("conversation").set("members", WsClient.JSON.createArrayNode()));
      assertThat(overWs.path("code").asText()).isEqualTo("rate_limited");
      assertThat(carol.pingPong().path("type").asText()).isEqualTo("pong");
    }
  }

  @Test
  void connectionsBeyondTheUsersAllowanceOnThisNodeAreRefusedWith429UntilOneCloses() {
    String user = "dave-connects";
    // Plain GETs without an upgrade are rejected before a session exists: they take no slot.
    for (int i = 0; i < 3; i++) assertThat(node.api().get("/v1/ws?token=" + node.token(user), null).status()).isEqualTo(400);

    WsClient first = node.connect(user);
    WsClient second = node.connect(user);
    assertThat(WsClient.refusedUpgradeStatus(node.wsUri(node.token(user)))).isEqualTo(429);
    assertThat(second.pingPong().path("type").asText()).isEqualTo("pong");

    first.close();
    await()
        .atMost(Duration.ofSeconds(10))
        .ignoreExceptions()
        .untilAsserted(() -> WsClient.connect(node.wsUri(node.token(user))).close());
    second.close();
  }
}
