package dev.parley.presence;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.parley.Node;
import dev.parley.ops.Metrics;
import dev.parley.testing.TestCluster;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.UUID;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.Dropped;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.eventstream.EventStream;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.actor.typed.Props;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.typed.Cluster;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A node with many users online, on a cluster whose Artery frame is small (32 KiB, so that the
 * 1,000 entries of one write round, ~60 KB, do not fit one message), connects them all at once and
 * then leaves: the other nodes see every one of them online, then every one of them offline with
 * a lastSeen, and forget its entries; no node ever sends a message Artery must drop as oversized
 * (a round is split into numbered batches under PresenceSettings#messageBytes), and no peer missed
 * a batch (no snapshot asked for).
 */
class PresenceRemovedNodeIT {

  @RegisterExtension final TestCluster cluster = TestCluster.perTest();

  private static final int USERS = 1_000;
  private static final Map<String, Object> SMALL_FRAME = Map.of("pekko.remote.artery.advanced.maximum-frame-size", "32KiB");

  @Test
  void theUsersOfANodeThatIsRemovedAreShownOfflineOnEveryOtherNode() throws Exception {
    Node first = cluster.startNode(SMALL_FRAME);
    Node second = cluster.startNode(SMALL_FRAME);
    Node leaving = cluster.startNode(SMALL_FRAME);
    assertThat(Presence.get(leaving.system()).settings().messageBytes()).isEqualTo(32 * 1024 / 2);
    Queue<String> oversized = new ConcurrentLinkedQueue<>();
    for (Node node : List.of(first, second, leaving)) recordOversizedDrops(node, oversized);
    String id = UUID.randomUUID().toString().substring(0, 8);
    List<String> users = new ArrayList<>(USERS);
    for (int i = 0; i < USERS; i++) users.add("removed-" + id + "-" + i);

    // The users' connections: actors on the leaving node, connected in one burst (one write round).
    long connectedAt = System.nanoTime();
    for (String user : users) {
      ActorRef<PresenceHub.Batch> connection = leaving.system().systemActorOf(Behaviors.ignore(), "connection-" + user, Props.empty());
      Presence.get(leaving.system()).connected(user, connection);
    }
    for (Node other : List.of(first, second)) {
      await("every user online on " + other)
          .atMost(Duration.ofSeconds(30))
          .pollInterval(Duration.ofMillis(100))
          .untilAsserted(() -> assertThat(users).allSatisfy(u -> assertThat(Presence.get(other.system()).of(u).status()).isEqualTo(PresenceEntry.Status.ONLINE)));
    }
    System.out.printf("presence: %d users online on both other nodes after %d ms%n", USERS, TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - connectedAt));

    String leavingNode = PresenceSync.nodeId(Cluster.get(leaving.system()).selfMember().uniqueAddress());
    long leftAt = System.nanoTime();
    cluster.leave(leaving);
    for (Node other : List.of(first, second)) {
      await("every user offline on " + other)
          .atMost(Duration.ofSeconds(30))
          .pollInterval(Duration.ofMillis(100))
          .untilAsserted(
              () ->
                  assertThat(users).allSatisfy(u -> {
                    UserPresence p = Presence.get(other.system()).of(u);
                    assertThat(p.status()).isEqualTo(PresenceEntry.Status.OFFLINE);
                    assertThat(p.lastSeen()).isNotNull();
                  }));
    }
    System.out.printf("presence: %d users offline on both other nodes %d ms after the leave began%n", USERS, TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - leftAt));
    // The survivors also forgot the node's 1,000 entries.
    for (Node other : List.of(first, second)) {
      await("the removed node's entries gone on " + other)
          .atMost(Duration.ofSeconds(30))
          .untilAsserted(() -> assertThat(users).noneSatisfy(u -> assertThat(entriesOf(other, u)).containsKey(leavingNode)));
    }
    // Every node, the leaving one included, sent its batches in messages Artery could carry, and none was missed.
    assertThat(oversized).as("messages Artery dropped as oversized").isEmpty();
    assertThat(Metrics.get(leaving.system()).registry().counter("parley.presence.sync.batches").count()).as("batches of the burst").isGreaterThanOrEqualTo(4);
    for (Node other : List.of(first, second)) {
      assertThat(Metrics.get(other.system()).registry().counter("parley.presence.sync.resyncs").count()).as("snapshots asked for by a survivor").isZero();
    }
  }

  /** Artery publishes a Dropped event on the sender's event stream for every message over its frame size. */
  private static void recordOversizedDrops(Node node, Queue<String> into) {
    ActorRef<Dropped> recorder =
        node.system()
            .systemActorOf(
                Behaviors.receiveMessage(
                    (Dropped d) -> {
                      if (d.reason().contains("oversized")) into.add(node.system().address() + ": " + d.reason());
                      return Behaviors.same();
                    }),
                "oversized-drops",
                Props.empty());
    node.system().eventStream().tell(new EventStream.Subscribe<>(Dropped.class, recorder));
  }

  /** What each node says about {@code user}, as a node's hub holds it. */
  static Map<String, PresenceEntry> entriesOf(Node node, String user) throws Exception {
    return AskPattern.<PresenceHub.Command, Map<String, PresenceEntry>>ask(
            Presence.get(node.system()).hub(), replyTo -> new PresenceHub.EntriesOf(user, replyTo), Duration.ofSeconds(5), node.system().scheduler())
        .toCompletableFuture()
        .get(10, TimeUnit.SECONDS);
  }
}
