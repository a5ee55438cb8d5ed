package dev.parley.inbox;

import static dev.parley.testing.WsClient.frame;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.parley.testing.TestNode;
import dev.parley.testing.WsClient;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Issue 4: fan-out to members is bounded work per message and off the conversation's path. In a
 * 1,000-member conversation on PostgreSQL, sends are acknowledged at the usual latency (the
 * assertion is a generous bound; the measured median is printed), and every member's inbox entry
 * shows each message within a bounded time, measured from the send to the commit that moved all
 * 1,000 entries (one statement updates them, in the projection's transaction).
 */
class InboxFanOutIT {

  private static final int MEMBERS = 1000;
  private static final int MESSAGES = 40;

  @Test
  void aThousandMemberConversationAcknowledgesAtTheUsualLatencyAndEveryInboxFollows() throws Exception {
    // A create frame naming 999 members is larger than the tests' usual 2 KiB frame limit.
    try (TestNode node = TestNode.onPostgresWith(Map.of("parley.gateway.max-frame-bytes", 65_536));
        WsClient owner = node.connect("owner");
        Connection db = node.openDatabase()) {
      String conversation = "fanout-" + UUID.randomUUID();
      ObjectNode create = frame("create").put("conversation", conversation).put("title", "everyone");
      ArrayNode members = create.putArray("members");
      for (int i = 1; i < MEMBERS; i++) members.add(member(i));
      assertThat(owner.request(create).path("type").asText()).isEqualTo("created");
      await().atMost(Duration.ofSeconds(30)).until(() -> entriesAt(db, conversation, 1) == MEMBERS);

      // Watch the read model: when does the conversation's last_seq reach each seq? The projection
      // moves it and all members' entries in one transaction (checked for every entry at the end),
      // so a primary-key read every 10 ms is enough, and loads the database little.
      Map<Long, Long> visibleAt = new ConcurrentHashMap<>();
      ScheduledExecutorService watcher = Executors.newSingleThreadScheduledExecutor();
      try (Connection watch = node.openDatabase();
          PreparedStatement s = watch.prepareStatement("SELECT last_seq FROM inbox_conversation WHERE conversation_id = ?")) {
        s.setString(1, conversation);
        watcher.scheduleWithFixedDelay(
            () -> {
              try (ResultSet r = s.executeQuery()) {
                if (r.next()) visibleAt.putIfAbsent(r.getLong(1), System.nanoTime());
              } catch (Exception e) {
                // the next poll tries again
              }
            },
            0,
            10,
            TimeUnit.MILLISECONDS);

        List<Long> ackMillis = new ArrayList<>();
        Map<Long, Long> sentAt = new ConcurrentHashMap<>();
        for (int i = 1; i <= MESSAGES; i++) {
          long started = System.nanoTime();
          ObjectNode ack =
              owner.request(frame("send").put("conversation", conversation).put("clientMsgId", "m" + i).put("text", "to everyone " + i));
          long took = System.nanoTime() - started;
          assertThat(ack.path("type").asText()).as("%s", ack).isEqualTo("ack");
          sentAt.put(ack.path("seq").asLong(), started);
          ackMillis.add(TimeUnit.NANOSECONDS.toMillis(took));
          assertThat(Duration.ofNanos(took)).as("ack of message %d", i).isLessThan(Duration.ofSeconds(2));
        }
        long lastSeq = 1 + MESSAGES;
        // A batch may apply several messages in one commit: seqs it jumped over were visible then too.
        await().atMost(Duration.ofSeconds(30)).until(() -> visibleAt.containsKey(lastSeq));
        List<Long> visibleMillis = new ArrayList<>();
        for (long seq = 2; seq <= lastSeq; seq++) {
          long finalSeq = seq;
          long at = visibleAt.entrySet().stream().filter(e -> e.getKey() >= finalSeq).mapToLong(Map.Entry::getValue).min().orElseThrow();
          visibleMillis.add(TimeUnit.NANOSECONDS.toMillis(at - sentAt.get(seq)));
        }
        System.out.printf(
            "fan-out to %d members, %d sends: ack median %d ms, max %d ms; all inboxes updated median %d ms, p90 %d ms, max %d ms%n",
            MEMBERS, MESSAGES, percentile(ackMillis, 50), percentile(ackMillis, 100), percentile(visibleMillis, 50),
            percentile(visibleMillis, 90), percentile(visibleMillis, 100));
        assertThat(percentile(visibleMillis, 100)).as("ms from a send to every member's inbox showing it").isLessThan(10_000);

        // What members see: a sample over HTTP, and every entry in the database.
        for (int i : new int[] {1, 2, 500, 998, 999}) {
          JsonNode top = node.api().get("/v1/inbox?limit=1", node.token(member(i))).body().path("items").get(0);
          assertThat(top.path("conversation").asText()).isEqualTo(conversation);
          assertThat(top.path("lastSeq").asLong()).isEqualTo(lastSeq);
          assertThat(top.path("unread").asInt()).isEqualTo(MESSAGES);
          assertThat(top.path("preview").path("text").asText()).isEqualTo("to everyone " + MESSAGES);
        }
        try (PreparedStatement count =
            db.prepareStatement(
                "SELECT COUNT(*) FROM inbox_entry e JOIN inbox_conversation c ON c.conversation_id = e.conversation_id"
                    + " WHERE e.conversation_id = ? AND e.unread = ? AND e.read_seq = 0 AND e.last_activity = c.last_activity")) {
          count.setString(1, conversation);
          count.setInt(2, MESSAGES);
          try (ResultSet r = count.executeQuery()) {
            r.next();
            assertThat(r.getInt(1)).as("members with every message unread").isEqualTo(MEMBERS - 1);
          }
        }
      } finally {
        watcher.shutdownNow();
        watcher.awaitTermination(10, TimeUnit.SECONDS);
      }
    }
  }

  private static String member(int i) {
    return String.format("member-%04d", i);
  }

  private static int entriesAt(Connection db, String conversation, long lastSeq) throws Exception {
    try (PreparedStatement s =
        db.prepareStatement(
            "SELECT COUNT(*) FROM inbox_entry e JOIN inbox_conversation c ON c.conversation_id = e.conversation_id"
                + " WHERE e.conversation_id = ? AND c.last_seq = ?")) {
      s.setString(1, conversation);
      s.setLong(2, lastSeq);
      try (ResultSet r = s.executeQuery()) {
        r.next();
        return r.getInt(1);
      }
    }
  }

  private static long percentile(List<Long> values, int p) {
    List<Long> sorted = values.stream().sorted().toList();
    int index = (int) Math.ceil(p / 100.0 * sorted.size()) - 1;
    return sorted.get(Math.max(0, Math.min(index, sorted.size() - 1)));
  }
}
