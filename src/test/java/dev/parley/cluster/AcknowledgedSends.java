package dev.parley.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.parley.Node;
import dev.parley.conversation.Conversation;
import dev.parley.testing.WsClient;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.LongStream;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.cluster.sharding.ShardRegion;
import org.apache.pekko.cluster.sharding.typed.ClusterShardingQuery;
import org.apache.pekko.cluster.sharding.typed.GetShardRegionState;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;

/**
 * A client's view of durability while nodes come and go: every message is sent until it is
 * acknowledged, retrying with the same clientMsgId as the protocol says, and what was acknowledged
 * is checked against the conversations' histories afterwards.
 */
final class AcknowledgedSends {

  record Ack(String conversation, String clientMsgId, long seq) {}

  private static final Duration GIVE_UP_AFTER = Duration.ofSeconds(60);

  private final WsClient client;
  private final List<Ack> acks = new ArrayList<>();
  private int retries;

  AcknowledgedSends(WsClient client) {
    this.client = client;
  }

  /** Sends until acknowledged; {@code unavailable} answers are retried with the same clientMsgId. */
  Ack send(String conversation, String clientMsgId) {
    long deadline = System.nanoTime() + GIVE_UP_AFTER.toNanos();
    while (true) {
      ObjectNode reply =
          client.request(
              WsClient.frame("send").put("conversation", conversation).put("clientMsgId", clientMsgId).put("text", "hello " + clientMsgId));
      if ("ack".equals(reply.path("type").asText())) {
        Ack ack = new Ack(conversation, clientMsgId, reply.path("seq").asLong());
        acks.add(ack);
        return ack;
      }
      assertThat(reply.path("code").asText()).as("only 'unavailable' may be retried: %s", reply).isEqualTo("unavailable");
      assertThat(System.nanoTime()).as("no ack for %s within %s", clientMsgId, GIVE_UP_AFTER).isLessThan(deadline);
      retries++;
    }
  }

  List<Ack> acks() {
    return acks;
  }

  int retries() {
    return retries;
  }

  /**
   * Every acknowledged message is in its conversation's history exactly once, at the acknowledged
   * seq, and the seqs of each history are 1, 2, 3, ... with no gap.
   */
  void assertEachInHistoryExactlyOnce(WsClient reader) {
    Map<String, List<Ack>> byConversation = new HashMap<>();
    acks.forEach(a -> byConversation.computeIfAbsent(a.conversation(), c -> new ArrayList<>()).add(a));
    byConversation.forEach(
        (conversation, sent) -> {
          List<JsonNode> events = fullHistory(reader, conversation);
          List<Long> seqs = events.stream().map(e -> e.path("seq").asLong()).toList();
          assertThat(seqs).as("seqs of %s", conversation).containsExactlyElementsOf(LongStream.rangeClosed(1, seqs.size()).boxed().toList());
          Map<String, List<Long>> seqsByClientMsgId = new HashMap<>();
          events.stream()
              .filter(e -> "message".equals(e.path("type").asText()))
              .forEach(e -> seqsByClientMsgId.computeIfAbsent(e.path("clientMsgId").asText(), k -> new ArrayList<>()).add(e.path("seq").asLong()));
          for (Ack ack : sent) {
            assertThat(seqsByClientMsgId.get(ack.clientMsgId()))
                .as("history of %s holds acknowledged %s once, at its seq", conversation, ack.clientMsgId())
                .containsExactly(ack.seq());
          }
        });
  }

  /** The whole timeline of a conversation, in seq order, paged backwards with {@code history}. */
  static List<JsonNode> fullHistory(WsClient reader, String conversation) {
    List<JsonNode> newestFirst = new ArrayList<>();
    long before = Long.MAX_VALUE;
    while (true) {
      ObjectNode request = WsClient.frame("history").put("conversation", conversation).put("limit", 100);
      if (before != Long.MAX_VALUE) request.put("before", before);
      ObjectNode page = reader.request(request);
      assertThat(page.path("type").asText()).as("history of %s: %s", conversation, page).isEqualTo("history");
      JsonNode events = page.path("events");
      if (events.isEmpty()) break;
      for (int i = events.size() - 1; i >= 0; i--) newestFirst.add(events.get(i));
      before = events.get(0).path("seq").asLong();
      if (before <= 1) break;
    }
    List<JsonNode> ordered = new ArrayList<>(newestFirst.size());
    for (int i = newestFirst.size() - 1; i >= 0; i--) ordered.add(newestFirst.get(i));
    return ordered;
  }

  /** Creates conversations with {@code client}; each lands on whichever node its shard is allocated to. */
  static List<String> createConversations(WsClient client, String prefix, int count) {
    List<String> ids = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      String id = prefix + "-" + i;
      ObjectNode reply = client.request(WsClient.frame("create").put("conversation", id).set("members", WsClient.JSON.createArrayNode()));
      assertThat(reply.path("type").asText()).as("create %s: %s", id, reply).isEqualTo("created");
      ids.add(id);
    }
    return ids;
  }

  /** The conversations that live on {@code node} right now (its shard region's entities). */
  static Set<String> conversationsOn(Node node) throws Exception {
    Set<String> ids = new HashSet<>();
    conversationRegionOn(node).getShards().forEach(shard -> ids.addAll(shard.getEntityIds()));
    return ids;
  }

  /** The conversation shards {@code node} hosts, with their live conversations. */
  static ShardRegion.CurrentShardRegionState conversationRegionOn(Node node) throws Exception {
    return AskPattern.<ClusterShardingQuery, ShardRegion.CurrentShardRegionState>ask(
            ClusterSharding.get(node.system()).shardState(),
            replyTo -> new GetShardRegionState(Conversation.ENTITY_TYPE_KEY, replyTo),
            Duration.ofSeconds(5),
            node.system().scheduler())
        .toCompletableFuture()
        .get(10, TimeUnit.SECONDS);
  }
}
