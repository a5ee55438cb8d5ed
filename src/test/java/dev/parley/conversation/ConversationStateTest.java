package dev.parley.conversation;

import static org.assertj.core.api.Assertions.assertThat;

import dev.parley.conversation.ConversationState.Limits;
import dev.parley.conversation.TimelineEvent.Created;
import dev.parley.conversation.TimelineEvent.MemberJoined;
import dev.parley.conversation.TimelineEvent.MemberLeft;
import dev.parley.conversation.TimelineEvent.MessageDeleted;
import dev.parley.conversation.TimelineEvent.MessageEdited;
import dev.parley.conversation.TimelineEvent.MessagePosted;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class ConversationStateTest {
  private static final Limits LIMITS = new Limits(4, 3);

  private static ConversationState applyAll(List<TimelineEvent> events) {
    ConversationState state = ConversationState.EMPTY;
    for (TimelineEvent event : events) state = state.apply(event, LIMITS);
    return state;
  }

  /** Created (seq 1) and then {@code messages} messages by alice, seq 2 onwards. */
  private static List<TimelineEvent> timeline(int messages) {
    List<TimelineEvent> events = new ArrayList<>();
    events.add(new Created(1, 100, "alice", "Lunch", List.of("alice", "bob")));
    for (int i = 1; i <= messages; i++) events.add(new MessagePosted(i + 1, 100 + i, "alice", "m" + i, "text " + i));
    return events;
  }

  // ---- window math ----------------------------------------------------------------------------

  @Test
  void emptyStateHasNoWindowAndDoesNotExist() {
    ConversationState empty = ConversationState.EMPTY;

    assertThat(empty.exists()).isFalse();
    assertThat(empty.lastSeq()).isZero();
    assertThat(empty.windowStart()).isEqualTo(1);
    assertThat(empty.recentBetween(1, 10)).isEmpty();
    assertThat(empty.recentBetween(Long.MIN_VALUE, Long.MAX_VALUE)).isEmpty();
    assertThat(empty.recentEvent(0)).isEmpty();
    assertThat(empty.recentEvent(1)).isEmpty();
  }

  @Test
  void windowStartsAtSeqOneUntilTheWindowIsFull() {
    assertThat(applyAll(timeline(3)).windowStart()).isEqualTo(1);
  }

  @Test
  void windowStartsAtTheOldestKeptSeqOnceEventsAreDropped() {
    ConversationState state = applyAll(timeline(6)); // seqs 1..7, window 4

    assertThat(state.windowStart()).isEqualTo(4);
    assertThat(state.recent()).extracting(TimelineEvent::seq).containsExactly(4L, 5L, 6L, 7L);
  }

  @Test
  void recentBetweenTheWholeWindowIsTheWindow() {
    List<TimelineEvent> events = timeline(6);

    assertThat(applyAll(events).recentBetween(4, 7)).isEqualTo(events.subList(3, 7));
  }

  @Test
  void recentBetweenIsClippedToTheWindowBelow() {
    List<TimelineEvent> events = timeline(6);

    assertThat(applyAll(events).recentBetween(1, 5)).isEqualTo(events.subList(3, 5));
  }

  @Test
  void recentBetweenIsClippedToTheLastSeqAbove() {
    List<TimelineEvent> events = timeline(6);

    assertThat(applyAll(events).recentBetween(6, 100)).isEqualTo(events.subList(5, 7));
    assertThat(applyAll(events).recentBetween(Long.MIN_VALUE, Long.MAX_VALUE)).isEqualTo(events.subList(3, 7));
  }

  @Test
  void recentBetweenOneSeqIsThatEvent() {
    List<TimelineEvent> events = timeline(6);
    ConversationState state = applyAll(events);

    assertThat(state.recentBetween(4, 4)).containsExactly(events.get(3));
    assertThat(state.recentBetween(7, 7)).containsExactly(events.get(6));
  }

  @Test
  void recentBetweenEntirelyBelowTheWindowIsEmpty() {
    assertThat(applyAll(timeline(6)).recentBetween(1, 3)).isEmpty();
  }

  @Test
  void recentBetweenEntirelyAboveTheLastSeqIsEmpty() {
    assertThat(applyAll(timeline(6)).recentBetween(8, 20)).isEmpty();
  }

  @Test
  void recentBetweenAnEmptyRangeIsEmpty() {
    ConversationState state = applyAll(timeline(6));

    assertThat(state.recentBetween(6, 5)).isEmpty();
    assertThat(state.recentBetween(7, 4)).isEmpty();
    assertThat(state.recentBetween(6, 1)).isEmpty();
  }

  @Test
  void recentBetweenIsACopyThatLaterEventsDoNotChange() {
    ConversationState state = applyAll(timeline(2));
    List<TimelineEvent> page = state.recentBetween(1, 3);

    state.apply(new MessagePosted(4, 200, "alice", "late", "late"), LIMITS);

    assertThat(page).extracting(TimelineEvent::seq).containsExactly(1L, 2L, 3L);
  }

  @Test
  void recentEventFindsEachSeqOfTheWindow() {
    List<TimelineEvent> events = timeline(6);
    ConversationState state = applyAll(events);

    for (long seq = 4; seq <= 7; seq++) assertThat(state.recentEvent(seq)).contains(events.get((int) seq - 1));
  }

  @Test
  void recentEventOutsideTheWindowIsEmpty() {
    ConversationState state = applyAll(timeline(6));

    assertThat(state.recentEvent(3)).isEmpty();
    assertThat(state.recentEvent(8)).isEmpty();
    assertThat(state.recentEvent(0)).isEmpty();
    assertThat(state.recentEvent(-1)).isEmpty();
    assertThat(state.recentEvent(Long.MAX_VALUE)).isEmpty();
  }

  // ---- events ---------------------------------------------------------------------------------

  @Test
  void createdSetsTitleCreatorAndMembers() {
    ConversationState state = applyAll(timeline(0));

    assertThat(state.exists()).isTrue();
    assertThat(state.title()).isEqualTo("Lunch");
    assertThat(state.createdBy()).isEqualTo("alice");
    assertThat(state.members()).containsExactlyInAnyOrder("alice", "bob");
    assertThat(state.lastSeq()).isEqualTo(1);
  }

  @Test
  void joinAndLeaveChangeTheMembers() {
    List<TimelineEvent> events = new ArrayList<>(timeline(0));
    events.add(new MemberJoined(2, 101, "carol", "alice"));
    events.add(new MemberLeft(3, 102, "bob"));

    ConversationState state = applyAll(events);

    assertThat(state.members()).containsExactlyInAnyOrder("alice", "carol");
    assertThat(state.lastSeq()).isEqualTo(3);
  }

  @Test
  void editAndDeleteAdvanceTheSeqAndStayInTheWindow() {
    List<TimelineEvent> events = new ArrayList<>(timeline(1));
    events.add(new MessageEdited(3, 102, "alice", 2, "new"));
    events.add(new MessageDeleted(4, 103, "alice", 2));

    ConversationState state = applyAll(events);

    assertThat(state.lastSeq()).isEqualTo(4);
    assertThat(state.recent()).isEqualTo(events);
  }

  @Test
  void postedMessagesAreRememberedBySenderAndClientMsgId() {
    ConversationState state = applyAll(timeline(2));

    assertThat(state.seqOfSend("alice", "m1")).contains(2L);
    assertThat(state.seqOfSend("alice", "m2")).contains(3L);
    assertThat(state.seqOfSend("bob", "m1")).isEmpty();
  }

  @Test
  void onlyTheNewestIdempotencyKeysAreRemembered() {
    ConversationState state = applyAll(timeline(5));

    assertThat(state.seqOfSend("alice", "m1")).isEmpty();
    assertThat(state.seqOfSend("alice", "m2")).isEmpty();
    assertThat(state.seqOfSend("alice", "m3")).contains(4L);
    assertThat(state.sentKeys()).hasSize(3);
    assertThat(state.sentKeyOrder()).hasSize(3);
  }

  @Test
  void windowsStayBoundedOverALongTimeline() {
    ConversationState state = applyAll(timeline(1_000));

    assertThat(state.lastSeq()).isEqualTo(1_001);
    assertThat(state.recent()).hasSize(4);
    assertThat(state.sentKeys()).hasSize(3);
    assertThat(state.sentKeyOrder()).containsExactly(
        ConversationState.sendKey("alice", "m998"), ConversationState.sendKey("alice", "m999"), ConversationState.sendKey("alice", "m1000"));
  }

  @Test
  void applyLeavesThePreviousStateUnchanged() {
    ConversationState before = applyAll(timeline(4));
    ConversationState copy = ConversationState.fromSnapshot(before.toSnapshot());

    before.apply(new MemberJoined(6, 200, "carol", "alice"), LIMITS);

    assertThat(before).isEqualTo(copy);
  }

  // ---- snapshots ------------------------------------------------------------------------------

  @Test
  void snapshotRoundTripOfTheEmptyStateIsEqual() {
    assertThat(ConversationState.fromSnapshot(ConversationState.EMPTY.toSnapshot())).isEqualTo(ConversationState.EMPTY);
  }

  @Test
  void snapshotRoundTripKeepsEveryField() {
    List<TimelineEvent> events = new ArrayList<>(timeline(5));
    events.add(new MemberJoined(7, 107, "carol", "bob"));
    events.add(new MessageEdited(8, 108, "alice", 6, "edited"));
    ConversationState state = applyAll(events);

    ConversationState restored = ConversationState.fromSnapshot(state.toSnapshot());

    assertThat(restored).isEqualTo(state);
    assertThat(restored.title()).isEqualTo("Lunch");
    assertThat(restored.createdBy()).isEqualTo("alice");
    assertThat(restored.members()).containsExactlyInAnyOrder("alice", "bob", "carol");
    assertThat(restored.lastSeq()).isEqualTo(8);
    assertThat(restored.recent()).isEqualTo(events.subList(4, 8));
    assertThat(restored.sentKeyOrder()).isEqualTo(state.sentKeyOrder());
    assertThat(restored.seqOfSend("alice", "m5")).contains(6L);
    assertThat(restored.windowStart()).isEqualTo(5);
  }

  @Test
  void snapshotRoundTripKeepsANullTitle() {
    ConversationState state = applyAll(List.of(new Created(1, 100, "alice", null, List.of("alice"))));

    assertThat(ConversationState.fromSnapshot(state.toSnapshot())).isEqualTo(state);
  }

  @Test
  void snapshotKeepsIdempotencyKeysInOrderWithTheirSeqs() {
    ConversationState.Snapshot snapshot = applyAll(timeline(5)).toSnapshot();

    assertThat(snapshot.sentKeyOrder())
        .containsExactly(
            ConversationState.sendKey("alice", "m3"), ConversationState.sendKey("alice", "m4"), ConversationState.sendKey("alice", "m5"));
    assertThat(snapshot.sentKeySeqs()).containsExactly(4L, 5L, 6L);
  }

  @Test
  void restoredStateContinuesLikeTheOriginal() {
    ConversationState state = applyAll(timeline(5));
    TimelineEvent next = new MessagePosted(7, 107, "bob", "b1", "hi");

    assertThat(ConversationState.fromSnapshot(state.toSnapshot()).apply(next, LIMITS)).isEqualTo(state.apply(next, LIMITS));
  }
}
