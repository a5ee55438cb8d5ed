package dev.parley.conversation;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.typesafe.config.ConfigFactory;
import dev.parley.ParleyConfig;
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
import org.apache.pekko.persistence.SelectedSnapshot;
import org.apache.pekko.persistence.SnapshotMetadata;
import org.apache.pekko.persistence.SnapshotSelectionCriteria;
import org.apache.pekko.persistence.snapshot.japi.SnapshotStore;
import org.apache.pekko.persistence.testkit.PersistenceTestKitPlugin;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.apache.pekko.dispatch.Futures;
import org.apache.pekko.persistence.testkit.javadsl.PersistenceTestKit;
import scala.concurrent.Future;
import scala.concurrent.Promise;

/**
 * A conversation's snapshots are saved beside its writes (issue 18, {@link Snapshots}): a send is
 * acknowledged once its event is durable, whether or not the snapshot store has answered. Pekko's
 * {@code RetentionCriteria.snapshotEvery} held the acks of the write that crossed the interval, and
 * stashed every later command, until the store answered; a store that holds its saves (as {@link
 * HeldSnapshotStore} here does until the test releases them) shows the difference.
 */
class ConversationSnapshotTest {

  private static final int SNAPSHOT_EVERY = 5;

  private static final ActorTestKit testKit =
      ActorTestKit.create(
          ConfigFactory.parseString(
                  """
                  pekko.persistence.snapshot-store.plugin = "held-snapshot-store"
                  held-snapshot-store.class = "dev.parley.conversation.ConversationSnapshotTest$HeldSnapshotStore"
                  """)
              .withFallback(PersistenceTestKitPlugin.getInstance().config())
              .withFallback(ConfigFactory.parseResources("serialization.conf")));

  private static final ParleyConfig.ConversationSettings SETTINGS =
      new ParleyConfig.ConversationSettings(64, 64, SNAPSHOT_EVERY, Duration.ofHours(1), Duration.ofSeconds(3), Duration.ZERO);

  /** A snapshot store whose saves complete only when the test releases them; it keeps what it stored. */
  public static final class HeldSnapshotStore extends SnapshotStore {
    record Save(SnapshotMetadata metadata, Object snapshot, Promise<Void> done) {}

    static final List<Save> saves = new CopyOnWriteArrayList<>();
    static final Map<String, List<SelectedSnapshot>> stored = new ConcurrentHashMap<>();
    static final List<SnapshotSelectionCriteria> deletes = new CopyOnWriteArrayList<>();

    @Override
    public Future<Optional<SelectedSnapshot>> doLoadAsync(String persistenceId, SnapshotSelectionCriteria criteria) {
      return Futures.successful(
          stored.getOrDefault(persistenceId, List.of()).stream()
              .filter(s -> s.metadata().sequenceNr() <= criteria.maxSequenceNr())
              .max((a, b) -> Long.compare(a.metadata().sequenceNr(), b.metadata().sequenceNr())));
    }

    @Override
    public Future<Void> doSaveAsync(SnapshotMetadata metadata, Object snapshot) {
      Promise<Void> done = Futures.promise();
      saves.add(new Save(metadata, snapshot, done));
      return done.future();
    }

    @Override
    public Future<Void> doDeleteAsync(SnapshotMetadata metadata) {
      return Futures.successful(null);
    }

    @Override
    public Future<Void> doDeleteAsync(String persistenceId, SnapshotSelectionCriteria criteria) {
      deletes.add(criteria);
      stored.computeIfPresent(
          persistenceId,
          (id, list) -> new CopyOnWriteArrayList<>(list.stream().filter(s -> s.metadata().sequenceNr() > criteria.maxSequenceNr()).toList()));
      return Futures.successful(null);
    }

    static List<Save> savesOf(String persistenceId) {
      return saves.stream().filter(s -> s.metadata().persistenceId().equals(persistenceId)).toList();
    }

    /** The save is done: stored, then answered. */
    static void release(Save save) {
      stored.computeIfAbsent(save.metadata().persistenceId(), id -> new CopyOnWriteArrayList<>())
          .add(SelectedSnapshot.create(save.metadata(), save.snapshot()));
      save.done().trySuccess(null);
    }
  }

  private String id;
  private String persistenceId;
  private ActorRef<Command> conversation;
  private TestProbe<Reply> replies;

  @BeforeEach
  void start() {
    start(0);
  }

  /** A new conversation whose snapshot grid is shifted by {@code phase} ({@link Snapshots#phaseOf}). */
  private void start(int phase) {
    do id = "c-" + UUID.randomUUID(); while (Snapshots.phaseOf(id, SNAPSHOT_EVERY) != phase);
    persistenceId = Conversation.persistenceId(id).id();
    conversation = testKit.spawn(Conversation.create(id, SETTINGS, Clock.systemUTC(), self -> {}));
    replies = testKit.createTestProbe();
    conversation.tell(new Create("alice", List.of("bob"), "t", replies.ref()));
    replies.expectMessage(new Conversation.Accepted(1));
  }

  @AfterAll
  static void shutdown() {
    testKit.shutdownTestKit();
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
  void aSendIsAcknowledgedWhileItsSnapshotIsStillBeingSaved() {
    // seq 5 crosses the interval: its snapshot is asked for and held by the store
    assertThat(sendUpTo(2, 5)).last().isEqualTo(new Sent(5, "m5"));
    await().atMost(Duration.ofSeconds(3)).until(() -> HeldSnapshotStore.savesOf(persistenceId).size() == 1);

    // the snapshot is still unanswered, and the conversation goes on writing and acknowledging
    assertThat(sendUpTo(6, 8)).containsExactly(new Sent(6, "m6"), new Sent(7, "m7"), new Sent(8, "m8"));
    HeldSnapshotStore.Save held = HeldSnapshotStore.savesOf(persistenceId).get(0);
    assertThat(held.metadata().sequenceNr()).isEqualTo(5);
    assertThat(((ConversationState.Snapshot) held.snapshot()).lastSeq()).isEqualTo(5);
    assertThat(held.done().isCompleted()).isFalse();
    HeldSnapshotStore.release(held);
  }

  @Test
  void oneSaveAtATimeAndAnIntervalCrossedMeanwhileIsSavedWhenItEnds() {
    sendUpTo(2, 5);
    await().atMost(Duration.ofSeconds(3)).until(() -> HeldSnapshotStore.savesOf(persistenceId).size() == 1);
    // seq 10 crosses the next interval while seq 5's save is held: no second save yet
    sendUpTo(6, 12);
    assertThat(HeldSnapshotStore.savesOf(persistenceId)).hasSize(1);

    HeldSnapshotStore.release(HeldSnapshotStore.savesOf(persistenceId).get(0));

    // the due one is saved with the state as it is then
    await().atMost(Duration.ofSeconds(3)).until(() -> HeldSnapshotStore.savesOf(persistenceId).size() == 2);
    assertThat(HeldSnapshotStore.savesOf(persistenceId).get(1).metadata().sequenceNr()).isEqualTo(12);
    HeldSnapshotStore.release(HeldSnapshotStore.savesOf(persistenceId).get(1));
  }

  @Test
  void conversationsThatMoveInStepSaveTheirSnapshotsAtDifferentSeqs() {
    String first = persistenceId;
    sendUpTo(2, 5);
    start(3);
    String second = persistenceId;
    sendUpTo(2, 5);

    await()
        .atMost(Duration.ofSeconds(3))
        .until(() -> HeldSnapshotStore.savesOf(first).size() == 1 && HeldSnapshotStore.savesOf(second).size() == 1);
    assertThat(HeldSnapshotStore.savesOf(first)).extracting(s -> s.metadata().sequenceNr()).containsExactly(5L);
    assertThat(HeldSnapshotStore.savesOf(second)).extracting(s -> s.metadata().sequenceNr()).containsExactly(3L);
    HeldSnapshotStore.savesOf(first).forEach(HeldSnapshotStore::release);
    HeldSnapshotStore.savesOf(second).forEach(HeldSnapshotStore::release);
  }

  @Test
  void theTwoNewestSnapshotsAreKeptAndRecoveryStartsFromTheNewest() {
    for (long last = 5; last <= 15; last += 5) {
      sendUpTo(last - (last == 5 ? 3 : 4), last);
      int saves = (int) (last / 5);
      await().atMost(Duration.ofSeconds(3)).until(() -> HeldSnapshotStore.savesOf(persistenceId).size() == saves);
      HeldSnapshotStore.release(HeldSnapshotStore.savesOf(persistenceId).get(saves - 1));
    }
    // stored 5, 10, 15: once 15 is stored, what is two intervals older (up to 5) goes
    await()
        .atMost(Duration.ofSeconds(3))
        .untilAsserted(
            () ->
                assertThat(HeldSnapshotStore.stored.get(persistenceId))
                    .extracting(s -> s.metadata().sequenceNr())
                    .containsExactlyInAnyOrder(10L, 15L));

    testKit.stop(conversation);
    // without its events: what the restarted conversation knows comes from the snapshot at 15
    PersistenceTestKit.create(testKit.system()).clearByIdPreservingSeqNumbers(persistenceId);
    ActorRef<Command> again = testKit.spawn(Conversation.create(id, SETTINGS, Clock.systemUTC(), self -> {}));
    TestProbe<Conversation.Update> subscriber = testKit.createTestProbe();
    again.tell(new Conversation.Subscribe("alice", -1, subscriber.ref(), 1));
    assertThat(((Conversation.Subscribed) subscriber.receiveMessage()).lastSeq()).isEqualTo(15);
    // a retry of a send from before the restart finds its key (from the snapshot's window)
    again.tell(new Send("alice", "m14", "text 14", replies.ref()));
    replies.expectMessage(new Sent(14, "m14"));
  }
}
