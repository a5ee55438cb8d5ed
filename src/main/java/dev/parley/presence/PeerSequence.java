package dev.parley.presence;

/**
 * How far this node has applied one other node's batches ({@link PresenceSync}), and whether it is
 * waiting for that node's snapshot. It decides; the {@link PresenceHub} applies the entries.
 * Not thread-safe: confined to the hub.
 *
 * <p>A node's batches are numbered 1, 2, 3... and arrive in order (Artery keeps the order between
 * two actors) unless one is lost: a batch that is not the next one, or a {@link PresenceSync.Tip}
 * ahead of what was applied, means a loss, and the cure is a snapshot (everything the node has,
 * as of some batch number), after which the batches continue from that number.
 */
final class PeerSequence {

  /** What to do with a batch. */
  enum Verdict {
    APPLY,
    /** Already applied (a batch before the snapshot in force). */
    SKIP,
    /** A batch is missing: skip this one and ask the node for a snapshot. */
    RESYNC,
    /** A batch is missing and a snapshot was asked for a moment ago: skip this one, ask nothing more yet. */
    WAIT
  }

  /** Nothing applied yet: every batch is a gap until the first snapshot. */
  private long applied = -1;
  /** Whether a snapshot was asked for and has not come yet, and when it was asked for (ms). */
  private boolean asked;
  private long askedAt;
  /** The snapshot being received: its batch number and the next part expected; -1: none. */
  private long incomingSeq = -1;
  private int nextPart;

  private final long askAgainAfterMs;

  /** {@code askAgainAfterMs}: how long an unanswered snapshot request stands before another is sent. */
  PeerSequence(long askAgainAfterMs) {
    this.askAgainAfterMs = askAgainAfterMs;
  }

  long applied() {
    return applied;
  }

  Verdict onBatch(long seq, long nowMs) {
    if (applied >= 0 && seq == applied + 1) {
      applied = seq;
      return Verdict.APPLY;
    }
    if (applied >= 0 && seq <= applied) return Verdict.SKIP;
    return gap(nowMs);
  }

  /** The node's latest batch number: true if this node should ask for a snapshot. */
  boolean onTip(long seq, long nowMs) {
    if (applied >= 0 && seq <= applied) return false;
    return gap(nowMs) == Verdict.RESYNC;
  }

  /**
   * A snapshot part: true if it is to be collected (a first part, or the next part of the snapshot
   * being collected); a part out of turn drops the snapshot being collected.
   */
  boolean onSnapshotPart(long seq, int part) {
    if (part == 0) {
      incomingSeq = seq;
      nextPart = 1;
      return true;
    }
    if (seq == incomingSeq && part == nextPart) {
      nextPart++;
      return true;
    }
    incomingSeq = -1;
    return false;
  }

  /** The snapshot's last part was collected: it is in force, batches continue after {@code seq}. */
  void snapshotApplied(long seq) {
    applied = seq;
    asked = false;
    incomingSeq = -1;
  }

  private Verdict gap(long nowMs) {
    if (asked && nowMs - askedAt < askAgainAfterMs) return Verdict.WAIT;
    asked = true;
    askedAt = nowMs;
    return Verdict.RESYNC;
  }
}
