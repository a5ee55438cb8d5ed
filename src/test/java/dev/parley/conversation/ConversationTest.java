package dev.parley.conversation;

import static org.assertj.core.api.Assertions.assertThat;

import com.typesafe.config.ConfigFactory;
import dev.parley.ErrorCode;
import dev.parley.conversation.Conversation.Accepted;
import dev.parley.conversation.Conversation.Command;
import dev.parley.conversation.Conversation.Create;
import dev.parley.conversation.Conversation.Delete;
import dev.parley.conversation.Conversation.Edit;
import dev.parley.conversation.Conversation.GetHistory;
import dev.parley.conversation.Conversation.HistoryPage;
import dev.parley.conversation.Conversation.Invite;
import dev.parley.conversation.Conversation.Leave;
import dev.parley.conversation.Conversation.Published;
import dev.parley.conversation.Conversation.Rejected;
import dev.parley.conversation.Conversation.Reply;
import dev.parley.conversation.Conversation.Send;
import dev.parley.conversation.Conversation.Sent;
import dev.parley.conversation.Conversation.Subscribe;
import dev.parley.conversation.Conversation.SubscribeRejected;
import dev.parley.conversation.Conversation.Subscribed;
import dev.parley.conversation.Conversation.Typing;
import dev.parley.conversation.Conversation.Unsubscribe;
import dev.parley.conversation.Conversation.Update;
import dev.parley.conversation.Conversation.UserTyping;
import dev.parley.conversation.TimelineEvent.Created;
import dev.parley.conversation.TimelineEvent.MemberJoined;
import dev.parley.conversation.TimelineEvent.MemberLeft;
import dev.parley.conversation.TimelineEvent.MessageDeleted;
import dev.parley.conversation.TimelineEvent.MessageEdited;
import dev.parley.conversation.TimelineEvent.MessagePosted;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.persistence.testkit.javadsl.EventSourcedBehaviorTestKit.CommandResult;
import org.apache.pekko.persistence.testkit.javadsl.EventSourcedBehaviorTestKit.CommandResultWithReply;
import org.apache.pekko.persistence.testkit.javadsl.EventSourcedBehaviorTestKit;
import org.apache.pekko.persistence.testkit.javadsl.SnapshotTestKit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The conversation entity, command by command, with Pekko's serialization checks of every command,
 * event and state (each is round-tripped through the real Jackson CBOR serializer and compared).
 * Small windows (4 recent events, 3 idempotency keys, a snapshot every 3 events) make every bound
 * reachable in a few commands.
 */
class ConversationTest {

  private static final ActorTestKit testKit =
      ActorTestKit.create(ConfigFactory.parseResources("serialization.conf").withFallback(EventSourcedBehaviorTestKit.config()));

  private static final int RECENT_WINDOW = 4;
  private static final int IDEMPOTENCY_WINDOW = 3;
  private static final int SNAPSHOT_EVERY = 3;
  private static final ConversationSettings SETTINGS =
      new ConversationSettings(
          RECENT_WINDOW, IDEMPOTENCY_WINDOW, SNAPSHOT_EVERY, Duration.ofHours(1), Duration.ofSeconds(3), Duration.ZERO);
  private static final Instant NOW = Instant.parse("2025-03-01T12:00:00Z");
  private static final long TS = NOW.toEpochMilli();

  private String id;
  private EventSourcedBehaviorTestKit<Command, TimelineEvent, ConversationState> conversation;

  @BeforeEach
  void startConversation() {
    // a conversation whose snapshot grid is the multiples of SNAPSHOT_EVERY (Snapshots.phaseOf), as the tests count
    do id = "c-" + UUID.randomUUID(); while (Snapshots.phaseOf(id, SNAPSHOT_EVERY) != 0);
    conversation =
        EventSourcedBehaviorTestKit.create(
            testKit.system(),
            Conversation.create(id, ProjectionTags.of(id), SETTINGS, Clock.fixed(NOW, ZoneOffset.UTC), self -> {}),
            EventSourcedBehaviorTestKit.enabledSerializationSettings().withVerifyEquality(true));
  }

  @AfterAll
  static void shutdown() {
    testKit.shutdownTestKit();
  }

  // ---- helpers --------------------------------------------------------------------------------

  private CommandResultWithReply<Command, TimelineEvent, ConversationState, Reply> create(String creator, String... members) {
    return conversation.<Reply>runCommand(replyTo -> new Create(creator, List.of(members), "Lunch", replyTo));
  }

  private CommandResultWithReply<Command, TimelineEvent, ConversationState, Reply> invite(String by, String user) {
    return conversation.<Reply>runCommand(replyTo -> new Invite(by, user, replyTo));
  }

  private CommandResultWithReply<Command, TimelineEvent, ConversationState, Reply> leave(String user) {
    return conversation.<Reply>runCommand(replyTo -> new Leave(user, replyTo));
  }

  private CommandResultWithReply<Command, TimelineEvent, ConversationState, Reply> send(
      String sender, String clientMsgId, String text) {
    return conversation.<Reply>runCommand(replyTo -> new Send(sender, clientMsgId, text, replyTo));
  }

  private CommandResultWithReply<Command, TimelineEvent, ConversationState, Reply> edit(String user, long target, String text) {
    return conversation.<Reply>runCommand(replyTo -> new Edit(user, target, text, replyTo));
  }

  private CommandResultWithReply<Command, TimelineEvent, ConversationState, Reply> delete(String user, long target) {
    return conversation.<Reply>runCommand(replyTo -> new Delete(user, target, replyTo));
  }

  private CommandResultWithReply<Command, TimelineEvent, ConversationState, Reply> history(String user, long before, int limit) {
    return conversation.<Reply>runCommand(replyTo -> new GetHistory(user, before, limit, replyTo));
  }

  private TestProbe<Update> subscriber() {
    return testKit.createTestProbe(Update.class);
  }

  private <U extends Update> U subscribe(String user, long since, TestProbe<Update> probe, Class<U> answer) {
    CommandResult<Command, TimelineEvent, ConversationState> result =
        conversation.runCommand(new Subscribe(user, since, probe.ref(), 7));
    assertThat(result.hasNoEvents()).isTrue();
    return probe.expectMessageClass(answer);
  }

  /** Creates alice's conversation with bob and posts {@code count} messages (m1, m2, ...) alternately by alice and bob. */
  private List<TimelineEvent> conversationWithMessages(int count) {
    List<TimelineEvent> events = new ArrayList<>(create("alice", "bob").events());
    for (int i = 1; i <= count; i++) events.addAll(send(i % 2 == 1 ? "alice" : "bob", "m" + i, "text " + i).events());
    return events;
  }

  private static void assertRejected(Reply reply, ErrorCode code) {
    assertThat(reply).isInstanceOf(Rejected.class);
    assertThat(((Rejected) reply).code()).isEqualTo(code);
  }

  private static MessagePosted posted(long seq, String sender, String clientMsgId, String text) {
    return new MessagePosted(seq, TS, sender, clientMsgId, text);
  }

  // ---- create ---------------------------------------------------------------------------------

  @Test
  void createPersistsCreatedWithSeqOneAndTheCreatorAsMember() {
    var result = create("alice", "bob", "carol");

    assertThat(result.reply()).isEqualTo(new Accepted(1));
    assertThat(result.events()).containsExactly(new Created(1, TS, "alice", "Lunch", List.of("alice", "bob", "carol")));
    assertThat(result.state().exists()).isTrue();
    assertThat(result.state().createdBy()).isEqualTo("alice");
    assertThat(result.state().title()).isEqualTo("Lunch");
    assertThat(result.state().members()).containsExactlyInAnyOrder("alice", "bob", "carol");
    assertThat(result.state().lastSeq()).isEqualTo(1);
  }

  @Test
  void createListsTheCreatorFirstAndEveryMemberOnce() {
    var result = create("alice", "bob", "alice", "bob");

    assertThat(result.eventOfType(Created.class).members()).containsExactly("alice", "bob");
  }

  @Test
  void createRetriedByItsCreatorIsAcceptedWithoutANewEvent() {
    create("alice", "bob");

    var retry = create("alice", "bob");

    assertThat(retry.reply()).isEqualTo(new Accepted(1));
    assertThat(retry.hasNoEvents()).isTrue();
    assertThat(retry.state().lastSeq()).isEqualTo(1);
  }

  @Test
  void createOfATakenIdByAnotherUserIsRejected() {
    create("alice", "bob");

    var other = create("mallory", "eve");

    assertRejected(other.reply(), ErrorCode.BAD_REQUEST);
    assertThat(other.hasNoEvents()).isTrue();
    assertThat(other.state().members()).containsExactlyInAnyOrder("alice", "bob");
  }

  @Test
  void createWithATooLongTitleIsRejected() {
    var result =
        conversation.<Reply>runCommand(replyTo -> new Create("alice", List.of(), "t".repeat(Conversation.MAX_TITLE_LENGTH + 1), replyTo));

    assertRejected(result.reply(), ErrorCode.TOO_LARGE);
    assertThat(result.hasNoEvents()).isTrue();
    assertThat(result.state().exists()).isFalse();
  }

  // ---- membership -----------------------------------------------------------------------------

  @Test
  void inviteByAMemberAddsTheUserWithTheNextSeq() {
    create("alice");

    var result = invite("alice", "bob");

    assertThat(result.reply()).isEqualTo(new Accepted(2));
    assertThat(result.events()).containsExactly(new MemberJoined(2, TS, "bob", "alice"));
    assertThat(result.state().isMember("bob")).isTrue();
  }

  @Test
  void inviteByANonMemberIsForbidden() {
    create("alice");

    var result = invite("mallory", "eve");

    assertRejected(result.reply(), ErrorCode.FORBIDDEN);
    assertThat(result.hasNoEvents()).isTrue();
    assertThat(result.state().isMember("eve")).isFalse();
  }

  @Test
  void inviteOfAnExistingMemberAnswersTheLastSeqWithoutANewEvent() {
    create("alice", "bob");
    send("alice", "m1", "hi");

    var result = invite("alice", "bob");

    assertThat(result.reply()).isEqualTo(new Accepted(2));
    assertThat(result.hasNoEvents()).isTrue();
  }

  @Test
  void leaveRemovesTheMemberWithTheNextSeq() {
    create("alice", "bob");

    var result = leave("bob");

    assertThat(result.reply()).isEqualTo(new Accepted(2));
    assertThat(result.events()).containsExactly(new MemberLeft(2, TS, "bob"));
    assertThat(result.state().members()).containsExactly("alice");
  }

  @Test
  void leaveByANonMemberIsForbidden() {
    create("alice");

    var result = leave("bob");

    assertRejected(result.reply(), ErrorCode.FORBIDDEN);
    assertThat(result.hasNoEvents()).isTrue();
  }

  @Test
  void aFormerMemberCannotSend() {
    create("alice", "bob");
    leave("bob");

    assertRejected(send("bob", "m1", "still here?").reply(), ErrorCode.FORBIDDEN);
  }

  // ---- send -----------------------------------------------------------------------------------

  @Test
  void sendPersistsTheMessageAndAnswersSentWithTheNextSeq() {
    create("alice", "bob");

    var result = send("bob", "m1", "hello");

    assertThat(result.reply()).isEqualTo(new Sent(2, "m1"));
    assertThat(result.events()).containsExactly(posted(2, "bob", "m1", "hello"));
    assertThat(result.state().lastSeq()).isEqualTo(2);
  }

  @Test
  void seqsAreGapFreeAcrossMixedEvents() {
    List<TimelineEvent> events = new ArrayList<>();
    events.addAll(create("alice", "bob").events());
    events.addAll(send("alice", "m1", "one").events());
    events.addAll(invite("bob", "carol").events());
    events.addAll(send("carol", "m1", "two").events());
    events.addAll(send("carol", "m1", "two again").events()); // idempotent retry: no event
    events.addAll(edit("carol", 4, "two, edited").events());
    events.addAll(invite("mallory", "eve").events()); // rejected: no event
    events.addAll(send("mallory", "x", "forbidden").events()); // rejected: no event
    events.addAll(delete("alice", 2).events());
    events.addAll(leave("bob").events());
    events.addAll(send("alice", "m2", "three").events());

    assertThat(events).extracting(TimelineEvent::seq).containsExactly(1L, 2L, 3L, 4L, 5L, 6L, 7L, 8L);
    assertThat(events)
        .extracting(e -> e.getClass().getSimpleName())
        .containsExactly(
            "Created", "MessagePosted", "MemberJoined", "MessagePosted", "MessageEdited", "MessageDeleted", "MemberLeft", "MessagePosted");
    assertThat(conversation.getState().lastSeq()).isEqualTo(8);
    assertThat(conversation.getState().recent()).isEqualTo(events.subList(4, 8));
  }

  @Test
  void sendRetriedWithTheSameClientMsgIdAnswersTheOriginalSeqAndPersistsNothing() {
    create("alice", "bob");
    send("alice", "m1", "hello");
    send("bob", "b1", "hi alice");

    var retry = send("alice", "m1", "hello");

    assertThat(retry.reply()).isEqualTo(new Sent(2, "m1"));
    assertThat(retry.hasNoEvents()).isTrue();
    assertThat(retry.state().lastSeq()).isEqualTo(3);
  }

  @Test
  void handoffPersistsAHandedOffEventOnceForTheSameKey() {
    create("alice", "bot:helper");
    send("alice", "m1", "I need a person");

    var handoff = conversation.<Reply>runCommand(replyTo -> new Conversation.Handoff("bot:helper", "h2-0", "requested", replyTo));
    var again = conversation.<Reply>runCommand(replyTo -> new Conversation.Handoff("bot:helper", "h2-0", "requested", replyTo));

    assertThat(handoff.reply()).isEqualTo(new Accepted(3));
    assertThat(handoff.events()).containsExactly(new TimelineEvent.HandedOff(3, TS, "bot:helper", "requested", "h2-0"));
    assertThat(again.reply()).isEqualTo(new Accepted(3));
    assertThat(again.hasNoEvents()).isTrue();
  }

  @Test
  void handoffByANonMemberIsForbidden() {
    create("alice");

    var handoff = conversation.<Reply>runCommand(replyTo -> new Conversation.Handoff("bot:helper", "h1-0", "requested", replyTo));

    assertThat(handoff.reply()).isEqualTo(new Rejected(ErrorCode.FORBIDDEN, "not a member of this conversation"));
    assertThat(handoff.hasNoEvents()).isTrue();
  }

  @Test
  void sameClientMsgIdFromAnotherSenderIsANewMessage() {
    create("alice", "bob");
    send("alice", "m1", "hello");

    var result = send("bob", "m1", "hello");

    assertThat(result.reply()).isEqualTo(new Sent(3, "m1"));
    assertThat(result.events()).containsExactly(posted(3, "bob", "m1", "hello"));
  }

  @Test
  void idempotencyWindowRemembersTheNewestKeys() {
    create("alice");
    send("alice", "m1", "one");
    send("alice", "m2", "two");
    send("alice", "m3", "three");
    send("alice", "m4", "four");

    // Window 3: m2, m3 and m4 are remembered.
    var retry = send("alice", "m2", "two");

    assertThat(retry.reply()).isEqualTo(new Sent(3, "m2"));
    assertThat(retry.hasNoEvents()).isTrue();
  }

  @Test
  void idempotencyKeyOlderThanTheWindowIsForgotten() {
    create("alice");
    send("alice", "m1", "one");
    send("alice", "m2", "two");
    send("alice", "m3", "three");
    send("alice", "m4", "four");

    var late = send("alice", "m1", "one");

    assertThat(late.reply()).isEqualTo(new Sent(6, "m1"));
    assertThat(late.events()).containsExactly(posted(6, "alice", "m1", "one"));
  }

  @Test
  void sendWhoseDeadlineHasPassedIsRefusedAndNotPersisted() {
    create("alice");

    var expired =
        conversation.<Reply>runCommand(replyTo -> new Send("alice", "m1", "stale", replyTo, NOW.toEpochMilli() - 1));
    assertRejected(expired.reply(), ErrorCode.UNAVAILABLE);
    assertThat(expired.hasNoEvents()).isTrue();

    var inTime =
        conversation.<Reply>runCommand(replyTo -> new Send("alice", "m1", "fresh", replyTo, NOW.toEpochMilli() + 1));
    assertThat(inTime.reply()).isEqualTo(new Sent(2, "m1"));
  }

  @Test
  void sendByANonMemberIsForbidden() {
    create("alice");

    var result = send("mallory", "m1", "hello");

    assertRejected(result.reply(), ErrorCode.FORBIDDEN);
    assertThat(result.hasNoEvents()).isTrue();
    assertThat(result.state().lastSeq()).isEqualTo(1);
  }

  @Test
  void sendByANonMemberIsForbiddenEvenWithAMembersClientMsgId() {
    create("alice");
    send("alice", "m1", "hello");

    assertRejected(send("mallory", "m1", "hello").reply(), ErrorCode.FORBIDDEN);
  }

  // ---- a conversation that was never created --------------------------------------------------

  @Test
  void commandsOnANeverCreatedConversationAreNotFound() {
    List<CommandResultWithReply<Command, TimelineEvent, ConversationState, Reply>> results =
        List.of(
            invite("alice", "bob"),
            leave("alice"),
            send("alice", "m1", "hello"),
            edit("alice", 1, "x"),
            delete("alice", 1),
            history("alice", 0, 10));

    for (var result : results) {
      assertRejected(result.reply(), ErrorCode.NOT_FOUND);
      assertThat(result.hasNoEvents()).isTrue();
    }
    assertThat(conversation.getState()).isEqualTo(ConversationState.EMPTY);
  }

  @Test
  void subscribeToANeverCreatedConversationIsNotFound() {
    SubscribeRejected rejected = subscribe("alice", 0, subscriber(), SubscribeRejected.class);

    assertThat(rejected.conversationId()).isEqualTo(id);
    assertThat(rejected.tag()).isEqualTo(7);
    assertThat(rejected.code()).isEqualTo(ErrorCode.NOT_FOUND);
  }

  @Test
  void typingInANeverCreatedConversationIsIgnored() {
    var result = conversation.runCommand(new Typing("alice"));

    assertThat(result.hasNoEvents()).isTrue();
    assertThat(result.state()).isEqualTo(ConversationState.EMPTY);
  }

  // ---- edit and delete ------------------------------------------------------------------------

  @Test
  void editOfOwnMessagePersistsMessageEdited() {
    create("alice", "bob");
    send("alice", "m1", "helo");

    var result = edit("alice", 2, "hello");

    assertThat(result.reply()).isEqualTo(new Accepted(3));
    assertThat(result.events()).containsExactly(new MessageEdited(3, TS, "alice", 2, "hello"));
  }

  @Test
  void deleteOfOwnMessagePersistsMessageDeleted() {
    create("alice", "bob");
    send("alice", "m1", "oops");

    var result = delete("alice", 2);

    assertThat(result.reply()).isEqualTo(new Accepted(3));
    assertThat(result.events()).containsExactly(new MessageDeleted(3, TS, "alice", 2));
  }

  @Test
  void editOfAnotherMembersMessageIsForbidden() {
    create("alice", "bob");
    send("alice", "m1", "hello");

    var result = edit("bob", 2, "hijacked");

    assertRejected(result.reply(), ErrorCode.FORBIDDEN);
    assertThat(result.hasNoEvents()).isTrue();
  }

  @Test
  void deleteOfAnotherMembersMessageIsForbidden() {
    create("alice", "bob");
    send("alice", "m1", "hello");

    var result = delete("bob", 2);

    assertRejected(result.reply(), ErrorCode.FORBIDDEN);
    assertThat(result.hasNoEvents()).isTrue();
  }

  @Test
  void editByANonMemberIsForbidden() {
    create("alice");
    send("alice", "m1", "hello");

    assertRejected(edit("mallory", 2, "x").reply(), ErrorCode.FORBIDDEN);
  }

  @Test
  void editOfAMessageOutsideTheRecentWindowIsRefused() {
    create("alice");
    send("alice", "m1", "old");
    for (int i = 2; i <= RECENT_WINDOW + 1; i++) send("alice", "m" + i, "newer");
    assertThat(conversation.getState().windowStart()).isEqualTo(3);

    var result = edit("alice", 2, "too late");

    assertRejected(result.reply(), ErrorCode.BAD_REQUEST);
    assertThat(result.hasNoEvents()).isTrue();
  }

  @Test
  void deleteOfAMessageOutsideTheRecentWindowIsRefused() {
    create("alice");
    send("alice", "m1", "old");
    for (int i = 2; i <= RECENT_WINDOW + 1; i++) send("alice", "m" + i, "newer");

    var result = delete("alice", 2);

    assertRejected(result.reply(), ErrorCode.BAD_REQUEST);
    assertThat(result.hasNoEvents()).isTrue();
  }

  @Test
  void editOfADeletedMessageIsNotFound() {
    create("alice");
    send("alice", "m1", "hello");
    delete("alice", 2);

    var result = edit("alice", 2, "back from the dead");

    assertRejected(result.reply(), ErrorCode.NOT_FOUND);
    assertThat(result.hasNoEvents()).isTrue();
  }

  @Test
  void deleteOfADeletedMessageIsNotFound() {
    create("alice");
    send("alice", "m1", "hello");
    delete("alice", 2);

    var result = delete("alice", 2);

    assertRejected(result.reply(), ErrorCode.NOT_FOUND);
    assertThat(result.hasNoEvents()).isTrue();
  }

  @Test
  void editOfASeqBeyondTheLastIsNotFound() {
    create("alice");
    send("alice", "m1", "hello");

    assertRejected(edit("alice", 3, "x").reply(), ErrorCode.NOT_FOUND);
    assertRejected(edit("alice", 0, "x").reply(), ErrorCode.NOT_FOUND);
  }

  @Test
  void editOfAnEventThatIsNotAMessageIsRefused() {
    create("alice");

    var result = edit("alice", 1, "x");

    assertRejected(result.reply(), ErrorCode.BAD_REQUEST);
    assertThat(result.hasNoEvents()).isTrue();
  }

  // ---- subscribe ------------------------------------------------------------------------------

  @Test
  void subscribeSinceZeroInsideTheWindowGetsEveryEventFromMemory() {
    List<TimelineEvent> events = conversationWithMessages(2);

    Subscribed subscribed = subscribe("bob", 0, subscriber(), Subscribed.class);

    assertThat(subscribed.conversationId()).isEqualTo(id);
    assertThat(subscribed.tag()).isEqualTo(7);
    assertThat(subscribed.lastSeq()).isEqualTo(3);
    assertThat(subscribed.recent()).isEqualTo(events);
    assertThat(subscribed.needsJournal()).isFalse();
  }

  @Test
  void subscribeSinceInsideTheWindowGetsOnlyTheLaterEvents() {
    List<TimelineEvent> events = conversationWithMessages(6); // seqs 1..7, window 4..7

    Subscribed subscribed = subscribe("bob", 5, subscriber(), Subscribed.class);

    assertThat(subscribed.lastSeq()).isEqualTo(7);
    assertThat(subscribed.recent()).isEqualTo(events.subList(5, 7));
    assertThat(subscribed.needsJournal()).isFalse();
  }

  @Test
  void subscribeSinceBelowTheWindowGetsAJournalRangeThenTheWindow() {
    List<TimelineEvent> events = conversationWithMessages(6); // seqs 1..7, window 4..7

    Subscribed subscribed = subscribe("bob", 1, subscriber(), Subscribed.class);

    assertThat(subscribed.lastSeq()).isEqualTo(7);
    assertThat(subscribed.journalFrom()).isEqualTo(2);
    assertThat(subscribed.journalTo()).isEqualTo(3);
    assertThat(subscribed.recent()).isEqualTo(events.subList(3, 7));
    assertThat(subscribed.recent()).extracting(TimelineEvent::seq).containsExactly(4L, 5L, 6L, 7L);
  }

  @Test
  void subscribeSinceJustBeforeTheWindowNeedsNoJournal() {
    conversationWithMessages(6); // window 4..7

    Subscribed subscribed = subscribe("bob", 3, subscriber(), Subscribed.class);

    assertThat(subscribed.needsJournal()).isFalse();
    assertThat(subscribed.recent()).extracting(TimelineEvent::seq).containsExactly(4L, 5L, 6L, 7L);
  }

  @Test
  void subscribeSinceTheLastSeqGetsNothingToCatchUp() {
    conversationWithMessages(6);

    Subscribed subscribed = subscribe("bob", 7, subscriber(), Subscribed.class);

    assertThat(subscribed.lastSeq()).isEqualTo(7);
    assertThat(subscribed.recent()).isEmpty();
    assertThat(subscribed.needsJournal()).isFalse();
  }

  @Test
  void subscribeWithNegativeSinceIsLiveOnly() {
    conversationWithMessages(2);

    Subscribed subscribed = subscribe("bob", -1, subscriber(), Subscribed.class);

    assertThat(subscribed.lastSeq()).isEqualTo(3);
    assertThat(subscribed.recent()).isEmpty();
    assertThat(subscribed.needsJournal()).isFalse();
  }

  @Test
  void subscribeByANonMemberIsForbidden() {
    create("alice");

    SubscribeRejected rejected = subscribe("mallory", 0, subscriber(), SubscribeRejected.class);

    assertThat(rejected).isEqualTo(new SubscribeRejected(id, 7, ErrorCode.FORBIDDEN, "not a member"));
  }

  @Test
  void subscribersReceiveEachEventAfterItIsPersisted() {
    create("alice", "bob");
    TestProbe<Update> alice = subscriber();
    TestProbe<Update> bob = subscriber();
    subscribe("alice", -1, alice, Subscribed.class);
    subscribe("bob", -1, bob, Subscribed.class);

    var sent = send("bob", "m1", "hello");
    var invited = invite("alice", "carol");

    for (TestProbe<Update> probe : List.of(alice, bob)) {
      assertThat(probe.expectMessageClass(Published.class)).isEqualTo(new Published(id, sent.event()));
      assertThat(probe.expectMessageClass(Published.class)).isEqualTo(new Published(id, invited.event()));
    }
  }

  @Test
  void rejectedCommandsPublishNothing() {
    create("alice");
    TestProbe<Update> alice = subscriber();
    subscribe("alice", -1, alice, Subscribed.class);

    send("mallory", "m1", "forbidden");
    send("alice", "m1", "hello");
    send("alice", "m1", "hello"); // retry: nothing new
    invite("alice", "bob");

    assertThat(alice.expectMessageClass(Published.class).event()).isEqualTo(posted(2, "alice", "m1", "hello"));
    assertThat(alice.expectMessageClass(Published.class).event()).isInstanceOf(MemberJoined.class);
  }

  @Test
  void typingIsRelayedToOtherSubscribersButNotToTheTyper() {
    create("alice", "bob");
    TestProbe<Update> alice = subscriber();
    TestProbe<Update> bob = subscriber();
    subscribe("alice", -1, alice, Subscribed.class);
    subscribe("bob", -1, bob, Subscribed.class);

    var typing = conversation.runCommand(new Typing("bob"));
    send("alice", "m1", "hello");

    assertThat(typing.hasNoEvents()).isTrue();
    assertThat(alice.expectMessageClass(UserTyping.class)).isEqualTo(new UserTyping(id, "bob"));
    // Messages from one actor arrive in order: bob's next message being the send proves no typing notice came first.
    assertThat(bob.expectMessageClass(Published.class).event().seq()).isEqualTo(2);
  }

  @Test
  void typingByANonMemberIsNotRelayed() {
    create("alice");
    TestProbe<Update> alice = subscriber();
    subscribe("alice", -1, alice, Subscribed.class);

    conversation.runCommand(new Typing("mallory"));
    send("alice", "m1", "hello");

    assertThat(alice.expectMessageClass(Published.class).event().seq()).isEqualTo(2);
  }

  @Test
  void afterLeaveTheLeaversSubscriberReceivesNoFurtherEvents() {
    create("alice", "bob");
    TestProbe<Update> bob = subscriber();
    subscribe("bob", -1, bob, Subscribed.class);

    leave("bob");
    send("alice", "m1", "bob is gone");
    conversation.runCommand(new Typing("alice"));

    assertThat(bob.expectMessageClass(Published.class).event()).isEqualTo(new MemberLeft(2, TS, "bob"));
    // The next thing bob's subscriber hears is the rejection of a fresh subscribe, not seq 3 or typing.
    subscribe("bob", -1, bob, SubscribeRejected.class);
  }

  @Test
  void unsubscribedSubscriberReceivesNoFurtherEvents() {
    create("alice", "bob");
    TestProbe<Update> bob = subscriber();
    subscribe("bob", -1, bob, Subscribed.class);

    conversation.runCommand(new Unsubscribe(bob.ref(), Unsubscribe.ALL));
    send("alice", "m1", "hello");

    // Subscribing again answers Subscribed with lastSeq 2; the message at seq 2 was never published to bob.
    assertThat(subscribe("bob", -1, bob, Subscribed.class).lastSeq()).isEqualTo(2);
  }

  @Test
  void anUnsubscribeForAnOlderAttemptLeavesANewerSubscriptionInPlace() {
    create("alice", "bob");
    TestProbe<Update> bob = subscriber();
    conversation.runCommand(new Subscribe("bob", -1, bob.ref(), 5));
    bob.expectMessageClass(Subscribed.class);
    conversation.runCommand(new Subscribe("bob", -1, bob.ref(), 6));
    bob.expectMessageClass(Subscribed.class);

    // The session gave up on attempt 5 and its unsubscribe arrives after attempt 6 was registered.
    conversation.runCommand(new Unsubscribe(bob.ref(), 5));
    send("alice", "m1", "still subscribed");
    assertThat(bob.expectMessageClass(Published.class).event().seq()).isEqualTo(2);

    // An unsubscribe covering attempt 6 ends it.
    conversation.runCommand(new Unsubscribe(bob.ref(), 6));
    send("alice", "m2", "gone");
    assertThat(subscribe("bob", -1, bob, Subscribed.class).lastSeq()).as("seq 3 was not published to bob").isEqualTo(3);
  }

  @Test
  void subscribingTwiceWithTheSameSubscriberDeliversEachEventOnce() {
    create("alice");
    TestProbe<Update> alice = subscriber();
    subscribe("alice", -1, alice, Subscribed.class);
    subscribe("alice", -1, alice, Subscribed.class);

    send("alice", "m1", "one");
    send("alice", "m2", "two");

    assertThat(alice.expectMessageClass(Published.class).event().seq()).isEqualTo(2);
    assertThat(alice.expectMessageClass(Published.class).event().seq()).isEqualTo(3);
  }

  // ---- history --------------------------------------------------------------------------------

  @Test
  void newestHistoryPageInsideTheWindowComesFromMemory() {
    List<TimelineEvent> events = conversationWithMessages(6); // seqs 1..7, window 4..7

    var result = history("bob", 0, 3);

    assertThat(result.reply()).isEqualTo(new HistoryPage(events.subList(4, 7), 1, 0));
    assertThat(result.hasNoEvents()).isTrue();
  }

  @Test
  void historyPageBeforeASeqInsideTheWindowComesFromMemory() {
    List<TimelineEvent> events = conversationWithMessages(6);

    assertThat(history("bob", 7, 3).reply()).isEqualTo(new HistoryPage(events.subList(3, 6), 1, 0));
  }

  @Test
  void historyPageReachingBelowTheWindowIsAJournalRange() {
    conversationWithMessages(6); // window 4..7

    HistoryPage page = (HistoryPage) history("bob", 6, 3).reply(); // seqs 3..5

    assertThat(page).isEqualTo(new HistoryPage(List.of(), 3, 5));
    assertThat(page.needsJournal()).isTrue();
  }

  @Test
  void historyPageEntirelyBelowTheWindowIsAJournalRange() {
    conversationWithMessages(6);

    assertThat(history("bob", 3, 10).reply()).isEqualTo(new HistoryPage(List.of(), 1, 2));
  }

  @Test
  void historyLimitLargerThanTheConversationReadsFromTheFirstSeq() {
    conversationWithMessages(6);

    assertThat(history("bob", 0, 100).reply()).isEqualTo(new HistoryPage(List.of(), 1, 7));
  }

  @Test
  void historyBeforeBeyondTheLastSeqIsTheNewestPage() {
    List<TimelineEvent> events = conversationWithMessages(6);

    assertThat(history("bob", 1_000, 2).reply()).isEqualTo(new HistoryPage(events.subList(5, 7), 1, 0));
  }

  @Test
  void historyBeforeTheFirstSeqIsEmpty() {
    conversationWithMessages(2);

    HistoryPage page = (HistoryPage) history("bob", 1, 10).reply();

    assertThat(page.events()).isEmpty();
    assertThat(page.needsJournal()).isFalse();
  }

  @Test
  void historyByANonMemberIsForbidden() {
    conversationWithMessages(2);

    assertRejected(history("mallory", 0, 10).reply(), ErrorCode.FORBIDDEN);
  }

  // ---- recovery and bounds --------------------------------------------------------------------

  /** Builds a conversation of 8 events and waits until the snapshots at seq 3 and 6 are stored. */
  private List<ConversationState> conversationWithSnapshots() {
    List<ConversationState> states = new ArrayList<>();
    states.add(create("alice", "bob").state());
    states.add(invite("alice", "carol").state());
    for (int i = 1; i <= 5; i++) states.add(send(i % 2 == 0 ? "bob" : "carol", "m" + i, "text " + i).state());
    states.add(edit("carol", 7, "edited").state());
    SnapshotTestKit snapshots = conversation.snapshotTestKit().orElseThrow();
    String persistenceId = Conversation.persistenceId(id).id();
    snapshots.expectNextPersisted(persistenceId, states.get(2).toSnapshot());
    snapshots.expectNextPersisted(persistenceId, states.get(5).toSnapshot());
    return states;
  }

  @Test
  void snapshotsAreTakenEveryNEventsInTheirPlainForm() {
    List<ConversationState> states = conversationWithSnapshots();

    assertThat(states.get(5).lastSeq()).isEqualTo(6);
    assertThat(conversation.snapshotTestKit().orElseThrow().persistedInStorage(Conversation.persistenceId(id).id()))
        .extracting(pair -> pair.second())
        .containsExactly(states.get(2).toSnapshot(), states.get(5).toSnapshot());
  }

  @Test
  void stateAfterRestartEqualsStateBefore() {
    conversationWithSnapshots();
    ConversationState before = conversation.getState();
    assertThat(before.lastSeq()).isEqualTo(8);

    // Recovery: the snapshot at seq 6 (window 3..6, keys of m2..m4), then events 7 and 8.
    ConversationState after = conversation.restart().state();

    assertThat(after).isEqualTo(before);
    assertThat(after.recent()).extracting(TimelineEvent::seq).containsExactly(5L, 6L, 7L, 8L);
    assertThat(after.seqOfSend("bob", "m4")).contains(6L);
    assertThat(after.seqOfSend("carol", "m3")).contains(5L);
  }

  @Test
  void restartFromTheLatestSnapshotAloneRestoresTheWindowAndTheIdempotencyKeys() {
    List<ConversationState> states = conversationWithSnapshots();
    conversation.persistenceTestKit().clearByIdPreservingSeqNumbers(Conversation.persistenceId(id).id());

    ConversationState recovered = conversation.restart().state();

    assertThat(recovered).isEqualTo(states.get(5));
    assertThat(recovered.recent()).extracting(TimelineEvent::seq).containsExactly(3L, 4L, 5L, 6L);
    assertThat(recovered.sentKeyOrder()).hasSize(IDEMPOTENCY_WINDOW);
  }

  @Test
  void idempotencyHoldsAcrossRestart() {
    create("alice");
    for (int i = 1; i <= 4; i++) send("alice", "m" + i, "text " + i);
    conversation.restart();

    var retry = send("alice", "m3", "text 3");

    assertThat(retry.reply()).isEqualTo(new Sent(4, "m3"));
    assertThat(retry.hasNoEvents()).isTrue();
  }

  @Test
  void seqsContinueWithoutAGapAfterRestart() {
    create("alice");
    send("alice", "m1", "before");
    conversation.restart();

    assertThat(send("alice", "m2", "after").reply()).isEqualTo(new Sent(3, "m2"));
  }

  @Test
  void inMemoryStateStaysBoundedAfterManySends() {
    create("alice", "bob");
    for (int i = 1; i <= 60; i++) send(i % 2 == 0 ? "alice" : "bob", "m" + i, "text " + i);

    ConversationState state = conversation.getState();

    assertThat(state.lastSeq()).isEqualTo(61);
    assertThat(state.recent()).hasSize(RECENT_WINDOW);
    assertThat(state.recent()).extracting(TimelineEvent::seq).containsExactly(58L, 59L, 60L, 61L);
    assertThat(state.sentKeys()).hasSize(IDEMPOTENCY_WINDOW);
    assertThat(state.sentKeyOrder()).hasSize(IDEMPOTENCY_WINDOW);
    assertThat(state.sentKeys().values()).containsExactlyInAnyOrder(59L, 60L, 61L);
  }

  // ---- members page (issue 21, presence) ------------------------------------------------------

  @Test
  void membersArePagedInIdOrderAfterTheGivenMemberForMembersOnly() {
    create("carol", "alice", "dave", "bob");

    Reply first = conversation.<Reply>runCommand(replyTo -> new Conversation.GetMembers("alice", null, 2, replyTo)).reply();
    Reply second = conversation.<Reply>runCommand(replyTo -> new Conversation.GetMembers("alice", "bob", 2, replyTo)).reply();
    Reply refused = conversation.<Reply>runCommand(replyTo -> new Conversation.GetMembers("mallory", null, 2, replyTo)).reply();

    assertThat(first).isEqualTo(new Conversation.MembersPage(List.of("alice", "bob"), 4, true));
    assertThat(second).isEqualTo(new Conversation.MembersPage(List.of("carol", "dave"), 4, false));
    assertThat(refused).isInstanceOfSatisfying(Rejected.class, r -> assertThat(r.code()).isEqualTo(ErrorCode.FORBIDDEN));
  }

  @Test
  void membersOfAConversationThatDoesNotExistAreNotFound() {
    Reply reply = conversation.<Reply>runCommand(replyTo -> new Conversation.GetMembers("alice", null, 10, replyTo)).reply();

    assertThat(reply).isInstanceOfSatisfying(Rejected.class, r -> assertThat(r.code()).isEqualTo(ErrorCode.NOT_FOUND));
  }
}
