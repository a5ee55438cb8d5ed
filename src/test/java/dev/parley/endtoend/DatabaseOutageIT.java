package dev.parley.endtoend;

import static dev.parley.testing.WsClient.frame;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.parley.testing.TcpProxy;
import dev.parley.testing.TestNode;
import dev.parley.testing.WsClient;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;
import java.util.stream.LongStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * PostgreSQL goes away (its connections are reset and refused, through a real TCP path) while
 * clients send, then comes back: sends fail fast with {@code unavailable} instead of queueing,
 * nothing is acknowledged that was not persisted, the node recovers on its own, and retries with
 * the same clientMsgId land exactly once.
 */
class DatabaseOutageIT {

  /** The node's ask timeout (5 s) plus generous slack for a loaded CI machine. */
  private static final Duration FAIL_FAST = Duration.ofSeconds(12);

  private TcpProxy database;
  private TestNode node;

  @BeforeEach
  void start() throws Exception {
    database = new TcpProxy("127.0.0.1", 5432);
    node = TestNode.onPostgresAt(database.port());
  }

  @AfterEach
  void stop() throws Exception {
    database.restore();
    try {
      node.close();
    } finally {
      database.close();
    }
  }

  @Test
  void sendsFailFastWhileTheDatabaseIsAwayAndNothingAcknowledgedIsLost() {
    String conversation = "outage-" + UUID.randomUUID();
    WsClient alice = node.connect("alice");
    WsClient bob = node.connect("bob");
    assertThat(alice.request(frame("create").put("conversation", conversation).set("members", WsClient.JSON.createArrayNode().add("bob")))
            .path("type").asText())
        .isEqualTo("created");
    assertThat(bob.request(frame("subscribe").put("conversation", conversation).put("since", 0)).path("type").asText())
        .isEqualTo("subscribed");

    Map<String, Long> acked = new LinkedHashMap<>();
    for (int i = 1; i <= 3; i++) acked.put("m" + i, ack(alice.request(send(conversation, "m" + i))));

    database.cut();
    Set<String> refused = new LinkedHashSet<>();
    for (int i = 4; i <= 6; i++) {
      long started = System.nanoTime();
      ObjectNode reply = alice.request(send(conversation, "m" + i));
      assertThat(Duration.ofNanos(System.nanoTime() - started)).as("answer to a send while the database is away").isLessThan(FAIL_FAST);
      if ("ack".equals(reply.path("type").asText())) {
        acked.put("m" + i, reply.path("seq").asLong()); // persisted before the cut took effect
      } else {
        assertThat(reply.path("type").asText()).isEqualTo("error");
        assertThat(reply.path("code").asText()).isEqualTo("unavailable");
        refused.add("m" + i);
      }
    }
    assertThat(refused).as("sends refused while the database is away").isNotEmpty();

    database.restore();
    // The client's retry policy: the same clientMsgId until it is acknowledged.
    await()
        .atMost(Duration.ofSeconds(90))
        .pollInterval(Duration.ofMillis(500))
        .untilAsserted(
            () -> {
              for (String clientMsgId : List.copyOf(refused)) {
                ObjectNode reply = alice.request(send(conversation, clientMsgId));
                if ("ack".equals(reply.path("type").asText())) {
                  acked.put(clientMsgId, reply.path("seq").asLong());
                  refused.remove(clientMsgId);
                }
              }
              assertThat(refused).isEmpty();
            });

    // Every acknowledged message is in the history exactly once, at its seq, with no gap.
    List<JsonNode> history = fullHistory(alice, conversation);
    Map<Long, String> messages = new TreeMap<>();
    for (JsonNode event : history) {
      if ("message".equals(event.path("type").asText())) messages.put(event.path("seq").asLong(), event.path("clientMsgId").asText());
    }
    assertThat(history.stream().map(e -> e.path("seq").asLong()).toList())
        .containsExactlyElementsOf(LongStream.rangeClosed(1, history.size()).boxed().toList());
    assertThat(messages.values()).doesNotHaveDuplicates().containsExactlyInAnyOrderElementsOf(acked.keySet());
    acked.forEach((clientMsgId, seq) -> assertThat(messages).containsEntry(seq, clientMsgId));

    // Bob's stream: whatever the session re-established on its own, a resubscribe from his last
    // seq completes it, and across both he saw every event once, in order.
    List<Long> seen = new ArrayList<>(eventSeqs(bob.framesBeforePong(), conversation));
    long lastSeen = seen.isEmpty() ? 0 : seen.get(seen.size() - 1);
    bob.request(frame("subscribe").put("conversation", conversation).put("since", lastSeen));
    long lastSeq = history.size();
    if (lastSeen < lastSeq) seen.addAll(WsClient.seqs(bob.expectEvents(conversation, (int) (lastSeq - lastSeen))));
    assertThat(seen).containsExactlyElementsOf(LongStream.rangeClosed(1, lastSeq).boxed().toList());
  }

  private static ObjectNode send(String conversation, String clientMsgId) {
    return frame("send").put("conversation", conversation).put("clientMsgId", clientMsgId).put("text", "text of " + clientMsgId);
  }

  private static long ack(ObjectNode reply) {
    assertThat(reply.path("type").asText()).as("reply %s", reply).isEqualTo("ack");
    return reply.path("seq").asLong();
  }

  private static List<Long> eventSeqs(List<ObjectNode> frames, String conversation) {
    return frames.stream().filter(f -> WsClient.isEventOf(conversation, f)).map(f -> f.path("seq").asLong()).toList();
  }

  private static List<JsonNode> fullHistory(WsClient client, String conversation) {
    List<JsonNode> newestFirst = new ArrayList<>();
    Long before = null;
    while (true) {
      ObjectNode request = frame("history").put("conversation", conversation).put("limit", 100);
      if (before != null) request.put("before", before);
      JsonNode page = client.request(request).path("events");
      assertThat(page.isArray()).isTrue();
      if (page.isEmpty()) break;
      for (int i = page.size() - 1; i >= 0; i--) newestFirst.add(page.get(i));
      before = page.get(0).path("seq").asLong();
      if (before <= 1) break;
    }
    List<JsonNode> ordered = new ArrayList<>(newestFirst);
    java.util.Collections.reverse(ordered);
    return ordered;
  }
}
