package dev.parley.bot;

import static dev.parley.testing.WsClient.frame;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.parley.Node;
import dev.parley.testing.TestCluster;
import dev.parley.testing.WsClient;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.StreamSupport;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.cluster.sharding.ShardRegion;
import org.apache.pekko.cluster.sharding.typed.ClusterShardingQuery;
import org.apache.pekko.cluster.sharding.typed.GetShardRegionState;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Three nodes on one PostgreSQL database; bots in a dozen conversations. The node holding some of
 * the bots' runners stops in the middle of the conversations (replies owed), by leaving or by
 * dying; the runners start again on the survivors from their durable offsets, and every message
 * ends up with exactly one reply.
 */
class BotFailoverIT {

  private static final int CONVERSATIONS = 12;

  @RegisterExtension final TestCluster cluster = TestCluster.perTest();

  @Test
  void whenANodeHoldingBotRunnersLeavesTheBotsResumeElsewhereWithNoMissedAndNoDuplicatedReply() throws Exception {
    runScenario(false);
  }

  @Test
  void whenANodeHoldingBotRunnersDiesTheBotsResumeElsewhereWithNoMissedAndNoDuplicatedReply() throws Exception {
    runScenario(true);
  }

  private void runScenario(boolean crash) throws Exception {
    Map<String, Object> bots = new HashMap<>();
    bots.put("parley.bot-runner.sweep-interval", "1s");
    bots.put("parley.bots.gated.type", "class");
    bots.put("parley.bots.gated.class", GatedEchoBot.class.getName());
    bots.put("parley.bots.gated.enabled", true);
    // Every runner of a node may wait at its gate at once: a thread each.
    bots.put("parley.bots.gated.threads", CONVERSATIONS);
    bots.put("parley.bots.gated.processing-timeout", "60s");
    Node first = cluster.startNode(bots);
    Node second = cluster.startNode(bots);
    Map<String, Object> victimSettings = new HashMap<>(bots);
    // Terminating without CoordinatedShutdown: no handoff, no leave, as a killed process.
    if (crash) victimSettings.put("pekko.coordinated-shutdown.run-by-actor-system-terminate", "off");
    Node victim = cluster.startNode(victimSettings);

    try (WsClient alice = cluster.connect(first, "alice")) {
      Map<String, List<Long>> sent = new LinkedHashMap<>();
      for (int c = 0; c < CONVERSATIONS; c++) {
        String conversation = "failover-" + c + "-" + UUID.randomUUID();
        ObjectNode create = frame("create").put("conversation", conversation);
        create.putArray("members").add("bot:gated");
        assertThat(alice.request(create).path("type").asText()).isEqualTo("created");
        List<Long> seqs = new ArrayList<>();
        for (int i = 0; i < 4; i++) seqs.add(send(alice, conversation, "before " + i));
        sent.put(conversation, seqs);
        GatedEchoBot.allow(conversation, 2);
      }
      for (Map.Entry<String, List<Long>> e : sent.entrySet()) awaitReplies(alice, e.getKey(), e.getValue().subList(0, 2));
      Set<String> onVictim = runnersOn(victim);
      assertThat(onVictim).as("bot runners on the node that stops").isNotEmpty();

      if (crash) {
        victim.system().terminate();
        victim.system().getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
        cluster.forget(victim);
      } else {
        cluster.leave(victim);
      }
      // Only now may the bots go on: a permit taken by the stopping node's bot would be lost.
      sent.keySet().forEach(c -> GatedEchoBot.allow(c, 100));
      for (Map.Entry<String, List<Long>> e : sent.entrySet()) {
        for (int i = 0; i < 2; i++) e.getValue().add(send(alice, e.getKey(), "after " + i));
      }

      for (Map.Entry<String, List<Long>> e : sent.entrySet()) {
        Map<Long, List<String>> replies = awaitReplies(alice, e.getKey(), e.getValue());
        assertThat(replies).as("replies in %s", e.getKey()).hasSize(6);
        List<Long> seqs = e.getValue();
        for (int i = 0; i < seqs.size(); i++) {
          String text = i < 4 ? "before " + i : "after " + (i - 4);
          assertThat(replies.get(seqs.get(i))).as("replies to seq %d of %s", seqs.get(i), e.getKey()).containsExactly("gated: " + text);
        }
      }
      Set<String> survivors = runnersOn(first);
      survivors.addAll(runnersOn(second));
      assertThat(survivors).as("the stopped node's runners run on the survivors").containsAll(onVictim);
    }
  }

  private static long send(WsClient client, String conversation, String text) {
    ObjectNode frame = frame("send").put("conversation", conversation).put("clientMsgId", "m-" + UUID.randomUUID()).put("text", text);
    // A conversation whose shard was on the stopped node answers unavailable until it runs again:
    // retry with the same clientMsgId, as clients do.
    ObjectNode[] ack = new ObjectNode[1];
    await("ack of " + text + " in " + conversation)
        .atMost(Duration.ofSeconds(60))
        .until(() -> {
          ack[0] = client.request(frame.deepCopy().without("id"));
          return "ack".equals(ack[0].path("type").asText());
        });
    return ack[0].path("seq").asLong();
  }

  private static Map<Long, List<String>> replies(WsClient client, String conversation) {
    ObjectNode page = client.request(frame("history").put("conversation", conversation).put("limit", 100));
    Map<Long, List<String>> bySeq = new TreeMap<>();
    if (!"history".equals(page.path("type").asText())) return bySeq;
    for (JsonNode e : StreamSupport.stream(page.path("events").spliterator(), false).toList()) {
      if (!"message".equals(e.path("type").asText()) || !"bot:gated".equals(e.path("sender").asText())) continue;
      String id = e.path("clientMsgId").asText();
      bySeq.computeIfAbsent(Long.parseLong(id.substring(1, id.indexOf('-'))), k -> new ArrayList<>()).add(e.path("text").asText());
    }
    return bySeq;
  }

  private static Map<Long, List<String>> awaitReplies(WsClient client, String conversation, List<Long> sent) {
    await("replies to " + sent + " in " + conversation)
        .atMost(Duration.ofSeconds(60))
        .pollInterval(Duration.ofMillis(250))
        .until(() -> replies(client, conversation).keySet().containsAll(sent));
    return replies(client, conversation);
  }

  /** The conversations whose gated-bot runner lives on {@code node}. */
  private static Set<String> runnersOn(Node node) throws Exception {
    ShardRegion.CurrentShardRegionState state =
        AskPattern.<ClusterShardingQuery, ShardRegion.CurrentShardRegionState>ask(
                ClusterSharding.get(node.system()).shardState(),
                replyTo -> new GetShardRegionState(BotRunner.ENTITY_TYPE_KEY, replyTo),
                Duration.ofSeconds(5),
                node.system().scheduler())
            .toCompletableFuture()
            .get(10, TimeUnit.SECONDS);
    return state.getShards().stream()
        .flatMap(shard -> shard.getEntityIds().stream())
        .map(id -> id.substring(id.indexOf('|') + 1))
        .collect(Collectors.toCollection(java.util.HashSet::new));
  }
}
