package dev.parley.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.parley.Node;
import dev.parley.testing.TestCluster;
import dev.parley.testing.WsClient;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * When a node leaves, the conversations it hosted stop together (one handoff per shard); their
 * subscribers on other nodes come back at random moments of {@code parley.gateway.resubscribe-spread},
 * so the node that takes the shards over recovers those conversations as a ramp, not all at once.
 */
class ResubscribeSpreadIT {

  @RegisterExtension final TestCluster cluster = TestCluster.perTest();

  @Test
  void subscribersOfALeavingNodesConversationsComeBackSpreadOverTheWindow() throws Exception {
    Map<String, Object> spread = Map.of("parley.gateway.resubscribe-spread", "3s");
    Node staying = cluster.startNode(spread);
    Node leaving = cluster.startNode(spread);

    try (WsClient alice = cluster.connect(staying, "alice")) {
      List<String> conversations = AcknowledgedSends.createConversations(alice, "spread", 40);
      Set<String> onLeaving = AcknowledgedSends.conversationsOn(leaving);
      List<String> moving = conversations.stream().filter(onLeaving::contains).toList();
      assertThat(moving).as("conversations hosted by the leaving node").hasSizeGreaterThanOrEqualTo(8);
      for (String conversation : moving) {
        assertThat(alice.request(WsClient.frame("subscribe").put("conversation", conversation).put("since", 1L)).path("type").asText())
            .isEqualTo("subscribed");
      }

      // Only alice's subscriptions bring those conversations back: nobody writes to them meanwhile.
      NodeLifecycle receiving = NodeLifecycle.get(staying.system());
      long before = receiving.recoveriesCompleted();
      CompletableFuture<Void> left =
          cluster.leaveInBackground(leaving);
      long[] firstRecovery = {0};
      await("every moved conversation recovered on the staying node")
          .atMost(Duration.ofSeconds(60))
          .pollInterval(Duration.ofMillis(20))
          .until(
              () -> {
                long recovered = receiving.recoveriesCompleted() - before;
                if (recovered > 0 && firstRecovery[0] == 0) firstRecovery[0] = System.nanoTime();
                return recovered >= moving.size();
              });
      Duration ramp = Duration.ofNanos(System.nanoTime() - firstRecovery[0]);
      left.get(1, TimeUnit.MINUTES);

      assertThat(ramp)
          .as("%d conversations recovered over the 3 s spread, not in one burst", moving.size())
          .isGreaterThan(Duration.ofSeconds(1));
      // And every subscription is live again: a message sent to each comes back on it.
      for (String conversation : moving) {
        ObjectNode ack =
            alice.request(WsClient.frame("send").put("conversation", conversation).put("clientMsgId", "after-" + conversation).put("text", "hi"));
        assertThat(ack.path("type").asText()).as("send to %s: %s", conversation, ack).isEqualTo("ack");
        assertThat(alice.expectEvent(conversation).path("seq").asLong()).isEqualTo(ack.path("seq").asLong());
      }
    }
  }

  @Test
  void aMessageInAMovedConversationBringsItsSubscriberBackBeforeItsMomentInTheSpread() throws Exception {
    // A spread far longer than any wait below: only the activity can bring the subscription back.
    Map<String, Object> spread = Map.of("parley.gateway.resubscribe-spread", "10m");
    Node staying = cluster.startNode(spread);
    Node leaving = cluster.startNode(spread);

    try (WsClient alice = cluster.connect(staying, "alice");
        WsClient bob = cluster.connect(staying, "bob")) {
      String moving = null;
      for (int i = 0; moving == null; i++) {
        assertThat(i).as("a conversation on the leaving node among the first 40").isLessThan(40);
        String id = "active-" + i;
        ObjectNode created = alice.request(WsClient.frame("create").put("conversation", id).set("members", WsClient.JSON.createArrayNode().add("bob")));
        assertThat(created.path("type").asText()).isEqualTo("created");
        if (AcknowledgedSends.conversationsOn(leaving).contains(id)) moving = id;
      }
      assertThat(alice.request(WsClient.frame("subscribe").put("conversation", moving).put("since", 1L)).path("type").asText())
          .isEqualTo("subscribed");

      cluster.leave(leaving);
      ObjectNode ack =
          bob.request(WsClient.frame("send").put("conversation", moving).put("clientMsgId", "after-the-move").put("text", "still there?"));
      assertThat(ack.path("type").asText()).as("%s", ack).isEqualTo("ack");

      ObjectNode delivered = alice.expectEvent(moving);
      assertThat(delivered.path("seq").asLong()).isEqualTo(ack.path("seq").asLong());
      assertThat(delivered.path("text").asText()).isEqualTo("still there?");
    }
  }
}
