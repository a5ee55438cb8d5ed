package dev.parley.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import dev.parley.Node;
import dev.parley.conversation.Conversation;
import dev.parley.ops.Metrics;
import dev.parley.testing.TestCluster;
import dev.parley.testing.WsClient;
import io.micrometer.core.instrument.Counter;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A draining node's shards move to the other nodes during its drain window, a few per rebalance
 * round, instead of all at once at its handoff; sends to their conversations go on meanwhile.
 */
class ShardsMoveEarlyIT {

  @RegisterExtension final TestCluster cluster = TestCluster.perTest();

  @Test
  void aDrainingNodesShardsMoveDuringItsWindowWhileItsConversationsKeepWorking() throws Exception {
    Node first = cluster.startNode();
    // A window of many rounds (pekko.cluster.sharding.rebalance-interval = 1s), so that a slow
    // machine still moves every shard early; the drain ends as soon as they have moved.
    Node leaving = cluster.startNode(Map.of("parley.drain.window", "20s"));

    try (WsClient alice = cluster.connect(first, "alice")) {
      List<String> conversations = AcknowledgedSends.createConversations(alice, "early", 40);
      Set<String> hostedByLeaving = AcknowledgedSends.conversationsOn(leaving);
      List<String> targets = conversations.stream().filter(hostedByLeaving::contains).toList();
      Set<String> shardsOfLeaving = conversationShardsOn(leaving);
      assertThat(shardsOfLeaving).as("shards of the leaving node").hasSizeGreaterThan(2);

      AcknowledgedSends sends = new AcknowledgedSends(alice);
      int n = 0;
      CompletableFuture<Void> left = cluster.leaveInBackground(leaving);
      int during = 0;
      for (; !left.isDone(); n++, during++) sends.send(targets.get(n % targets.size()), "during-" + n);
      left.get(2, TimeUnit.MINUTES);

      // The coordinator (on the oldest node, the first) moved each of them as a rebalance before
      // the leaving node's handoff; without the early moves it would have moved none (the handoff
      // is not a rebalance) and the drain would have waited for them until its deadline.
      assertThat(movedEarly(first)).as("shards moved during the drain window").isEqualTo(shardsOfLeaving.size());
      assertThat(during).as("sends acknowledged while the node drained").isPositive();
      assertThat(AcknowledgedSends.conversationsOn(first)).containsAll(targets);
      for (int i = 0; i < targets.size(); i++, n++) sends.send(targets.get(i), "after-" + n);
      try (WsClient reader = cluster.connect(first, "alice")) {
        sends.assertEachInHistoryExactlyOnce(reader);
      }
    }
  }

  private static double movedEarly(Node node) {
    Counter counter =
        Metrics.get(node.system()).registry().find("parley.drain.shards.moved.early").tag("type", Conversation.ENTITY_TYPE_KEY.name()).counter();
    return counter == null ? 0 : counter.count();
  }

  private static Set<String> conversationShardsOn(Node node) throws Exception {
    Set<String> ids = new HashSet<>();
    AcknowledgedSends.conversationRegionOn(node).getShards().forEach(shard -> ids.add(shard.shardId()));
    return ids;
  }
}
