package dev.parley.notification;

import static dev.parley.testing.WsClient.frame;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.parley.bot.WebhookBot;
import dev.parley.ops.Metrics;
import dev.parley.presence.Presence;
import dev.parley.presence.PresenceEntry;
import dev.parley.testing.TestNode;
import dev.parley.testing.WsClient;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.awaitility.core.ConditionTimeoutException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Offline notifications end to end (issue 21): one real node with notifications on, people on
 * real websockets (or the HTTP API, which opens no connection), and a real HTTP server in the test
 * as the webhook receiver, which checks every signature. Subclasses choose the storage. Every test
 * uses users and a conversation of its own, so the receiver's record is read per (user, conversation).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
abstract class NotificationScenarios {

  static final String SECRET = "notification-secret-of-the-tests";
  /** Short, so that the coalescing test waits one window; long enough that its three sends fit in it. */
  static final Duration WINDOW = Duration.ofSeconds(2);

  /** One POST the receiver accepted: its body and whether its signature was valid. */
  record Received(JsonNode body, boolean validSignature, String delivery) {
    String user() {
      return body.path("user").asText();
    }

    String conversation() {
      return body.path("conversation").asText();
    }
  }

  private TestNode node;
  private HttpServer receiver;
  private final List<Received> received = new CopyOnWriteArrayList<>();
  /** While above zero, the receiver answers 500 (and counts down). */
  private final AtomicInteger failuresToAnswer = new AtomicInteger();
  private final AtomicInteger failuresAnswered = new AtomicInteger();

  protected abstract TestNode startNode(Map<String, Object> settings) throws Exception;

  @BeforeAll
  void start() throws Exception {
    receiver = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    receiver.createContext("/notify", this::receive);
    receiver.start();
    Map<String, Object> settings = new HashMap<>();
    settings.put("parley.notifications.url", "http://127.0.0.1:" + receiver.getAddress().getPort() + "/notify");
    settings.put("parley.notifications.secret", SECRET);
    settings.put("parley.notifications.window", WINDOW.toMillis() + "ms");
    settings.put("parley.notifications.min-backoff", "100ms");
    settings.put("parley.notifications.max-backoff", "400ms");
    node = startNode(settings);
  }

  @AfterAll
  void stop() throws Exception {
    if (node != null) node.close();
    if (receiver != null) receiver.stop(0);
  }

  private void receive(HttpExchange exchange) throws IOException {
    byte[] body = exchange.getRequestBody().readAllBytes();
    if (failuresToAnswer.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
      failuresAnswered.incrementAndGet();
      exchange.sendResponseHeaders(500, -1);
      exchange.close();
      return;
    }
    String expected = WebhookBot.signature(SECRET.getBytes(StandardCharsets.UTF_8), body);
    boolean valid = expected.equals(exchange.getRequestHeaders().getFirst(WebhookBot.SIGNATURE_HEADER));
    received.add(new Received(WsClient.JSON.readTree(body), valid, exchange.getRequestHeaders().getFirst(WebhookBot.DELIVERY_HEADER)));
    exchange.sendResponseHeaders(204, -1);
    exchange.close();
  }

  // ---- scenarios ------------------------------------------------------------------------------

  @Test
  void anOfflineMemberGetsExactlyOneSignedNotification() throws Exception {
    String alice = user("alice");
    String bob = user("bob");
    try (WsClient a = node.connect(alice)) {
      String conversation = create(a, bob);
      long seq = send(a, conversation, "are you there?");

      Received n = awaitNotifications(bob, conversation, 1).get(0);
      assertThat(n.validSignature()).as("signature").isTrue();
      assertThat(n.delivery()).isEqualTo("notify/" + bob + "/" + conversation + "/" + seq);
      assertThat(n.body().path("type").asText()).isEqualTo("notification");
      assertThat(n.body().path("title").asText()).isEqualTo("t-" + conversation);
      assertThat(n.body().path("unread").asInt()).isEqualTo(1);
      assertThat(n.body().path("messages").asInt()).isEqualTo(1);
      assertThat(n.body().path("message").path("seq").asLong()).isEqualTo(seq);
      assertThat(n.body().path("message").path("sender").asText()).isEqualTo(alice);
      assertThat(n.body().path("message").path("text").asText()).isEqualTo("are you there?");
      // Nothing is left waiting for bob once the send is recorded: no second notification will follow.
      awaitNothingWaiting(bob, conversation);
      assertThat(notifications(bob, conversation)).hasSize(1);
    }
  }

  @Test
  void onlyOfflinePeopleOtherThanTheSenderAreNotified() throws Exception {
    String alice = user("alice");
    String bob = user("bob");
    String carol = user("carol");
    String bot = "bot:pager-" + UUID.randomUUID().toString().substring(0, 8);
    String conversation;
    try (WsClient a = node.connect(alice)) {
      conversation = create(a, bob, carol, bot);
    }
    try (WsClient b = node.connect(bob)) {
      awaitStatus(bob, PresenceEntry.Status.ONLINE);
      // The sender is offline too: the HTTP API opens no connection.
      String body = "{\"clientMsgId\":\"" + UUID.randomUUID() + "\",\"text\":\"for everyone\"}";
      assertThat(node.api().post("/v1/conversations/" + conversation + "/messages", node.token(alice), body).status()).isEqualTo(201);

      awaitNotifications(carol, conversation, 1);
      // Carol's notification was decided with everyone else's, in the same transaction.
      assertThat(received.stream().filter(r -> r.conversation().equals(conversation)).map(Received::user)).containsExactly(carol);
      assertThat(counter("parley.notifications.online")).isGreaterThanOrEqualTo(1);
    }
  }

  @Test
  void messagesWithinTheWindowAreCoalescedIntoOneNotification() throws Exception {
    String alice = user("alice");
    String bob = user("bob");
    try (WsClient a = node.connect(alice)) {
      String conversation = create(a, bob);
      send(a, conversation, "first");
      awaitNotifications(bob, conversation, 1);
      double coalescedBefore = counter("parley.notifications.coalesced");

      send(a, conversation, "second");
      send(a, conversation, "third");
      long last = send(a, conversation, "fourth");

      List<Received> both = awaitNotifications(bob, conversation, 2);
      JsonNode second = both.get(1).body();
      assertThat(second.path("messages").asInt()).as("messages in the second notification").isEqualTo(3);
      assertThat(second.path("unread").asInt()).as("bob's unread count").isEqualTo(4);
      assertThat(second.path("message").path("seq").asLong()).isEqualTo(last);
      assertThat(second.path("message").path("text").asText()).isEqualTo("fourth");
      awaitNothingWaiting(bob, conversation);
      // Counted once the receiver's answer arrived (after it recorded the notification).
      await().atMost(Duration.ofSeconds(10)).until(() -> counter("parley.notifications.coalesced") - coalescedBefore >= 2.0);
      assertThat(counter("parley.notifications.coalesced") - coalescedBefore).isEqualTo(2.0);
      assertThat(notifications(bob, conversation)).hasSize(2);
    }
  }

  @Test
  void aMutedConversationIsNotNotifiedUntilUnmuted() throws Exception {
    String alice = user("alice");
    String bob = user("bob");
    try (WsClient a = node.connect(alice)) {
      String conversation = create(a, bob);
      setMuted(bob, conversation, true);
      double mutedBefore = counter("parley.notifications.muted");
      send(a, conversation, "you will not hear of this");
      await().atMost(Duration.ofSeconds(20)).until(() -> counter("parley.notifications.muted") > mutedBefore);
      assertThat(notifications(bob, conversation)).isEmpty();

      setMuted(bob, conversation, false);
      long seq = send(a, conversation, "but of this");
      Received n = awaitNotifications(bob, conversation, 1).get(0);
      assertThat(n.body().path("message").path("seq").asLong()).isEqualTo(seq);
      assertThat(n.body().path("messages").asInt()).isEqualTo(1);
      assertThat(n.body().path("unread").asInt()).as("the muted message is unread too").isEqualTo(2);
    }
  }

  @Test
  void aFailingReceiverIsRetriedWithBackoffWhileSendsAreStillAcknowledged() throws Exception {
    String alice = user("alice");
    String bob = user("bob");
    try (WsClient a = node.connect(alice)) {
      String conversation = create(a, bob);
      double failedBefore = counter("parley.notifications.failed");
      failuresAnswered.set(0);
      failuresToAnswer.set(3);
      long first = send(a, conversation, "one");
      // Every send is acknowledged while the receiver fails (send() asserts the ack).
      await().atMost(Duration.ofSeconds(20)).until(() -> failuresAnswered.get() >= 1);
      send(a, conversation, "two");
      long last = send(a, conversation, "three");

      await().atMost(Duration.ofSeconds(30)).until(() -> !notifications(bob, conversation).isEmpty());
      assertThat(failuresAnswered.get()).isEqualTo(3);
      assertThat(counter("parley.notifications.failed") - failedBefore).isEqualTo(3.0);
      // Delivered once the receiver recovered, and every message is accounted for exactly once.
      awaitNothingWaiting(bob, conversation);
      List<Received> all = notifications(bob, conversation);
      assertThat(all.stream().mapToInt(r -> r.body().path("messages").asInt()).sum()).isEqualTo(3);
      assertThat(all.get(0).body().path("message").path("seq").asLong()).isBetween(first, last);
      assertThat(all.get(all.size() - 1).body().path("message").path("seq").asLong()).isEqualTo(last);
    }
  }

  @Test
  void aRestartNeitherRepeatsNorLosesNotifications() throws Exception {
    String alice = user("alice");
    String bob = user("bob");
    String conversation;
    try (WsClient a = node.connect(alice)) {
      conversation = create(a, bob);
      send(a, conversation, "before the restart");
      awaitNotifications(bob, conversation, 1);
      // Within the window: recorded, waiting for the window's end when the node stops.
      send(a, conversation, "waiting across the restart");
      await().atMost(Duration.ofSeconds(20)).until(() -> waitingMessages(bob, conversation) == 1);
    }
    node.restart();
    long last;
    try (WsClient a = node.connect(alice)) {
      last = send(a, conversation, "after the restart");
    }
    await()
        .atMost(Duration.ofSeconds(30))
        .until(() -> notifications(bob, conversation).stream().anyMatch(r -> r.body().path("message").path("seq").asLong() == last));
    awaitNothingWaiting(bob, conversation);
    List<Received> all = notifications(bob, conversation);
    // Each of the three messages counted in exactly one notification, none sent twice.
    assertThat(all.stream().mapToInt(r -> r.body().path("messages").asInt()).sum()).isEqualTo(3);
    assertThat(all.stream().map(Received::delivery).distinct().count()).isEqualTo(all.size());
    assertThat(all.get(0).body().path("message").path("text").asText()).isEqualTo("before the restart");
  }

  // ---- helpers --------------------------------------------------------------------------------

  private static String user(String name) {
    return name + "-" + UUID.randomUUID().toString().substring(0, 8);
  }

  private String create(WsClient creator, String... members) {
    String conversation = "n-" + UUID.randomUUID();
    ObjectNode create = frame("create").put("conversation", conversation).put("title", "t-" + conversation);
    com.fasterxml.jackson.databind.node.ArrayNode list = create.putArray("members");
    for (String m : members) list.add(m);
    assertThat(creator.request(create).path("type").asText()).isEqualTo("created");
    return conversation;
  }

  private static long send(WsClient client, String conversation, String text) {
    ObjectNode ack =
        client.request(frame("send").put("conversation", conversation).put("clientMsgId", UUID.randomUUID().toString()).put("text", text));
    assertThat(ack.path("type").asText()).as("reply %s", ack).isEqualTo("ack");
    return ack.path("seq").asLong();
  }

  /**
   * Mutes or unmutes as {@code user} over a connection of its own, and waits until the user is
   * offline again (seen online first: "offline" before the connection is known proves nothing).
   */
  private void setMuted(String user, String conversation, boolean muted) {
    try (WsClient client = node.connect(user)) {
      awaitStatus(user, PresenceEntry.Status.ONLINE);
      ObjectNode reply = client.request(frame("mute").put("conversation", conversation).put("muted", muted));
      assertThat(reply.path("type").asText()).as("reply %s", reply).isEqualTo("ok");
      assertThat(reply.path("muted").asBoolean()).isEqualTo(muted);
    }
    awaitStatus(user, PresenceEntry.Status.OFFLINE);
  }

  private void awaitStatus(String user, PresenceEntry.Status status) {
    await().atMost(Duration.ofSeconds(10)).until(() -> Presence.get(node.node().system()).of(user).status() == status);
  }

  private List<Received> notifications(String user, String conversation) {
    return received.stream().filter(r -> r.user().equals(user) && r.conversation().equals(conversation)).toList();
  }

  private List<Received> awaitNotifications(String user, String conversation, int count) {
    try {
      await().atMost(Duration.ofSeconds(30)).until(() -> notifications(user, conversation).size() >= count);
    } catch (ConditionTimeoutException e) {
      throw new AssertionError(
          count + " notification(s) of " + user + " for " + conversation + " expected within 30 s, received "
              + notifications(user, conversation).size() + "; what the node knows:\n" + diagnosis(user, conversation), e);
    }
    List<Received> all = notifications(user, conversation);
    assertThat(all).hasSize(count);
    assertThat(all).allMatch(Received::validSignature);
    return all;
  }

  private double counter(String name) {
    return Metrics.get(node.node().system()).registry().get(name).counter().count();
  }

  /** The receiver records a notification before answering it; the node records it as sent after the answer. */
  private void awaitNothingWaiting(String user, String conversation) {
    await().atMost(Duration.ofSeconds(20)).until(() -> waitingMessages(user, conversation) == 0);
  }

  /**
   * Where a notification stopped, for a failure message: the member in the inbox read model, the
   * pending row, every tag's offsets against the journal's newest ordering, presence and the
   * counters. A notification that never comes is otherwise silent (no WARN: nothing failed).
   */
  private String diagnosis(String user, String conversation) {
    StringBuilder out = new StringBuilder();
    try (Connection c = node.openDatabase()) {
      rows(c, out, "journal", "SELECT MAX(\"ordering\") AS max_ordering FROM \"event_journal\"");
      rows(c, out, "inbox_entry", "SELECT * FROM inbox_entry WHERE user_id = ? AND conversation_id = ?", user, conversation);
      rows(c, out, "notification_pending", "SELECT * FROM notification_pending WHERE user_id = ? AND conversation_id = ?", user, conversation);
      rows(c, out, "inbox_offset", "SELECT * FROM inbox_offset ORDER BY tag");
      rows(c, out, "notification_offset", "SELECT * FROM notification_offset ORDER BY tag");
    } catch (Exception e) {
      out.append("database unreadable: ").append(e).append('\n');
    }
    out.append("presence of ").append(user).append(": ").append(Presence.get(node.node().system()).of(user)).append('\n');
    for (String counter : List.of("sent", "online", "muted", "failed", "dropped", "coalesced")) {
      out.append("parley.notifications.").append(counter).append(" = ").append(counter("parley.notifications." + counter)).append('\n');
    }
    return out.toString();
  }

  private static void rows(Connection c, StringBuilder out, String what, String sql, String... parameters) throws Exception {
    try (PreparedStatement s = c.prepareStatement(sql)) {
      for (int i = 0; i < parameters.length; i++) s.setString(i + 1, parameters[i]);
      try (ResultSet r = s.executeQuery()) {
        int columns = r.getMetaData().getColumnCount();
        boolean any = false;
        while (r.next()) {
          any = true;
          out.append(what).append(':');
          for (int i = 1; i <= columns; i++) out.append(' ').append(r.getMetaData().getColumnLabel(i).toLowerCase()).append('=').append(r.getString(i));
          out.append('\n');
        }
        if (!any) out.append(what).append(": no row\n");
      }
    }
  }

  /** Messages recorded for {@code user} in {@code conversation} and not yet notified (0 when no row). */
  private int waitingMessages(String user, String conversation) throws Exception {
    try (Connection c = node.openDatabase();
        PreparedStatement s = c.prepareStatement("SELECT messages FROM notification_pending WHERE user_id = ? AND conversation_id = ?")) {
      s.setString(1, user);
      s.setString(2, conversation);
      try (ResultSet r = s.executeQuery()) {
        return r.next() ? r.getInt(1) : 0;
      }
    }
  }
}
