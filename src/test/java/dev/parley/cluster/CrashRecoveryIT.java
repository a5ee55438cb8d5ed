package dev.parley.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.parley.Node;
import dev.parley.testing.TestCluster;
import dev.parley.testing.WsClient;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
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
 * client that retries with the same clientMsgId loses nothing and duplicates nothing. Runs with the
 * production failure-detector, split brain resolver and down-removal-margin settings of
 * application.conf, and prints how long each of the dead node's conversations took to acknowledge
 * a send again (the figure issue 23 is about: under 10 s; benchmarks.md has it under load).
 */
class CrashRecoveryIT {

  @RegisterExtension final TestCluster cluster = TestCluster.perTest();

  @Test
  void survivorsDownACrashedNodeAndTakeOverItsConversationsWithoutLoss() throws Exception {
    Node first = cluster.startNode();
    Node second = cluster.startNode();
    Node crashing = cluster.startNode(CRASHES);
    crashAndCheckFailover(crashing, first, second);
  }

  /**
   * The oldest node hosts the shard coordinators (cluster singletons): when it dies, the next
   * oldest starts them, and they read their state back before they allocate anything.
   */
  @Test
  void survivorsTakeOverTheConversationsAndTheShardCoordinatorOfACrashedOldestNode() throws Exception {
    Node crashing = cluster.startNode(CRASHES);
    Node second = cluster.startNode();
    Node third = cluster.startNode();
    crashAndCheckFailover(crashing, second, third);
  }

  /**
   * Terminating a node's actor system skips CoordinatedShutdown: no drain, no handoff, no leave.
   * To the others it just stops answering, as a killed process would.
   */
  private static final Map<String, Object> CRASHES = Map.of("pekko.coordinated-shutdown.run-by-actor-system-terminate", "off");

  private void crashAndCheckFailover(Node crashing, Node survivor, Node otherSurvivor) throws Exception {
    Address crashedAddress = Cluster.get(crashing.system()).selfMember().address();
    ConcurrentLinkedQueue<ClusterEvent.MemberEvent> seenBySurvivor = memberEvents(survivor);

    try (WsClient alice = cluster.connect(survivor, "alice")) {
      List<String> conversations = AcknowledgedSends.createConversations(alice, "crash", 30);
      Set<String> hostedByCrashing = AcknowledgedSends.conversationsOn(crashing);
      List<String> targets = conversations.stream().filter(hostedByCrashing::contains).toList();
      assertThat(targets).as("conversations whose shards are on the crashing node").isNotEmpty();

      AcknowledgedSends before = new AcknowledgedSends(alice);
      for (int n = 0; n < 2 * targets.size(); n++) before.send(targets.get(n % targets.size()), "before-" + n);

      // One client per conversation of the dead node, half on each survivor, each sending (and
      // retrying 'unavailable' with the same clientMsgId) from the moment of the crash, as users
      // of those conversations would: when each is acknowledged is when it is served again.
      ExecutorService users = Executors.newFixedThreadPool(targets.size());
      List<WsClient> clients = new ArrayList<>();
      List<Future<AcknowledgedSends>> afterCrash = new ArrayList<>();
      Map<String, Duration> servedAgainAfter = new ConcurrentHashMap<>();
      try {
        for (int i = 0; i < targets.size(); i++) clients.add(cluster.connect(i % 2 == 0 ? survivor : otherSurvivor, "alice"));
        long crashedAt = System.nanoTime();
        crashing.system().terminate();
        for (int i = 0; i < targets.size(); i++) {
          String conversation = targets.get(i);
          WsClient client = clients.get(i);
          afterCrash.add(
              users.submit(
                  () -> {
                    AcknowledgedSends sends = new AcknowledgedSends(client);
                    sends.send(conversation, "after-crash");
                    servedAgainAfter.put(conversation, Duration.ofNanos(System.nanoTime() - crashedAt));
                    sends.send(conversation, "after-crash-2");
                    return sends;
                  }));
        }
        crashing.system().getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
        cluster.forget(crashing);
        List<AcknowledgedSends> sendsAfterCrash = new ArrayList<>();
        for (Future<AcknowledgedSends> f : afterCrash) sendsAfterCrash.add(f.get(120, TimeUnit.SECONDS));

        assertThat(servedAgainAfter).as("every conversation of the dead node acknowledges a send again").containsOnlyKeys(targets);
        List<Long> millis = servedAgainAfter.values().stream().map(Duration::toMillis).sorted().toList();
        System.out.printf(
            "crash of %s: its %d conversations served again after (ms) min %d, median %d, max %d; all: %s%n",
            crashedAddress, millis.size(), millis.get(0), millis.get(millis.size() / 2), millis.get(millis.size() - 1), millis);

        await("the crashed node is downed by the Split Brain Resolver and removed")
            .atMost(Duration.ofSeconds(30))
            .untilAsserted(
                () -> {
                  assertThat(seenBySurvivor)
                      .anySatisfy(e -> {
                        assertThat(e).isInstanceOf(ClusterEvent.MemberDowned.class);
                        assertThat(e.member().address()).isEqualTo(crashedAddress);
                      });
                  assertThat(Cluster.get(survivor.system()).state().getMembers())
                      .extracting(m -> m.address())
                      .doesNotContain(crashedAddress);
                });
        assertThat(Cluster.get(survivor.system()).state().getMembers())
            .allSatisfy(m -> assertThat(m.status()).isEqualTo(MemberStatus.up()))
            .hasSize(2);
        // A send that reached the crashing node while its actor system was terminating can still be
        // persisted and acknowledged there (the journal's writer threads finish the batch they
        // hold): such a conversation was served without moving. One more send to each, now that
        // the node is gone, must be served by a survivor.
        AcknowledgedSends afterRemoval = new AcknowledgedSends(alice);
        for (String conversation : targets) afterRemoval.send(conversation, "after-removal");
        Set<String> hostedBySurvivors = new HashSet<>(AcknowledgedSends.conversationsOn(survivor));
        hostedBySurvivors.addAll(AcknowledgedSends.conversationsOn(otherSurvivor));
        assertThat(hostedBySurvivors).containsAll(targets);
        try (WsClient reader = cluster.connect(otherSurvivor, "alice")) {
          before.assertEachInHistoryExactlyOnce(reader);
          for (AcknowledgedSends sends : sendsAfterCrash) sends.assertEachInHistoryExactlyOnce(reader);
          afterRemoval.assertEachInHistoryExactlyOnce(reader);
        }
      } finally {
        users.shutdownNow();
        clients.forEach(WsClient::close);
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
