package dev.parley.bench;

import static org.assertj.core.api.Assertions.assertThat;

import dev.parley.bench.DeliveryTracker.Delivery;
import java.util.List;
import org.junit.jupiter.api.Test;

class DeliveryTrackerTest {

  private static final String ROOM = "room";
  private static final int ALICE = 0;
  private static final int BOB = 1;

  private final DeliveryTracker tracker = new DeliveryTracker();

  DeliveryTrackerTest() {
    tracker.expectSubscribers(ROOM, List.of(ALICE, BOB));
  }

  @Test
  void aStreamDeliveredOnceInOrderToEveryoneIsClean() {
    for (long seq = 1; seq <= 3; seq++) {
      tracker.acked(ROOM, seq, "m" + seq);
      assertThat(tracker.delivered(ALICE, ROOM, seq)).isEqualTo(Delivery.IN_ORDER);
      assertThat(tracker.delivered(BOB, ROOM, seq)).isEqualTo(Delivery.IN_ORDER);
    }

    DeliveryTracker.Counts counts = tracker.counts();

    assertThat(counts.ackedMessages()).isEqualTo(3);
    assertThat(counts.clean()).isTrue();
    assertThat(tracker.cursor(BOB, ROOM)).isEqualTo(3);
  }

  @Test
  void aSkippedSeqIsCountedAsAGap() {
    tracker.delivered(ALICE, ROOM, 1);
    tracker.delivered(ALICE, ROOM, 2);

    assertThat(tracker.delivered(ALICE, ROOM, 5)).isEqualTo(Delivery.AFTER_GAP);

    assertThat(tracker.counts().gapSeqs()).isEqualTo(2);
    assertThat(tracker.counts().clean()).isFalse();
  }

  @Test
  void anEventDeliveredTwiceIsCountedAsADuplicate() {
    tracker.delivered(ALICE, ROOM, 1);
    tracker.delivered(ALICE, ROOM, 2);

    assertThat(tracker.delivered(ALICE, ROOM, 2)).isEqualTo(Delivery.DUPLICATE);
    assertThat(tracker.delivered(ALICE, ROOM, 1)).isEqualTo(Delivery.DUPLICATE);

    assertThat(tracker.counts().duplicateDeliveries()).isEqualTo(2);
    assertThat(tracker.counts().gapSeqs()).isZero();
  }

  @Test
  void anAckedMessageNobodyReceivedIsLost() {
    tracker.acked(ROOM, 1, "m1");

    DeliveryTracker.Counts counts = tracker.counts();

    assertThat(counts.lostMessages()).isEqualTo(1);
    assertThat(counts.missingDeliveries()).isEqualTo(2);
    assertThat(tracker.undeliveredMessages()).isEqualTo(1);
  }

  @Test
  void anAckedMessageOneSubscriberMissedIsLostToThatSubscriber() {
    tracker.acked(ROOM, 1, "m1");
    tracker.delivered(ALICE, ROOM, 1);

    assertThat(tracker.counts().lostMessages()).isEqualTo(1);
    assertThat(tracker.counts().missingDeliveries()).isEqualTo(1);

    tracker.delivered(BOB, ROOM, 1);
    assertThat(tracker.counts().lostMessages()).isZero();
  }

  @Test
  void aDeliveryBeforeItsAckStillCounts() {
    tracker.delivered(ALICE, ROOM, 1);
    tracker.delivered(BOB, ROOM, 1);
    tracker.acked(ROOM, 1, "m1");

    assertThat(tracker.counts().lostMessages()).isZero();
  }

  @Test
  void aRetryAckedWithTheSameSeqIsFineButWithANewSeqIsADuplicatePost() {
    tracker.acked(ROOM, 1, "m1");
    tracker.acked(ROOM, 1, "m1");
    assertThat(tracker.counts().duplicatePosts()).isZero();

    tracker.acked(ROOM, 2, "m1");
    assertThat(tracker.counts().duplicatePosts()).isEqualTo(1);
  }

  @Test
  void aResumeTheServerCouldNotFillMovesTheCursorAndLeavesTheSkippedMessagesLost() {
    tracker.acked(ROOM, 1, "m1");
    tracker.delivered(BOB, ROOM, 1);
    tracker.acked(ROOM, 2, "m2");

    tracker.resumeNotRecovered(ALICE, ROOM, 2);

    assertThat(tracker.cursor(ALICE, ROOM)).isEqualTo(2);
    DeliveryTracker.Counts counts = tracker.counts();
    assertThat(counts.unrecoveredResumes()).isEqualTo(1);
    assertThat(counts.lostMessages()).isEqualTo(2);
  }
}
