package dev.parley.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.parley.Node;
import dev.parley.testing.TestCluster;
import dev.parley.testing.WsClient;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.Address;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Props;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.ClusterEvent;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Subscribe;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A node dies without leaving (no CoordinatedShutdown, no handoff): the others find it unreachable,
 * the Split Brain Resolver downs it, its shards start again on the survivors from the journal, and a
 * client that retries with the same clientMsgId loses nothing and duplicates nothing.
 */
class CrashRecoveryIT {

  @RegisterExtension final TestCluster cluster = TestCluster.perTest();

  @Test
  void survivorsDownACrashedNodeAndTakeOverItsConversationsWithoutLoss() throws Exception {
    Node first = cluster.startNode();
    Node second = cluster.startNode();
    // Terminating this node's actor system skips CoordinatedShutdown: no drain, no handoff, no
    // leave. To the others it just stops answering, as a killed process would.
    Node crashing = cluster.startNode(Map.of("pekko.coordinated-shutdown.run-by-actor-system-terminate", "off"));
    Address crashedAddress = Cluster.get(crashing.system()).selfMember().address();
    ConcurrentLinkedQueue<ClusterEvent.MemberEvent> seenByFirst = memberEvents(first);

    try (WsClient alice = cluster.connect(first, "alice")) {
      List<String> conversations = AcknowledgedSends.createConversations(alice, "crash", 24);
      Set<String> hostedByCrashing = AcknowledgedSends.conversationsOn(crashing);
      List<String> targets = conversations.stream().filter(hostedByCrashing::contains).toList();
      assertThat(targets).as("conversations whose shards are on the crashing node").isNotEmpty();

      AcknowledgedSends sends = new AcknowledgedSends(alice);
      int n = 0;
      for (; n < 3 * targets.size(); n++) sends.send(targets.get(n % targets.size()), "before-" + n);

      crashing.system().terminate();
      crashing.system().getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
      cluster.forget(crashing);

      // Each send waits (retrying on 'unavailable') until the SBR has downed the dead node and the
      // conversation has started again on a survivor.
      for (int i = 0; i < 3 * targets.size(); i++, n++) sends.send(targets.get(n % targets.size()), "after-" + n);

      await("the crashed node is downed by the Split Brain Resolver and removed")
          .atMost(Duration.ofSeconds(30))
          .untilAsserted(
              () -> {
                assertThat(seenByFirst)
                    .anySatisfy(e -> {
                      assertThat(e).isInstanceOf(ClusterEvent.MemberDowned.class);
                      assertThat(e.member().address()).isEqualTo(crashedAddress);
                    });
                assertThat(Cluster.get(first.system()).state().getMembers())
                    .extracting(m -> m.address())
                    .doesNotContain(crashedAddress);
              });
      assertThat(Cluster.get(first.system()).state().getMembers())
          .allSatisfy(m -> assertThat(m.status()).isEqualTo(MemberStatus.up()))
          .hasSize(2);
      Set<String> hostedBySurvivors = new HashSet<>(AcknowledgedSends.conversationsOn(first));
      hostedBySurvivors.addAll(AcknowledgedSends.conversationsOn(second));
      assertThat(hostedBySurvivors).containsAll(targets);
      try (WsClient reader = cluster.connect(second, "alice")) {
        sends.assertEachInHistoryExactlyOnce(reader);
      }
    }
  }

  /** Every membership change {@code node} observes from now on. */
  private static ConcurrentLinkedQueue<ClusterEvent.MemberEvent> memberEvents(Node node) {
    ConcurrentLinkedQueue<ClusterEvent.MemberEvent> events = new ConcurrentLinkedQueue<>();
    ActorRef<ClusterEvent.MemberEvent> listener =
        node.system()
            .systemActorOf(
                Behaviors.<ClusterEvent.MemberEvent>receiveMessage(
                    e -> {
                      events.add(e);
                      return Behaviors.same();
                    }),
                "test-member-events",
                Props.empty());
    Cluster.get(node.system()).subscriptions().tell(Subscribe.create(listener, ClusterEvent.MemberEvent.class));
    return events;
  }
}
