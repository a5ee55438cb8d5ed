package dev.parley.presence;

import static org.assertj.core.api.Assertions.assertThat;

import dev.parley.presence.PeerSequence.Verdict;
import org.junit.jupiter.api.Test;

/** How a hub follows another node's numbered batches: in order, a gap asks for a snapshot once per wait. */
class PeerSequenceTest {

  @Test
  void batchesBeforeTheFirstSnapshotAskForOneAndWait() {
    PeerSequence s = new PeerSequence(2_000);
    assertThat(s.onBatch(5, 1_000)).isEqualTo(Verdict.RESYNC);
    assertThat(s.onBatch(6, 1_100)).isEqualTo(Verdict.WAIT);
    assertThat(s.onTip(6, 1_200)).isFalse();
    assertThat(s.onBatch(7, 3_100)).as("the request went unanswered for the wait").isEqualTo(Verdict.RESYNC);
  }

  @Test
  void afterASnapshotBatchesApplyInOrderAndOldOnesAreSkipped() {
    PeerSequence s = new PeerSequence(2_000);
    assertThat(s.onSnapshotPart(10, 0)).isTrue();
    assertThat(s.onSnapshotPart(10, 1)).isTrue();
    s.snapshotApplied(10);
    assertThat(s.onBatch(9, 0)).isEqualTo(Verdict.SKIP);
    assertThat(s.onBatch(10, 0)).isEqualTo(Verdict.SKIP);
    assertThat(s.onBatch(11, 0)).isEqualTo(Verdict.APPLY);
    assertThat(s.onBatch(12, 0)).isEqualTo(Verdict.APPLY);
    assertThat(s.applied()).isEqualTo(12);
    assertThat(s.onTip(12, 0)).isFalse();
  }

  @Test
  void aMissingBatchOrATipAheadAsksForASnapshot() {
    PeerSequence s = new PeerSequence(2_000);
    s.onSnapshotPart(3, 0);
    s.snapshotApplied(3);
    assertThat(s.onBatch(5, 1_000)).as("4 was lost").isEqualTo(Verdict.RESYNC);
    assertThat(s.onBatch(6, 1_050)).isEqualTo(Verdict.WAIT);
    s.onSnapshotPart(6, 0);
    s.snapshotApplied(6);
    assertThat(s.onBatch(7, 1_100)).isEqualTo(Verdict.APPLY);
    assertThat(s.onTip(8, 1_200)).as("the last batch, 8, was lost: only the tip shows it").isTrue();
  }

  @Test
  void aSnapshotPartOutOfTurnDropsTheSnapshot() {
    PeerSequence s = new PeerSequence(2_000);
    assertThat(s.onSnapshotPart(4, 0)).isTrue();
    assertThat(s.onSnapshotPart(4, 2)).as("part 1 was lost").isFalse();
    assertThat(s.onSnapshotPart(4, 3)).isFalse();
    assertThat(s.applied()).isEqualTo(-1);
  }
}
