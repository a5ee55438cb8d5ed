package dev.parley.presence;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.pekko.actor.testkit.typed.javadsl.FishingOutcomes;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.receptionist.Receptionist;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A hub and a stand-in for another node's hub (a probe registered under the hubs' key): the hub
 * sends a new peer its snapshot, then its batches in order; it applies a peer's batches in order,
 * and asks for a snapshot when one is missing, which then replaces what it had from that peer.
 */
class PresenceHubSyncTest {

  private static final PresenceEntry.Status ONLINE = PresenceEntry.Status.ONLINE;

  private static ActorTestKit testKit;
  private static ActorRef<PresenceHub.Command> hub;
  private static TestProbe<PresenceHub.Command> peer;
  private static final Map<String, UserPresence> view = new ConcurrentHashMap<>();

  @BeforeAll
  static void start() {
    testKit = OneNodeCluster.start();
    peer = testKit.createTestProbe();
    testKit.system().receptionist().tell(Receptionist.register(PresenceHub.HUBS, peer.ref()));
    hub =
        testKit.spawn(
            PresenceHub.create(
                new PresenceSettings(Duration.ofMillis(100), 200, Duration.ofMillis(20), Duration.ofSeconds(2), Duration.ofHours(1), 200, 500, 64 * 1024),
                null,
                view));
  }

  @AfterAll
  static void stop() {
    testKit.shutdownTestKit();
  }

  @Test
  void aPeerGetsTheSnapshotThenEveryBatchInOrder() {
    // The peer appears (it registered before the hub started): an empty snapshot as of batch 0.
    PresenceSync.Snapshot first = next(PresenceSync.Snapshot.class);
    assertThat(first.seq()).isZero();
    assertThat(first.last()).isTrue();
    TestProbe<PresenceHub.Batch> device = testKit.createTestProbe();
    hub.tell(new PresenceHub.Connected("ann", device.ref()));
    PresenceSync.Changes changes = next(PresenceSync.Changes.class);
    assertThat(changes.seq()).isEqualTo(1);
    assertThat(changes.entries()).extracting(PresenceSync.Entry::user, PresenceSync.Entry::status).containsExactly(org.assertj.core.groups.Tuple.tuple("ann", ONLINE));
    hub.tell(new PresenceHub.Disconnected(device.ref()));
    assertThat(next(PresenceSync.Changes.class).seq()).isEqualTo(2);

    // The peer missed a batch and asks: the snapshot holds ann's offline entry, as of batch 2.
    hub.tell(new PresenceSync.SnapshotRequest(peer.ref()));
    PresenceSync.Snapshot again = next(PresenceSync.Snapshot.class);
    assertThat(again.seq()).isEqualTo(2);
    assertThat(again.entries()).extracting(PresenceSync.Entry::user, PresenceSync.Entry::status)
        .containsExactly(org.assertj.core.groups.Tuple.tuple("ann", PresenceEntry.Status.OFFLINE));
  }

  @Test
  void aMissingBatchIsRepairedByASnapshot() {
    // Another node's hub this hub does not send to (not listed): only the hub's answers reach it.
    TestProbe<PresenceHub.Command> other = testKit.createTestProbe();
    String node = "feed";
    hub.tell(new PresenceSync.Snapshot(node, other.ref(), 3, 0, false, List.of(new PresenceSync.Entry("amy", ONLINE, 1L))));
    hub.tell(new PresenceSync.Snapshot(node, other.ref(), 3, 1, true, List.of(new PresenceSync.Entry("ben", ONLINE, 1L))));
    hub.tell(new PresenceSync.Changes(node, other.ref(), 4, List.of(new PresenceSync.Entry("amy", PresenceEntry.Status.AWAY, 2L))));
    assertThat(entriesOf("amy")).containsEntry(node, new PresenceEntry(PresenceEntry.Status.AWAY, 2L));
    assertThat(entriesOf("ben")).containsEntry(node, new PresenceEntry(ONLINE, 1L));

    // Batch 5 is lost: 6 is not applied, the hub asks for a snapshot, once while it waits for it.
    hub.tell(new PresenceSync.Changes(node, other.ref(), 6, List.of(new PresenceSync.Entry("cid", ONLINE, 3L))));
    hub.tell(new PresenceSync.Tip(node, other.ref(), 6));
    assertThat(other.expectMessageClass(PresenceSync.SnapshotRequest.class, Duration.ofSeconds(5)).replyTo()).isEqualTo(hub);
    assertThat(entriesOf("cid")).isEmpty();
    other.expectNoMessage(Duration.ofMillis(300));

    // The snapshot as of batch 6 replaces what the hub had from the node: ben is forgotten.
    hub.tell(new PresenceSync.Snapshot(node, other.ref(), 6, 0, true, List.of(new PresenceSync.Entry("amy", ONLINE, 4L), new PresenceSync.Entry("cid", ONLINE, 3L))));
    hub.tell(new PresenceSync.Changes(node, other.ref(), 7, List.of(PresenceSync.Entry.of("amy", null))));
    assertThat(entriesOf("cid")).containsEntry(node, new PresenceEntry(ONLINE, 3L));
    assertThat(entriesOf("ben")).isEmpty();
    assertThat(entriesOf("amy")).as("batch 7: the node forgot amy").isEmpty();
  }

  /** The peer's next message of that type; the hub's periodic tips in between are ignored. */
  private static <T extends PresenceHub.Command> T next(Class<T> type) {
    List<PresenceHub.Command> fished =
        peer.fishForMessage(
            Duration.ofSeconds(10),
            c -> c instanceof PresenceSync.Tip ? FishingOutcomes.continueAndIgnore() : FishingOutcomes.complete());
    return type.cast(fished.get(fished.size() - 1));
  }

  private static Map<String, PresenceEntry> entriesOf(String user) {
    TestProbe<Map<String, PresenceEntry>> reply = testKit.createTestProbe();
    hub.tell(new PresenceHub.EntriesOf(user, reply.ref()));
    return reply.receiveMessage(Duration.ofSeconds(5));
  }
}
