package dev.parley.conversation;

import com.typesafe.config.ConfigFactory;
import java.time.Duration;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.actor.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Adapter;
import org.apache.pekko.pattern.Patterns;
import org.apache.pekko.persistence.Persistence;
import org.apache.pekko.persistence.SaveSnapshotSuccess;
import org.apache.pekko.persistence.SnapshotMetadata;
import org.apache.pekko.persistence.SnapshotProtocol;
import org.apache.pekko.persistence.SnapshotSelectionCriteria;

/**
 * A conversation's snapshots, saved beside its writes instead of in their way (issue 18, the
 * send→ack tail).
 *
 * <p>Why not Pekko's {@code RetentionCriteria.snapshotEvery}: after a write whose events cross a
 * multiple of the interval, persistence typed saves the snapshot and only then runs the write's side
 * effects, so the write's acks wait for the snapshot store's round trip, and every command that
 * arrives meanwhile is stashed behind it ({@code Running.StoringSnapshot}). The snapshot store is
 * the plugin's: a Slick call on the pool the read side shares, serializing the whole state (the
 * recent window and the idempotency keys). Measured at 4,000 sends/s 1:1 (100 conversations,
 * benchmarks.md 2026-12-06 third session): the acks around each multiple of 100 took 180–220 ms,
 * against 15–40 ms between them, and set the run's p99.
 *
 * <p>Here a snapshot is saved by asking the snapshot store directly, after the write is durable
 * and its acks are sent; nothing waits for it. What recovery needs is unchanged: it loads the
 * latest snapshot the store holds (the same {@link Conversation#SNAPSHOTS} form, the same store)
 * and replays the events after it, and an event is never deleted, so a snapshot that is late, lost
 * or failed costs a longer replay, never a wrong state. The state it saves is immutable and already
 * durable. The interval holds as before (a snapshot each time a write crosses a point of the
 * conversation's grid of {@code every} events), with at most one save in flight per conversation: a
 * point crossed while one is saving is saved (with the then current state) when it ends, so a slow
 * store bounds the snapshots' rate instead of queueing them. Once a save succeeds, the snapshots
 * more than two intervals older are deleted, which keeps the two newest as Pekko's {@code
 * snapshotEvery(n, 2)} did.
 *
 * <p>Each conversation's grid is shifted by a phase taken from its id (points at {@code phase + k *
 * every}, not at the multiples of {@code every}): conversations that move in step (every
 * conversation of a load test, a bulk import, conversations started together at the same pace)
 * otherwise all cross a multiple together and save their snapshots in one burst, each a whole
 * state to serialize on the actor threads and to write (~2 ms of PostgreSQL for a 256-event
 * window): at 4,000 sends/s over 100 conversations, 100 snapshots every 2.5 s stalled every ack of
 * the node for 150–250 ms even once no ack waited for a snapshot (benchmarks.md, 2026-12-06 third
 * session). Shifted, the same snapshots come one by one.
 *
 * <p>Owned by one entity instance and used on its thread only; the store's answer comes back to
 * the entity as a message ({@link #saved}).
 */
final class Snapshots {

  /** The longest a save is waited for (the snapshot store's breaker has its own call timeout). */
  static final Duration SAVE_TIMEOUT = Duration.ofSeconds(30);

  private static final int KEEP = 2;

  private final int every;
  private final int phase;
  private boolean saving;
  private boolean due;

  /** @param phase where this conversation's grid starts, 0 ≤ phase < every (see {@link #phaseOf}) */
  Snapshots(int every, int phase) {
    if (every < 1) throw new IllegalArgumentException("snapshot interval must be at least 1");
    if (phase < 0 || phase >= every) throw new IllegalArgumentException("snapshot phase must be in [0, every)");
    this.every = every;
    this.phase = phase;
  }

  /** A conversation's phase: from its id, so it is the same in every incarnation and on every node. */
  static int phaseOf(String conversationId, int every) {
    return Math.floorMod(conversationId.hashCode() * 0x9E3779B9, every);
  }

  /**
   * A write took the conversation's last seq from {@code before} to {@code after} and is durable:
   * true if the caller is to save a snapshot of the state now (it then calls {@link #saved} once
   * the store answers).
   */
  boolean written(long before, long after) {
    if (Math.floorDiv(after - phase, every) > Math.floorDiv(before - phase, every)) due = true;
    return startIfDue();
  }

  /** The save the caller started has ended (saved or not): true if another is due now. */
  boolean saved() {
    saving = false;
    return startIfDue();
  }

  boolean isSaving() {
    return saving;
  }

  private boolean startIfDue() {
    if (!due || saving) return false;
    due = false;
    saving = true;
    return true;
  }

  /** Snapshots with a seq at most this are deleted once a snapshot at {@code savedSeq} is stored. */
  long deleteUpTo(long savedSeq) {
    return savedSeq - (long) KEEP * every;
  }

  /** The default snapshot store (the one persistence typed uses for the entity), as a classic actor. */
  static ActorRef store(ActorSystem<?> system) {
    return Persistence.get(Adapter.toClassic(system)).snapshotStoreFor("", ConfigFactory.empty());
  }

  /** Asks {@code store} to save {@code snapshot} as of {@code seq}: completes true once it is stored. */
  static CompletionStage<Boolean> save(ActorRef store, String persistenceId, long seq, Object snapshot) {
    return Patterns.ask(store, new SnapshotProtocol.SaveSnapshot(new SnapshotMetadata(persistenceId, seq, 0L), snapshot), SAVE_TIMEOUT)
        .thenApply(answer -> answer instanceof SaveSnapshotSuccess);
  }

  /** Asks {@code store} to delete the snapshots up to {@code maxSeq}; the answer is not needed. */
  static void deleteUpTo(ActorRef store, String persistenceId, long maxSeq) {
    if (maxSeq <= 0) return;
    Patterns.ask(
        store,
        new SnapshotProtocol.DeleteSnapshots(persistenceId, SnapshotSelectionCriteria.create(maxSeq, Long.MAX_VALUE)),
        SAVE_TIMEOUT);
  }
}
