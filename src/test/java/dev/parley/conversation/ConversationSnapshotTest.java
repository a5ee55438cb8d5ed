package dev.parley.conversation;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.typesafe.config.ConfigFactory;
import dev.parley.conversation.Conversation.Command;
import dev.parley.conversation.Conversation.Create;
import dev.parley.conversation.Conversation.Reply;
import dev.parley.conversation.Conversation.Send;
import dev.parley.conversation.Conversation.Sent;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.dispatch.Futures;
import org.apache.pekko.persistence.SelectedSnapshot;
import org.apache.pekko.persistence.SnapshotMetadata;
import org.apache.pekko.persistence.SnapshotSelectionCriteria;
import org.apache.pekko.persistence.snapshot.japi.SnapshotStore;
import org.apache.pekko.persistence.testkit.PersistenceTestKitPlugin;
import org.apache.pekko.persistence.testkit.javadsl.PersistenceTestKit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import scala.concurrent.Future;

/**
 * A conversation's snapshots fall on a grid shifted by a phase from its id (issue 18, {@link
 * Snapshots}): conversations that move in step save their snapshots at different seqs instead of
 * all at once, which held every ack of a node for the length of the burst. The two newest are kept,
 * and recovery starts from the newest. A store that records every save ({@link
 * RecordingSnapshotStore}) shows where they fall.
 */
class ConversationSnapshotTest {

  private static final int SNAPSHOT_EVERY = 5;

  private static final ActorTestKit testKit =
      ActorTestKit.create(
          ConfigFactory.parseString(
                  """
                  pekko.persistence.snapshot-store.plugin = "recording-snapshot-store"
                  recording-snapshot-store.class = "dev.parley.conversation.ConversationSnapshotTest$RecordingSnapshotStore"
                  """)
              .withFallback(PersistenceTestKitPlugin.getInstance().config())
              .withFallback(ConfigFactory.parseResources("serialization.conf")));

  private static final ConversationSettings SETTINGS =
      new ConversationSettings(64, 64, SNAPSHOT_EVERY, Duration.ofHours(1), Duration.ofSeconds(3), Duration.ZERO);

  /** A snapshot store that keeps what it is given and records every save. */
  public static final class RecordingSnapshotStore extends SnapshotStore {
    static final Map<String, List<Long>> saves = new ConcurrentHashMap<>();
    static final Map<String, List<SelectedSnapshot>> stored = new ConcurrentHashMap<>();

    @Override
    public Future<Optional<SelectedSnapshot>> doLoadAsync(String persistenceId, SnapshotSelectionCriteria criteria) {
      return Futures.successful(
          stored.getOrDefault(persistenceId, List.of()).stream()
              .filter(s -> s.metadata().sequenceNr() <= criteria.maxSequenceNr())
              .max((a, b) -> Long.compare(a.metadata().sequenceNr(), b.metadata().sequenceNr())));
    }

    @Override
    public Future<Void> doSaveAsync(SnapshotMetadata metadata, Object snapshot) {
      saves.computeIfAbsent(metadata.persistenceId(), id -> new CopyOnWriteArrayList<>()).add(metadata.sequenceNr());
      stored.computeIfAbsent(metadata.persistenceId(), id -> new CopyOnWriteArrayList<>()).add(SelectedSnapshot.create(metadata, snapshot));
      return Futures.successful(null);
    }

    @Override
    public Future<Void> doDeleteAsync(SnapshotMetadata metadata) {
      return Futures.successful(null);
    }

    @Override
    public Future<Void> doDeleteAsync(String persistenceId, SnapshotSelectionCriteria criteria) {
      stored.computeIfPresent(
          persistenceId,
          (id, list) -> new CopyOnWriteArrayList<>(list.stream().filter(s -> s.metadata().sequenceNr() > criteria.maxSequenceNr()).toList()));
      return Futures.successful(null);
    }

    static List<Long> savesOf(String persistenceId) {
      return saves.getOrDefault(persistenceId, List.of());
    }

    static List<Long> storedOf(String persistenceId) {
      return stored.getOrDefault(persistenceId, List.of()).stream().map(s -> s.metadata().sequenceNr()).sorted().toList();
    }
  }

  private String id;
  private String persistenceId;
  private ActorRef<Command> conversation;
  private TestProbe<Reply> replies;

  @AfterAll
  static void shutdown() {
    testKit.shutdownTestKit();
  }

  /** A new conversation whose snapshot grid is shifted by {@code phase} ({@link Snapshots#phaseOf}). */
  private void start(int phase) {
    do id = "c-" + UUID.randomUUID(); while (Snapshots.phaseOf(id, SNAPSHOT_EVERY) != phase);
    persistenceId = Conversation.persistenceId(id).id();
    conversation = testKit.spawn(Conversation.create(id, ProjectionTags.of(id), SETTINGS, Clock.systemUTC(), self -> {}));
    replies = testKit.createTestProbe();
    conversation.tell(new Create("alice", List.of("bob"), "t", replies.ref()));
    replies.expectMessage(new Conversation.Accepted(1));
  }

  /** Sends messages one after another until the conversation's last seq is {@code lastSeq}; returns their acks. */
  private List<Reply> sendUpTo(long from, long lastSeq) {
    List<Reply> acks = new ArrayList<>();
    for (long seq = from; seq <= lastSeq; seq++) {
      conversation.tell(new Send("alice", "m" + seq, "text " + seq, replies.ref()));
      acks.add(replies.receiveMessage(Duration.ofSeconds(3)));
    }
    return acks;
  }

  @Test
  void conversationsThatMoveInStepSaveTheirSnapshotsAtDifferentSeqs() {
    start(0);
    String first = persistenceId;
    sendUpTo(2, 7);
    start(3);
    String second = persistenceId;
    sendUpTo(2, 7);

    await().atMost(Duration.ofSeconds(3)).until(() -> RecordingSnapshotStore.savesOf(second).size() == 1);
    assertThat(RecordingSnapshotStore.savesOf(first)).containsExactly(5L);
    assertThat(RecordingSnapshotStore.savesOf(second)).containsExactly(3L);
  }

  @Test
  void theTwoNewestSnapshotsAreKeptAndRecoveryStartsFromTheNewest() {
    start(3);
    assertThat(sendUpTo(2, 14)).last().isEqualTo(new Sent(14, "m14"));
    assertThat(RecordingSnapshotStore.savesOf(persistenceId)).containsExactly(3L, 8L, 13L);
    // once 13 is stored, what is two intervals older (up to 3) goes
    await().atMost(Duration.ofSeconds(3)).until(() -> RecordingSnapshotStore.storedOf(persistenceId).equals(List.of(8L, 13L)));

    testKit.stop(conversation);
    // without its events: what the restarted conversation knows comes from the snapshot at 13
    PersistenceTestKit.create(testKit.system()).clearByIdPreservingSeqNumbers(persistenceId);
    ActorRef<Command> again = testKit.spawn(Conversation.create(id, ProjectionTags.of(id), SETTINGS, Clock.systemUTC(), self -> {}));
    TestProbe<Conversation.Update> subscriber = testKit.createTestProbe();
    again.tell(new Conversation.Subscribe("alice", -1, subscriber.ref(), 1));
    assertThat(((Conversation.Subscribed) subscriber.receiveMessage()).lastSeq()).isEqualTo(13);
    // a retry of a send from before the snapshot finds its key (from the snapshot's window)
    again.tell(new Send("alice", "m12", "text 12", replies.ref()));
    replies.expectMessage(new Sent(12, "m12"));
  }
}
