package dev.parley.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import dev.parley.Node;
import dev.parley.testing.TestCluster;
import dev.parley.testing.WsClient;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A node leaves the way a rolling deploy makes it leave (CoordinatedShutdown: drain, shard handoff,
 * cluster leave) while a client on another node keeps writing to the conversations it hosted.
 */
class GracefulLeaveIT {

  @RegisterExtension final TestCluster cluster = TestCluster.perTest();

  @Test
  void conversationsOfALeavingNodeContinueElsewhereWithoutLossOrDuplicate() throws Exception {
    Node first = cluster.startNode();
    Node second = cluster.startNode();
    Node leaving = cluster.startNode();

    try (WsClient alice = cluster.connect(first, "alice")) {
      List<String> conversations = AcknowledgedSends.createConversations(alice, "leave", 24);
      Set<String> hostedByLeaving = AcknowledgedSends.conversationsOn(leaving);
      List<String> targets = conversations.stream().filter(hostedByLeaving::contains).toList();
      assertThat(targets).as("conversations whose shards are on the leaving node").isNotEmpty();

      AcknowledgedSends sends = new AcknowledgedSends(alice);
      int n = 0;
      for (; n < 3 * targets.size(); n++) sends.send(targets.get(n % targets.size()), "before-" + n);

      CompletableFuture<Void> left =
          cluster.leaveInBackground(leaving);
      // Under traffic: keep sending while the node drains, hands its shards off and leaves...
      int during = 0;
      for (; !left.isDone(); n++, during++) sends.send(targets.get(n % targets.size()), "during-" + n);
      left.get(2, TimeUnit.MINUTES);
      // ...and after, when the conversations live on the remaining nodes.
      for (int i = 0; i < 2 * targets.size(); i++, n++) sends.send(targets.get(n % targets.size()), "after-" + n);

      assertThat(during).as("sends acknowledged while the node was leaving").isPositive();
      Set<String> hostedBySurvivors = new HashSet<>(AcknowledgedSends.conversationsOn(first));
      hostedBySurvivors.addAll(AcknowledgedSends.conversationsOn(second));
      assertThat(hostedBySurvivors).as("where the leaving node's conversations live now").containsAll(targets);
      try (WsClient reader = cluster.connect(first, "alice")) {
        sends.assertEachInHistoryExactlyOnce(reader);
      }
    }
  }
}
