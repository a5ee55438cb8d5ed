package dev.parley.inbox;

import static dev.parley.testing.WsClient.frame;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.parley.storage.JournalPolling;
import dev.parley.testing.TestNode;
import dev.parley.testing.WsClient;
import java.time.Duration;
import java.util.Map;
import java.util.UUID;
import java.util.stream.Stream;
import java.util.stream.StreamSupport;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * An idle node's read side backs off (issue 18, target 6) and a write on the node brings it back
 * at once: the inbox still shows every message exactly once, and as soon as on a busy node.
 *
 * <p>The backoff is allowed to grow far beyond what the test waits for a message (10 minutes), so
 * a message that reaches the inbox while a long wait is pending was brought there by the write's
 * wake-up, not by the next scheduled poll.
 */
class IdleReadSideIT {

  private static final Map<String, Object> SETTINGS = Map.of("jdbc-read-journal.idle-query-delay", "10m");
  /** The pending wait the test lets the read side reach before it writes; twice what it then allows the inbox. */
  private static final Duration BACKED_OFF = Duration.ofSeconds(6);
  private static final Duration WOKEN_WITHIN = Duration.ofSeconds(3);

  static Stream<Arguments> storages() {
    return Stream.of(
        Arguments.of("h2", (TestNode.Factory) () -> TestNode.onH2(SETTINGS)),
        Arguments.of("postgresql", (TestNode.Factory) () -> TestNode.onPostgres(SETTINGS)));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("storages")
  void aWriteWakesTheBackedOffReadSideAndEveryMessageCountsOnce(String storage, TestNode.Factory factory) throws Exception {
    String aliceName = user("alice");
    String bobName = user("bob");
    try (TestNode node = factory.start();
        WsClient alice = node.connect(aliceName);
        WsClient bob = node.connect(bobName)) {
      JournalPolling polling = JournalPolling.get(node.node().system());
      String conversation = "idle-it-" + UUID.randomUUID();
      ObjectNode create = frame("create").put("conversation", conversation).put("title", "idle");
      create.putArray("members").add(bobName);
      ObjectNode created = alice.request(create);
      assertThat(created.path("type").asText()).as("%s", created).isEqualTo("created");

      awaitPendingWait(polling, Duration.ofMillis(1500));
      long tagQueriesBackingOff = polling.tagQueries();
      awaitPendingWait(polling, BACKED_OFF);
      // Every tag stream polled 5 times a second meanwhile, but none had anything to ask the database.
      assertThat(polling.tagQueries()).as("tag queries while nothing was written").isEqualTo(tagQueriesBackingOff);
      long queriesWhileIdle = polling.queries();
      // From here the next scheduled query is at least BACKED_OFF away: only the write's wake-up can be faster.
      send(bob, conversation, "one");
      await().atMost(WOKEN_WITHIN).pollInterval(Duration.ofMillis(50)).untilAsserted(() -> assertThat(unread(alice, conversation)).isEqualTo(1));

      for (int i = 2; i <= 10; i++) send(bob, conversation, "message " + i);
      await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> assertThat(lastSeq(alice, conversation)).isEqualTo(11));
      assertThat(unread(alice, conversation)).as("each message counted once").isEqualTo(10);
      assertThat(polling.queries()).as("the read side queried again after the writes").isGreaterThan(queriesWhileIdle);
      assertThat(polling.tagQueries()).as("the tag streams queried the new events").isGreaterThan(tagQueriesBackingOff);
    }
  }

  private static void awaitPendingWait(JournalPolling polling, Duration atLeast) {
    await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(20)).until(() -> polling.pendingWait().compareTo(atLeast) >= 0);
  }

  private static String user(String name) {
    return name + "-" + UUID.randomUUID().toString().substring(0, 8);
  }

  private static void send(WsClient sender, String conversation, String text) {
    ObjectNode ack = sender.request(frame("send").put("conversation", conversation).put("clientMsgId", UUID.randomUUID().toString()).put("text", text));
    assertThat(ack.path("type").asText()).as("%s", ack).isEqualTo("ack");
  }

  private static JsonNode item(WsClient client, String conversation) {
    ObjectNode page = client.request(frame("inbox").put("limit", 10));
    assertThat(page.path("type").asText()).as("%s", page).isEqualTo("inbox");
    return StreamSupport.stream(page.path("items").spliterator(), false)
        .filter(i -> conversation.equals(i.path("conversation").asText()))
        .findFirst()
        .orElseThrow(() -> new AssertionError(conversation + " is not in " + page));
  }

  private static int unread(WsClient client, String conversation) {
    return item(client, conversation).path("unread").asInt();
  }

  private static long lastSeq(WsClient client, String conversation) {
    return item(client, conversation).path("lastSeq").asLong();
  }
}
