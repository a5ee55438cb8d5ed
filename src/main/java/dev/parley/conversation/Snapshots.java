package dev.parley.conversation;

import com.typesafe.config.ConfigFactory;
import java.time.Duration;
import org.apache.pekko.actor.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Adapter;
import org.apache.pekko.pattern.Patterns;
import org.apache.pekko.persistence.Persistence;
import org.apache.pekko.persistence.SnapshotProtocol;
import org.apache.pekko.persistence.SnapshotSelectionCriteria;

/**
 * Where a conversation's snapshots fall, and which old ones go (issue 18, the send→ack tail).
 *
 * <p>Every {@code every} events, as Pekko's {@code RetentionCriteria.snapshotEvery(every, 2)}, but
 * at points shifted by a phase taken from the conversation's id ({@code phase + k * every}), not at
 * the multiples of {@code every}. Why: after a write that reaches a point, persistence typed saves
 * the snapshot and holds that write's acks, and every command that arrives meanwhile, until the
 * snapshot store answers ({@code Running.StoringSnapshot}); the store is one actor on the pool the
 * read side shares, and a save serializes the whole state (the recent window and the idempotency
 * keys; ~2 ms of PostgreSQL for a 256-event window). Conversations that move in step (every
 * conversation of a load test, a bulk import, conversations started together at the same pace) all
 * reached a multiple together and queued their saves in one burst: at 4,000 sends/s over 100
 * conversations, 100 snapshots every 2.5 s held the acks around each multiple of 100 for 180–280
 * ms, against 15–40 ms between them, and set the run's p99 (benchmarks.md, 2026-12-06 third
 * session). Shifted, the same snapshots come one by one, each holding only its own conversation
 * for one save.
 *
 * <p>Retention as before: once a snapshot is stored, the ones more than two intervals older are
 * deleted (the two newest stay); a failed or lost deletion leaves an old row, never a wrong state.
 */
final class Snapshots {

  /** How long a deletion is waited for; nobody needs its answer. */
  static final Duration DELETE_TIMEOUT = Duration.ofSeconds(30);

  private static final int KEEP = 2;

  private final int every;
  private final int phase;

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

  /** Whether the state after event {@code seq} is snapshotted. */
  boolean isPoint(long seq) {
    return Math.floorMod(seq - phase, every) == 0;
  }

  /** Snapshots with a seq at most this are deleted once a snapshot at {@code savedSeq} is stored. */
  long deleteUpTo(long savedSeq) {
    return savedSeq - (long) KEEP * every;
  }

  /** The default snapshot store (the one persistence typed uses for the entity), as a classic actor. */
  static ActorRef store(ActorSystem<?> system) {
    return Persistence.get(Adapter.toClassic(system)).snapshotStoreFor("", ConfigFactory.empty());
  }

  /** Asks {@code store} to delete the snapshots up to {@code maxSeq}; the answer is not needed. */
  static void deleteUpTo(ActorRef store, String persistenceId, long maxSeq) {
    if (maxSeq <= 0) return;
    Patterns.ask(
        store,
        new SnapshotProtocol.DeleteSnapshots(persistenceId, SnapshotSelectionCriteria.create(maxSeq, Long.MAX_VALUE)),
        DELETE_TIMEOUT);
  }
}
