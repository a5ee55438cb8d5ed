package dev.parley.endtoend;

import static dev.parley.testing.WsClient.frame;
import static dev.parley.testing.WsClient.seqs;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.parley.auth.Tokens;
import dev.parley.testing.ApiClient;
import dev.parley.testing.TestNode;
import dev.parley.testing.WsClient;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;
import java.util.stream.LongStream;
import java.util.stream.Stream;
import java.util.stream.StreamSupport;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Parley's public protocol, spoken over real websockets and real HTTP to a real node: every
 * scenario of issue 2's end-to-end list, one behaviour per test. Subclasses choose the storage
 * (H2, PostgreSQL); the scenarios are the same.
 *
 * <p>Every test uses conversations of its own (random ids), so tests share the node but not state.
 * Assertions name exact seqs and contents: a node that loses, duplicates, reorders or renumbers
 * anything fails them.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
abstract class EndToEndScenarios {

  private TestNode node;
  private final List<WsClient> clients = new ArrayList<>();

  /** A new node on new storage of this class's flavour. */
  protected abstract TestNode startNode() throws Exception;

  @BeforeAll
  void startSharedNode() throws Exception {
    node = startNode();
  }

  @AfterAll
  void stopSharedNode() throws Exception {
    if (node != null) node.close();
  }

  @AfterEach
  void closeClients() {
    clients.forEach(WsClient::close);
    clients.clear();
  }

  // ---- create and invite ----------------------------------------------------------------------

  @Test
  void createAnswersCreatedAndTheTimelineStartsWithTheMembers() {
    WsClient alice = connect("alice");
    String conversation = newConversationId();

    ObjectNode created = alice.request(createFrame(conversation, "bob").put("id", 7));

    assertThat(created.path("type").asText()).isEqualTo("created");
    assertThat(created.path("id").asInt()).isEqualTo(7);
    assertThat(created.path("conversation").asText()).isEqualTo(conversation);
    List<ObjectNode> timeline = history(alice, conversation, null, 10);
    assertThat(lines(timeline)).containsExactly("1 created by alice with [\"alice\",\"bob\"] title planning");
    assertThat(lines(history(connect("bob"), conversation, null, 10))).isEqualTo(lines(timeline));
  }

  @Test
  void createWithoutAnIdNamesTheConversation() {
    WsClient alice = connect("alice");

    ObjectNode created = alice.request(frame("create"));

    assertThat(created.path("type").asText()).isEqualTo("created");
    String conversation = created.path("conversation").asText();
    assertThat(conversation).isNotBlank();
    assertThat(lines(history(alice, conversation, null, 10))).containsExactly("1 created by alice with [\"alice\"] title null");
  }

  @Test
  void aTakenConversationIdIsRefusedToOthersButTheCreatorMayRetry() {
    WsClient alice = connect("alice");
    String conversation = create(alice, "bob");

    assertThat(alice.request(createFrame(conversation, "bob")).path("type").asText()).isEqualTo("created");
    assertError(connect("carol").request(createFrame(conversation)), "bad_request");

    assertThat(lines(history(alice, conversation, null, 10)))
        .containsExactly("1 created by alice with [\"alice\",\"bob\"] title planning");
  }

  @Test
  void anInvitedUserBecomesAMemberWhoCanSend() {
    WsClient alice = connect("alice");
    WsClient bob = connect("bob");
    String conversation = create(alice);
    assertError(bob.request(sendFrame(conversation, "b1", "let me in")), "forbidden");

    ObjectNode invited = alice.request(frame("invite").put("conversation", conversation).put("user", "bob"));

    assertThat(invited.path("type").asText()).isEqualTo("ok");
    assertThat(invited.path("conversation").asText()).isEqualTo(conversation);
    assertThat(invited.path("seq").asLong()).isEqualTo(2);
    assertThat(send(bob, conversation, "b2", "thanks")).isEqualTo(3);
    assertThat(lines(history(alice, conversation, null, 10)))
        .containsExactly(
            "1 created by alice with [\"alice\"] title planning",
            "2 joined bob invited by alice",
            "3 message bob/b2: thanks");
  }

  // ---- send and fan-out -----------------------------------------------------------------------

  @Test
  void sendIsAcknowledgedWithTheNextSeqAndTheClientMsgId() {
    WsClient alice = connect("alice");
    String conversation = create(alice);

    ObjectNode ack = alice.request(sendFrame(conversation, "m-1", "one").put("id", 41));

    assertThat(ack.path("type").asText()).isEqualTo("ack");
    assertThat(ack.path("id").asInt()).isEqualTo(41);
    assertThat(ack.path("conversation").asText()).isEqualTo(conversation);
    assertThat(ack.path("seq").asLong()).isEqualTo(2);
    assertThat(ack.path("clientMsgId").asText()).isEqualTo("m-1");
    assertThat(send(alice, conversation, "m-2", "two")).isEqualTo(3);
    assertThat(send(alice, conversation, "m-3", "three")).isEqualTo(4);
    assertThat(lines(history(alice, conversation, null, 10)))
        .containsExactly(
            "1 created by alice with [\"alice\"] title planning",
            "2 message alice/m-1: one",
            "3 message alice/m-2: two",
            "4 message alice/m-3: three");
  }

  @Test
  void aMessageFansOutOnceToEverySubscribedMember() {
    WsClient alice = connect("alice");
    WsClient bob = connect("bob");
    WsClient carol = connect("carol");
    String conversation = create(alice, "bob", "carol");
    for (WsClient member : List.of(alice, bob, carol)) {
      ObjectNode subscribed = subscribe(member, conversation, null);
      assertThat(subscribed.path("lastSeq").asLong()).isEqualTo(1);
      assertThat(subscribed.path("recovered").asBoolean()).isTrue();
    }

    assertThat(send(alice, conversation, "hello-1", "hello everyone")).isEqualTo(2);

    for (WsClient member : List.of(alice, bob, carol)) {
      ObjectNode message = member.expectEvent(conversation);
      assertThat(message.path("type").asText()).isEqualTo("message");
      assertThat(message.path("conversation").asText()).isEqualTo(conversation);
      assertThat(message.path("seq").asLong()).isEqualTo(2);
      assertThat(message.path("sender").asText()).isEqualTo("alice");
      assertThat(message.path("clientMsgId").asText()).isEqualTo("hello-1");
      assertThat(message.path("text").asText()).isEqualTo("hello everyone");
      assertThat(message.path("ts").asLong()).isPositive();
      assertThat(events(member.framesBeforePong())).isEmpty();
    }
  }

  /**
   * The sender's own copy of each message comes before its ack, and the other devices of the sender
   * get it too, for sends pipelined on one connection: the conversation publishes a write's events
   * before it answers their senders, and the answer reaches the session after the event it follows.
   */
  @Test
  void pipelinedSendsEchoEachMessageBeforeItsAckAndToTheSendersOtherDevices() {
    WsClient alice = connect("alice");
    WsClient aliceElsewhere = connect("alice");
    WsClient bob = connect("bob");
    String conversation = create(alice, "bob");
    for (WsClient member : List.of(alice, aliceElsewhere, bob)) subscribe(member, conversation, null);

    for (int i = 0; i < 20; i++) alice.send(sendFrame(conversation, "p-" + i, "pipelined " + i).put("id", "p-" + i));
    List<String> arrived = new ArrayList<>();
    for (int acks = 0; acks < 20; ) {
      ObjectNode f = alice.expect(x -> true, "the acks of 20 pipelined sends (got " + arrived + ")");
      arrived.add(f.path("type").asText() + " " + f.path("clientMsgId").asText());
      if ("ack".equals(f.path("type").asText())) acks++;
    }

    for (int i = 0; i < 20; i++) {
      assertThat(arrived.indexOf("message p-" + i)).as("%s", arrived).isNotNegative().isLessThan(arrived.indexOf("ack p-" + i));
    }
    assertThat(seqs(aliceElsewhere.expectEvents(conversation, 20))).containsExactlyElementsOf(LongStream.rangeClosed(2, 21).boxed().toList());
    assertThat(seqs(bob.expectEvents(conversation, 20))).containsExactlyElementsOf(LongStream.rangeClosed(2, 21).boxed().toList());
  }

  @Test
  void subscribeWithSinceReplaysTheTimelineAfterItThenLiveEvents() {
    WsClient alice = connect("alice");
    WsClient bob = connect("bob");
    String conversation = create(alice, "bob");
    send(alice, conversation, "a", "first");
    send(alice, conversation, "b", "second");
    send(alice, conversation, "c", "third");

    ObjectNode subscribed = subscribe(bob, conversation, 0L);

    assertThat(subscribed.path("lastSeq").asLong()).isEqualTo(4);
    assertThat(lines(bob.expectEvents(conversation, 4)))
        .containsExactly(
            "1 created by alice with [\"alice\",\"bob\"] title planning",
            "2 message alice/a: first",
            "3 message alice/b: second",
            "4 message alice/c: third");
    send(alice, conversation, "d", "fourth");
    assertThat(lines(bob.expectEvents(conversation, 1))).containsExactly("5 message alice/d: fourth");
    assertThat(events(bob.framesBeforePong())).isEmpty();
  }

  @Test
  void subscribeWithoutSinceDeliversOnlyLiveEvents() {
    WsClient alice = connect("alice");
    WsClient bob = connect("bob");
    String conversation = create(alice, "bob");
    send(alice, conversation, "a", "before");

    assertThat(subscribe(bob, conversation, null).path("lastSeq").asLong()).isEqualTo(2);
    assertThat(events(bob.framesBeforePong())).isEmpty();

    send(alice, conversation, "b", "after");
    assertThat(lines(bob.expectEvents(conversation, 1))).containsExactly("3 message alice/b: after");
  }

  // ---- history --------------------------------------------------------------------------------

  @Test
  void historyWithoutBeforeIsTheNewestPageInSeqOrder() {
    WsClient alice = connect("alice");
    String conversation = create(alice);
    Map<Long, String> sent = sendEach(alice, conversation, 20);

    List<ObjectNode> page = history(alice, conversation, null, 5);

    assertThat(lines(page)).isEqualTo(expectedMessages(sent, 17, 21));
  }

  @Test
  void historyPagesBackWithBeforeDownToTheFirstEvent() {
    WsClient alice = connect("alice");
    String conversation = create(alice);
    Map<Long, String> sent = sendEach(alice, conversation, 20);

    List<ObjectNode> newest = history(alice, conversation, null, 7);
    List<ObjectNode> older = history(alice, conversation, 15L, 7);
    List<ObjectNode> oldest = history(alice, conversation, 8L, 7);
    List<ObjectNode> beyond = history(alice, conversation, 1L, 7);

    assertThat(seqs(newest)).isEqualTo(range(15, 21));
    assertThat(seqs(older)).isEqualTo(range(8, 14));
    assertThat(seqs(oldest)).isEqualTo(range(1, 7));
    assertThat(beyond).isEmpty();
    assertThat(lines(newest)).isEqualTo(expectedMessages(sent, 15, 21));
    assertThat(lines(older)).isEqualTo(expectedMessages(sent, 8, 14));
    assertThat(lines(oldest.subList(1, 7))).isEqualTo(expectedMessages(sent, 2, 7));
    assertThat(lines(oldest.subList(0, 1))).containsExactly("1 created by alice with [\"alice\"] title planning");
  }

  @Test
  void historyBelowTheRecentWindowIsReadFromTheJournal() {
    WsClient alice = connect("alice");
    String conversation = create(alice);
    Map<Long, String> sent = sendEach(alice, conversation, 30); // seqs 2..31; memory holds only 24..31

    List<ObjectNode> belowWindow = history(alice, conversation, 10L, 5);
    List<ObjectNode> straddling = history(alice, conversation, 28L, 10);
    List<ObjectNode> insideWindow = history(alice, conversation, 31L, 5);

    assertThat(TestNode.RECENT_WINDOW).isLessThan(31 - 10);
    assertThat(lines(belowWindow)).isEqualTo(expectedMessages(sent, 5, 9));
    assertThat(lines(straddling)).isEqualTo(expectedMessages(sent, 18, 27));
    assertThat(lines(insideWindow)).isEqualTo(expectedMessages(sent, 26, 30));
    ObjectNode fromJournal = belowWindow.get(0);
    assertThat(fromJournal.path("conversation").asText()).isEqualTo(conversation);
    assertThat(fromJournal.path("ts").asLong()).isPositive();
  }

  @Test
  void historyLimitIsCappedAtOneHundred() {
    WsClient alice = connect("alice");
    String conversation = create(alice);
    Map<Long, String> sent = sendPipelined(alice, conversation, 120); // seqs 2..121

    List<ObjectNode> page = history(alice, conversation, null, 500);

    assertThat(page).hasSize(TestNode.HISTORY_MAX_LIMIT);
    assertThat(lines(page)).isEqualTo(expectedMessages(sent, 22, 121));
    assertError(alice.request(historyFrame(conversation, null, 0)), "bad_request");
  }

  // ---- idempotency ----------------------------------------------------------------------------

  @Test
  void aRetriedSendWithTheSameClientMsgIdGetsTheOriginalSeqAndPostsOnce() {
    WsClient alice = connect("alice");
    WsClient bob = connect("bob");
    String conversation = create(alice, "bob");
    subscribe(bob, conversation, null);
    assertThat(send(alice, conversation, "once", "only once")).isEqualTo(2);
    assertThat(send(alice, conversation, "other", "something else")).isEqualTo(3);

    ObjectNode retry = alice.request(sendFrame(conversation, "once", "only once"));
    ObjectNode retryAfterReconnect = connect("alice").request(sendFrame(conversation, "once", "only once"));

    for (ObjectNode ack : List.of(retry, retryAfterReconnect)) {
      assertThat(ack.path("type").asText()).isEqualTo("ack");
      assertThat(ack.path("seq").asLong()).isEqualTo(2);
      assertThat(ack.path("clientMsgId").asText()).isEqualTo("once");
    }
    assertThat(send(alice, conversation, "next", "next one")).isEqualTo(4);
    assertThat(lines(history(alice, conversation, null, 10)))
        .containsExactly(
            "1 created by alice with [\"alice\",\"bob\"] title planning",
            "2 message alice/once: only once",
            "3 message alice/other: something else",
            "4 message alice/next: next one");
    assertThat(seqs(bob.expectEvents(conversation, 3))).containsExactly(2L, 3L, 4L);
    assertThat(events(bob.framesBeforePong())).isEmpty();
  }

  @Test
  void theSameClientMsgIdFromAnotherSenderIsAnotherMessage() {
    WsClient alice = connect("alice");
    WsClient bob = connect("bob");
    String conversation = create(alice, "bob");

    assertThat(send(alice, conversation, "same", "from alice")).isEqualTo(2);
    assertThat(send(bob, conversation, "same", "from bob")).isEqualTo(3);

    assertThat(lines(history(alice, conversation, 4L, 2)))
        .containsExactly("2 message alice/same: from alice", "3 message bob/same: from bob");
  }

  // ---- resume ---------------------------------------------------------------------------------

  @Test
  void resumeAfterADroppedConnectionDeliversTheMissedMessagesOnceInOrder() {
    resumeAfterDrop(3);
  }

  @Test
  void resumeAfterADroppedConnectionFillsAGapLongerThanTheRecentWindow() {
    resumeAfterDrop(TestNode.RECENT_WINDOW * 3);
  }

  /** Bob has seen seqs 1..3, drops, misses {@code missed} messages, resumes with since=3. */
  private void resumeAfterDrop(int missed) {
    WsClient alice = connect("alice");
    WsClient bob = connect("bob");
    String conversation = create(alice, "bob");
    subscribe(bob, conversation, 0L);
    send(alice, conversation, "seen-1", "seen one");
    send(alice, conversation, "seen-2", "seen two");
    assertThat(seqs(bob.expectEvents(conversation, 3))).containsExactly(1L, 2L, 3L);

    bob.abort();
    Map<Long, String> meanwhile = sendEach(alice, conversation, missed);
    WsClient bobAgain = connect("bob");
    ObjectNode subscribed = subscribe(bobAgain, conversation, 3L);

    long last = 3 + missed;
    assertThat(subscribed.path("lastSeq").asLong()).isEqualTo(last);
    assertThat(subscribed.path("recovered").asBoolean()).isTrue();
    assertThat(lines(bobAgain.expectEvents(conversation, missed))).isEqualTo(expectedMessages(meanwhile, 4, last));
    assertThat(send(alice, conversation, "live", "live again")).isEqualTo(last + 1);
    assertThat(lines(bobAgain.expectEvents(conversation, 1))).containsExactly((last + 1) + " message alice/live: live again");
    assertThat(events(bobAgain.framesBeforePong())).isEmpty();
  }

  @Test
  void resumeWhileMessagesKeepArrivingHasNoGapAndNoDuplicate() {
    WsClient alice = connect("alice");
    WsClient bob = connect("bob");
    String conversation = create(alice, "bob");
    sendEach(alice, conversation, 15); // seqs 2..16, beyond the recent window

    bob.send(frame("subscribe").put("id", "resume").put("conversation", conversation).put("since", 1));
    sendPipelined(alice, conversation, 15); // seqs 17..31, racing the catch-up

    ObjectNode subscribed = bob.expect(f -> "resume".equals(f.path("id").asText()), "the subscribed reply");
    assertThat(subscribed.path("type").asText()).isEqualTo("subscribed");
    List<ObjectNode> delivered = bob.expectEvents(conversation, 30);
    assertThat(seqs(delivered)).isEqualTo(range(2, 31));
    assertThat(events(bob.framesBeforePong())).isEmpty();
    assertThat(lines(delivered)).isEqualTo(lines(history(alice, conversation, null, 30)));
  }

  @Test
  void aResumeLongerThanTheOutboundBufferIsDeliveredCompletely() {
    WsClient alice = connect("alice");
    WsClient bob = connect("bob");
    String conversation = create(alice, "bob");
    int missed = TestNode.OUTBOUND_BUFFER * 5;
    Map<Long, String> sent = sendPipelined(alice, conversation, missed); // seqs 2..missed+1

    ObjectNode subscribed = subscribe(bob, conversation, 1L);

    assertThat(subscribed.path("lastSeq").asLong()).isEqualTo(missed + 1);
    assertThat(subscribed.path("recovered").asBoolean()).isTrue();
    assertThat(lines(bob.expectEvents(conversation, missed))).isEqualTo(expectedMessages(sent, 2, missed + 1));
    assertThat(events(bob.framesBeforePong())).isEmpty();
    assertThat(bob.isOpen()).isTrue();
  }

  // ---- restart --------------------------------------------------------------------------------

  @Test
  void aRestartedNodeKeepsTheHistoryAndContinuesTheSeqWithoutAGap() throws Exception {
    try (TestNode own = startNode()) {
      WsClient alice = connect(own, "alice");
      String conversation = create(alice, "bob");
      // 15 events, a multiple of the snapshot interval: the new node recovers from a snapshot alone.
      int last = TestNode.SNAPSHOT_EVERY * 3;
      Map<Long, String> sent = sendEach(alice, conversation, last - 1); // seqs 2..last
      List<String> before = lines(history(alice, conversation, null, 100));

      own.restart();

      assertThat(alice.expect("reconnect").path("afterMs").asLong()).isNotNegative();
      alice.awaitClosed();
      assertThat(alice.isOpen()).as("the connection to the stopped node").isFalse();
      WsClient aliceAgain = connect(own, "alice");
      List<ObjectNode> after = history(aliceAgain, conversation, null, 100);
      assertThat(seqs(after)).isEqualTo(range(1, last));
      assertThat(lines(after)).isEqualTo(before);
      assertThat(lines(after.subList(1, last))).isEqualTo(expectedMessages(sent, 2, last));
      String earlierClientMsgId = clientMsgIdOf(sent.get(5L));
      assertThat(aliceAgain.request(sendFrame(conversation, earlierClientMsgId, sent.get(5L))).path("seq").asLong())
          .as("a retry of a send from before the restart")
          .isEqualTo(5);
      assertThat(send(aliceAgain, conversation, "after-restart", "still here")).isEqualTo(last + 1);
      WsClient bob = connect(own, "bob");
      subscribe(bob, conversation, last - 4L);
      assertThat(lines(bob.expectEvents(conversation, 5)))
          .isEqualTo(
              Stream.concat(
                      expectedMessages(sent, last - 3, last).stream(),
                      Stream.of((last + 1) + " message alice/after-restart: still here"))
                  .toList());
      assertThat(lines(history(bob, conversation, 4L, 3))).isEqualTo(lines(after.subList(0, 3)));
    }
  }

  // ---- membership -----------------------------------------------------------------------------

  @Test
  void aNonMemberIsForbiddenToSendSubscribeReadInviteOrEdit() {
    WsClient alice = connect("alice");
    WsClient mallory = connect("mallory");
    String conversation = create(alice, "bob");
    send(alice, conversation, "a", "members only");

    assertError(mallory.request(sendFrame(conversation, "m", "hi")), "forbidden");
    ObjectNode subscribeRefused = mallory.request(frame("subscribe").put("conversation", conversation).put("since", 0));
    assertError(subscribeRefused, "forbidden");
    assertThat(subscribeRefused.path("conversation").asText()).isEqualTo(conversation);
    assertError(mallory.request(historyFrame(conversation, null, 10)), "forbidden");
    assertError(mallory.request(frame("invite").put("conversation", conversation).put("user", "mallory")), "forbidden");
    assertError(mallory.request(frame("edit").put("conversation", conversation).put("seq", 2).put("text", "x")), "forbidden");
    assertError(mallory.request(frame("delete").put("conversation", conversation).put("seq", 2)), "forbidden");

    assertThat(events(mallory.framesBeforePong())).isEmpty();
    assertThat(lines(history(alice, conversation, null, 10)))
        .containsExactly("1 created by alice with [\"alice\",\"bob\"] title planning", "2 message alice/a: members only");
  }

  @Test
  void aMemberWhoLeftCanNoLongerSendSubscribeOrRead() {
    WsClient alice = connect("alice");
    WsClient bob = connect("bob");
    WsClient bobsOtherDevice = connect("bob");
    String conversation = create(alice, "bob");
    subscribe(alice, conversation, null);
    subscribe(bob, conversation, null);
    subscribe(bobsOtherDevice, conversation, null);

    ObjectNode left = bob.request(frame("leave").put("conversation", conversation));

    assertThat(left.path("type").asText()).isEqualTo("ok");
    assertThat(left.path("seq").asLong()).isEqualTo(2);
    assertThat(lines(alice.expectEvents(conversation, 1))).containsExactly("2 left bob");
    assertError(bob.request(sendFrame(conversation, "b", "still here?")), "forbidden");
    assertError(bob.request(frame("subscribe").put("conversation", conversation)), "forbidden");
    assertError(bob.request(historyFrame(conversation, null, 10)), "forbidden");
    assertThat(send(alice, conversation, "a", "bye bob")).isEqualTo(3);
    assertThat(bob.framesBeforePong()).noneMatch(f -> f.path("seq").asLong() == 3 && WsClient.isEventOf(conversation, f));
    assertThat(lines(events(bobsOtherDevice.framesBeforePong())))
        .as("every subscription of a former member ends, on every connection")
        .containsExactly("2 left bob");
    assertThat(seqs(history(alice, conversation, null, 10))).containsExactly(1L, 2L, 3L);
  }

  @Test
  void anUnknownConversationIsNotFound() {
    WsClient alice = connect("alice");
    String nowhere = newConversationId();

    assertError(alice.request(sendFrame(nowhere, "x", "anyone?")), "not_found");
    assertError(alice.request(frame("subscribe").put("conversation", nowhere).put("since", 0)), "not_found");
    assertError(alice.request(historyFrame(nowhere, null, 10)), "not_found");
    assertError(alice.request(frame("invite").put("conversation", nowhere).put("user", "bob")), "not_found");
    assertError(alice.request(frame("leave").put("conversation", nowhere)), "not_found");
    alice.pingPong();
  }

  // ---- edit and delete ------------------------------------------------------------------------

  @Test
  void aSenderMayEditAndDeleteTheirOwnMessageButNotSomeoneElses() {
    WsClient alice = connect("alice");
    WsClient bob = connect("bob");
    String conversation = create(alice, "bob");
    subscribe(bob, conversation, null);
    assertThat(send(alice, conversation, "a", "original")).isEqualTo(2);
    assertThat(send(bob, conversation, "b", "bob's own")).isEqualTo(3);

    ObjectNode edited = alice.request(frame("edit").put("conversation", conversation).put("seq", 2).put("text", "corrected"));
    ObjectNode editOthers = alice.request(frame("edit").put("conversation", conversation).put("seq", 3).put("text", "hijacked"));
    ObjectNode deleteOthers = alice.request(frame("delete").put("conversation", conversation).put("seq", 3));
    ObjectNode deleted = alice.request(frame("delete").put("conversation", conversation).put("seq", 2));
    ObjectNode editDeleted = alice.request(frame("edit").put("conversation", conversation).put("seq", 2).put("text", "again"));
    ObjectNode editMissing = alice.request(frame("edit").put("conversation", conversation).put("seq", 99).put("text", "?"));

    assertThat(edited.path("type").asText()).isEqualTo("ok");
    assertThat(edited.path("seq").asLong()).isEqualTo(4);
    assertError(editOthers, "forbidden");
    assertError(deleteOthers, "forbidden");
    assertThat(deleted.path("type").asText()).isEqualTo("ok");
    assertThat(deleted.path("seq").asLong()).isEqualTo(5);
    assertError(editDeleted, "not_found");
    assertError(editMissing, "not_found");
    List<String> expected =
        List.of(
            "2 message alice/a: original",
            "3 message bob/b: bob's own",
            "4 edited 2 by alice: corrected",
            "5 deleted 2 by alice");
    assertThat(lines(bob.expectEvents(conversation, 4))).isEqualTo(expected);
    assertThat(events(bob.framesBeforePong())).isEmpty();
    assertThat(lines(history(alice, conversation, 6L, 4))).isEqualTo(expected);
  }

  // ---- typing ---------------------------------------------------------------------------------

  @Test
  void typingIsRelayedToOtherSubscribersButNotBackToTheTypist() {
    WsClient alice = connect("alice");
    WsClient bob = connect("bob");
    String conversation = create(alice, "bob");
    subscribe(alice, conversation, null);
    subscribe(bob, conversation, null);

    alice.send(frame("typing").put("conversation", conversation));

    ObjectNode typing = bob.expect("typing");
    assertThat(typing.path("conversation").asText()).isEqualTo(conversation);
    assertThat(typing.path("user").asText()).isEqualTo("alice");
    assertThat(alice.framesBeforePong()).noneMatch(f -> "typing".equals(f.path("type").asText()));
    assertThat(lines(history(alice, conversation, null, 10)))
        .as("typing is never persisted")
        .containsExactly("1 created by alice with [\"alice\",\"bob\"] title planning");
  }

  @Test
  void typingFromANonMemberIsNotRelayed() {
    WsClient alice = connect("alice");
    WsClient bob = connect("bob");
    WsClient mallory = connect("mallory");
    String conversation = create(alice, "bob");
    subscribe(bob, conversation, null);

    mallory.send(frame("typing").put("conversation", conversation));
    // Answered by the same conversation after the typing notice, so the notice has been handled.
    assertError(mallory.request(historyFrame(conversation, null, 1)), "forbidden");

    assertThat(bob.framesBeforePong()).noneMatch(f -> "typing".equals(f.path("type").asText()));
    alice.send(frame("typing").put("conversation", conversation));
    assertThat(bob.expect("typing").path("user").asText()).isEqualTo("alice");
  }

  // ---- authentication -------------------------------------------------------------------------

  @Test
  void aWebsocketUpgradeWithoutAValidTokenIsRefusedWith401() {
    Tokens otherSecret = new Tokens("some-other-secret-that-is-at-least-32-bytes", Clock.systemUTC());
    String expired = node.tokens().mint("alice", Duration.ofMinutes(-5));
    String unsigned = "eyJhbGciOiJub25lIn0.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.";

    assertThat(WsClient.refusedUpgradeStatus(node.wsUri(null))).as("no token").isEqualTo(401);
    assertThat(WsClient.refusedUpgradeStatus(node.wsUri("not-a-jwt"))).as("garbage").isEqualTo(401);
    assertThat(WsClient.refusedUpgradeStatus(node.wsUri(otherSecret.mint("alice", Duration.ofHours(1))))).as("forged").isEqualTo(401);
    assertThat(WsClient.refusedUpgradeStatus(node.wsUri(expired))).as("expired").isEqualTo(401);
    assertThat(WsClient.refusedUpgradeStatus(node.wsUri(unsigned))).as("unsigned").isEqualTo(401);
    connect("alice").pingPong();
  }

  @Test
  void theHttpApiWithoutAValidTokenAnswers401() {
    ApiClient api = node.api();
    String body = "{\"members\":[]}";
    String expired = node.tokens().mint("alice", Duration.ofMinutes(-5));

    for (String token : new String[] {null, "not-a-jwt", expired}) {
      ApiClient.Response create = api.post("/v1/conversations", token, body);
      assertThat(create.status()).isEqualTo(401);
      assertThat(create.errorCode()).isEqualTo("unauthorized");
      ApiClient.Response read = api.get("/v1/conversations/" + newConversationId() + "/messages", token);
      assertThat(read.status()).isEqualTo(401);
      assertThat(read.errorCode()).isEqualTo("unauthorized");
    }
    assertThat(api.post("/v1/conversations", node.token("alice"), body).status()).isEqualTo(201);
  }

  // ---- bad frames -----------------------------------------------------------------------------

  @Test
  void malformedJsonIsAnsweredWithBadRequestAndTheConnectionStaysOpen() {
    WsClient alice = connect("alice");

    alice.sendText("{\"type\": \"ping\", ");
    assertError(alice.expect("error"), "bad_request");
    alice.sendText("[\"not\", \"an\", \"object\"]");
    assertError(alice.expect("error"), "bad_request");

    alice.pingPong();
    assertThat(alice.isOpen()).isTrue();
  }

  @Test
  void anUnknownFrameTypeIsAnsweredWithBadRequestEchoingTheId() {
    WsClient alice = connect("alice");

    ObjectNode error = alice.request(frame("dance").put("id", "d-1"));

    assertError(error, "bad_request");
    assertThat(error.path("id").asText()).isEqualTo("d-1");
    alice.pingPong();
  }

  @Test
  void framesWithMissingOrInvalidFieldsAreAnsweredWithBadRequest() {
    WsClient alice = connect("alice");
    String conversation = create(alice);

    assertError(alice.request(frame("send").put("conversation", conversation).put("clientMsgId", "x")), "bad_request");
    assertError(alice.request(frame("send").put("conversation", conversation).put("text", "no id")), "bad_request");
    assertError(alice.request(frame("send").put("clientMsgId", "x").put("text", "where?")), "bad_request");
    assertError(alice.request(frame("subscribe")), "bad_request");
    assertError(alice.request(frame("invite").put("conversation", conversation)), "bad_request");
    assertError(alice.request(frame("history").put("conversation", conversation).put("before", "yesterday")), "bad_request");
    assertError(alice.request(WsClient.JSON.createObjectNode().put("conversation", conversation)), "bad_request");
    assertError(alice.request(frame("send").put("conversation", "not a valid id!").put("clientMsgId", "x").put("text", "t")), "bad_request");

    alice.pingPong();
    assertThat(seqs(history(alice, conversation, null, 10))).containsExactly(1L);
  }

  @Test
  void anOversizedFrameIsAnsweredWithTooLargeAndTheConnectionStaysOpen() {
    WsClient alice = connect("alice");
    String conversation = create(alice);

    for (int size : new int[] {TestNode.MAX_FRAME_BYTES + 1, 256 * 1024}) {
      String padding = "x".repeat(size);
      String oversized = sendFrame(conversation, "big-" + size, "hi").put("padding", padding).toString();
      assertThat(oversized.getBytes(StandardCharsets.UTF_8).length).isGreaterThan(TestNode.MAX_FRAME_BYTES);
      alice.sendText(oversized);
      assertError(alice.expect("error"), "too_large");
      alice.pingPong();
    }
    assertThat(send(alice, conversation, "small", "fits")).isEqualTo(2);
  }

  @Test
  void aMessageTextLongerThanTheLimitIsRefusedAsTooLarge() {
    WsClient alice = connect("alice");
    String conversation = create(alice);

    assertError(alice.request(sendFrame(conversation, "long", "y".repeat(TestNode.MAX_TEXT_LENGTH + 1))), "too_large");

    assertThat(send(alice, conversation, "ok", "y".repeat(TestNode.MAX_TEXT_LENGTH))).isEqualTo(2);
  }

  @Test
  void aBinaryFrameIsAnsweredWithBadRequestAndTheConnectionStaysOpen() {
    WsClient alice = connect("alice");

    alice.sendBinary("{\"type\":\"ping\"}".getBytes(StandardCharsets.UTF_8));

    assertError(alice.expect("error"), "bad_request");
    alice.pingPong();
  }

  // ---- HTTP API -------------------------------------------------------------------------------

  @Test
  void theHttpApiCreatesConversationsPostsMessagesAndPagesHistory() {
    ApiClient api = node.api();
    String alice = node.token("alice");
    String conversation = newConversationId();
    WsClient bob = connect("bob");

    ApiClient.Response created =
        api.post("/v1/conversations", alice, "{\"conversation\":\"" + conversation + "\",\"members\":[\"bob\"],\"title\":\"planning\"}");
    assertThat(created.status()).isEqualTo(201);
    assertThat(created.body().path("conversation").asText()).isEqualTo(conversation);
    subscribe(bob, conversation, null);

    String messages = "/v1/conversations/" + conversation + "/messages";
    ApiClient.Response first = api.post(messages, alice, "{\"clientMsgId\":\"h1\",\"text\":\"over http\"}");
    ApiClient.Response retried = api.post(messages, alice, "{\"clientMsgId\":\"h1\",\"text\":\"over http\"}");
    ApiClient.Response second = api.post(messages, alice, "{\"clientMsgId\":\"h2\",\"text\":\"again\"}");

    assertThat(first.status()).isEqualTo(201);
    assertThat(first.body().path("seq").asLong()).isEqualTo(2);
    assertThat(first.body().path("clientMsgId").asText()).isEqualTo("h1");
    assertThat(retried.body().path("seq").asLong()).isEqualTo(2);
    assertThat(second.body().path("seq").asLong()).isEqualTo(3);
    assertThat(lines(bob.expectEvents(conversation, 2))).containsExactly("2 message alice/h1: over http", "3 message alice/h2: again");

    ApiClient.Response newest = api.get(messages + "?limit=10", alice);
    assertThat(newest.status()).isEqualTo(200);
    assertThat(lines(list(newest.body().path("events"))))
        .containsExactly(
            "1 created by alice with [\"alice\",\"bob\"] title planning",
            "2 message alice/h1: over http",
            "3 message alice/h2: again");
    ApiClient.Response older = api.get(messages + "?before=3&limit=1", node.token("bob"));
    assertThat(lines(list(older.body().path("events")))).containsExactly("2 message alice/h1: over http");
  }

  @Test
  void theHttpApiCapsHistoryPagesAndReadsBelowTheRecentWindow() {
    ApiClient api = node.api();
    WsClient alice = connect("alice");
    String conversation = create(alice);
    Map<Long, String> sent = sendPipelined(alice, conversation, 110); // seqs 2..111
    String messages = "/v1/conversations/" + conversation + "/messages";

    ApiClient.Response capped = api.get(messages + "?limit=1000", node.token("alice"));
    ApiClient.Response old = api.get(messages + "?before=6&limit=4", node.token("alice"));

    assertThat(lines(list(capped.body().path("events")))).isEqualTo(expectedMessages(sent, 12, 111));
    assertThat(lines(list(old.body().path("events")))).isEqualTo(expectedMessages(sent, 2, 5));
  }

  @Test
  void theHttpApiAnswersErrorsAsJsonWithTheProtocolCodes() {
    ApiClient api = node.api();
    WsClient alice = connect("alice");
    String conversation = create(alice);
    String messages = "/v1/conversations/" + conversation + "/messages";
    String unknown = "/v1/conversations/" + newConversationId() + "/messages";
    String aliceToken = node.token("alice");
    String mallory = node.token("mallory");

    assertHttpError(api.post(messages, mallory, "{\"clientMsgId\":\"m\",\"text\":\"hi\"}"), 403, "forbidden");
    assertHttpError(api.get(messages, mallory), 403, "forbidden");
    assertHttpError(api.post(unknown, aliceToken, "{\"clientMsgId\":\"m\",\"text\":\"hi\"}"), 404, "not_found");
    assertHttpError(api.get(unknown, aliceToken), 404, "not_found");
    assertHttpError(api.post(messages, aliceToken, "{\"clientMsgId\":"), 400, "bad_request");
    assertHttpError(api.post(messages, aliceToken, "{\"clientMsgId\":\"m\"}"), 400, "bad_request");
    assertHttpError(api.get(messages + "?limit=lots", aliceToken), 400, "bad_request");
    assertHttpError(api.get(messages + "?limit=0", aliceToken), 400, "bad_request");
    assertHttpError(
        api.post(messages, aliceToken, "{\"clientMsgId\":\"m\",\"text\":\"" + "z".repeat(TestNode.MAX_FRAME_BYTES) + "\"}"),
        413,
        "too_large");
    assertHttpError(api.get("/v1/nothing-here", aliceToken), 404, "not_found");
    assertThat(seqs(history(alice, conversation, null, 10))).containsExactly(1L);
  }

  // ---- helpers --------------------------------------------------------------------------------

  private WsClient connect(String user) {
    return connect(node, user);
  }

  private WsClient connect(TestNode on, String user) {
    WsClient client = on.connect(user);
    clients.add(client);
    return client;
  }

  private static String newConversationId() {
    return "it-" + UUID.randomUUID();
  }

  private static ObjectNode createFrame(String conversation, String... members) {
    ObjectNode create = frame("create").put("conversation", conversation).put("title", "planning");
    ArrayNode list = create.putArray("members");
    for (String m : members) list.add(m);
    return create;
  }

  /** Creates a conversation with a new id, titled "planning"; the creator is a member. */
  private static String create(WsClient creator, String... members) {
    String conversation = newConversationId();
    ObjectNode created = creator.request(createFrame(conversation, members));
    assertThat(created.path("type").asText()).as("%s", created).isEqualTo("created");
    assertThat(created.path("conversation").asText()).isEqualTo(conversation);
    return conversation;
  }

  private static ObjectNode sendFrame(String conversation, String clientMsgId, String text) {
    return frame("send").put("conversation", conversation).put("clientMsgId", clientMsgId).put("text", text);
  }

  /** Sends and returns the acknowledged seq. */
  private static long send(WsClient sender, String conversation, String clientMsgId, String text) {
    ObjectNode ack = sender.request(sendFrame(conversation, clientMsgId, text));
    assertThat(ack.path("type").asText()).as("%s", ack).isEqualTo("ack");
    assertThat(ack.path("clientMsgId").asText()).isEqualTo(clientMsgId);
    return ack.path("seq").asLong();
  }

  /** Sends {@code count} messages one after the other; answers text by acknowledged seq. */
  private static Map<Long, String> sendEach(WsClient sender, String conversation, int count) {
    Map<Long, String> sent = new TreeMap<>();
    String batch = UUID.randomUUID().toString().substring(0, 8);
    for (int i = 1; i <= count; i++) {
      String text = "message " + i + " of " + batch;
      sent.put(send(sender, conversation, clientMsgIdOf(text), text), text);
    }
    assertContiguous(sent, count);
    return sent;
  }

  /** Sends {@code count} messages without waiting for acks in between; answers text by acknowledged seq. */
  private static Map<Long, String> sendPipelined(WsClient sender, String conversation, int count) {
    String batch = UUID.randomUUID().toString().substring(0, 8);
    Map<String, String> textById = new HashMap<>();
    for (int i = 1; i <= count; i++) {
      String text = "burst " + i + " of " + batch;
      String id = "burst-" + batch + "-" + i;
      textById.put(id, text);
      sender.send(sendFrame(conversation, clientMsgIdOf(text), text).put("id", id));
    }
    Map<Long, String> sent = new TreeMap<>();
    for (Map.Entry<String, String> e : textById.entrySet()) {
      ObjectNode ack = sender.expect(f -> e.getKey().equals(f.path("id").asText()), "the ack of " + e.getKey());
      assertThat(ack.path("type").asText()).as("%s", ack).isEqualTo("ack");
      sent.put(ack.path("seq").asLong(), e.getValue());
    }
    assertContiguous(sent, count);
    return sent;
  }

  private static void assertContiguous(Map<Long, String> sent, int count) {
    long first = sent.keySet().iterator().next();
    assertThat(sent.keySet()).as("acknowledged seqs").containsExactlyElementsOf(range(first, first + count - 1));
  }

  /** A clientMsgId derived from a text (its unique head), so expectations can be rebuilt from the text. */
  private static String clientMsgIdOf(String text) {
    String id = "id-" + text.replace(' ', '-');
    return id.length() <= 48 ? id : id.substring(0, 48);
  }

  /** The lines {@link #lines} gives for alice's messages {@code from..to} of {@code sent}. */
  private static List<String> expectedMessages(Map<Long, String> sent, long from, long to) {
    return LongStream.rangeClosed(from, to)
        .mapToObj(seq -> seq + " message alice/" + clientMsgIdOf(sent.get(seq)) + ": " + sent.get(seq))
        .toList();
  }

  /** Subscribes and returns the {@code subscribed} reply; {@code since} null: live only. */
  private static ObjectNode subscribe(WsClient client, String conversation, Long since) {
    ObjectNode subscribe = frame("subscribe").put("conversation", conversation);
    if (since != null) subscribe.put("since", since);
    ObjectNode subscribed = client.request(subscribe);
    assertThat(subscribed.path("type").asText()).as("%s", subscribed).isEqualTo("subscribed");
    assertThat(subscribed.path("conversation").asText()).isEqualTo(conversation);
    return subscribed;
  }

  private static ObjectNode historyFrame(String conversation, Long before, int limit) {
    ObjectNode history = frame("history").put("conversation", conversation).put("limit", limit);
    if (before != null) history.put("before", before);
    return history;
  }

  /** A history page's events, checked to belong to the conversation. */
  private static List<ObjectNode> history(WsClient client, String conversation, Long before, int limit) {
    ObjectNode page = client.request(historyFrame(conversation, before, limit));
    assertThat(page.path("type").asText()).as("%s", page).isEqualTo("history");
    assertThat(page.path("conversation").asText()).isEqualTo(conversation);
    List<ObjectNode> events = list(page.path("events"));
    assertThat(events).allSatisfy(e -> assertThat(WsClient.isEventOf(conversation, e)).as("%s", e).isTrue());
    return events;
  }

  private static List<ObjectNode> list(JsonNode array) {
    assertThat(array.isArray()).as("%s is an array", array).isTrue();
    return StreamSupport.stream(array.spliterator(), false).map(ObjectNode.class::cast).toList();
  }

  private static List<ObjectNode> events(List<ObjectNode> frames) {
    return frames.stream().filter(f -> WsClient.TIMELINE_TYPES.contains(f.path("type").asText())).toList();
  }

  private static List<Long> range(long from, long to) {
    return LongStream.rangeClosed(from, to).boxed().toList();
  }

  /** One readable line per timeline event, with everything a client relies on. */
  private static List<String> lines(List<ObjectNode> events) {
    return events.stream().map(EndToEndScenarios::line).toList();
  }

  private static String line(JsonNode e) {
    long seq = e.path("seq").asLong();
    return switch (e.path("type").asText()) {
      case "message" -> seq + " message " + e.path("sender").asText() + "/" + e.path("clientMsgId").asText() + ": " + e.path("text").asText();
      case "conversation_created" -> seq + " created by " + e.path("createdBy").asText() + " with " + e.path("members") + " title " + e.path("title").asText();
      case "member_joined" -> seq + " joined " + e.path("user").asText() + " invited by " + e.path("invitedBy").asText();
      case "member_left" -> seq + " left " + e.path("user").asText();
      case "message_edited" -> seq + " edited " + e.path("target").asLong() + " by " + e.path("editor").asText() + ": " + e.path("text").asText();
      case "message_deleted" -> seq + " deleted " + e.path("target").asLong() + " by " + e.path("deletedBy").asText();
      default -> seq + " unexpected " + e;
    };
  }

  private static void assertError(JsonNode reply, String code) {
    assertThat(reply.path("type").asText()).as("%s", reply).isEqualTo("error");
    assertThat(reply.path("code").asText()).as("%s", reply).isEqualTo(code);
    assertThat(reply.path("message").asText()).as("%s", reply).isNotBlank();
  }

  private static void assertHttpError(ApiClient.Response response, int status, String code) {
    assertThat(response.status()).as("%s", response).isEqualTo(status);
    assertThat(response.body().path("type").asText()).as("%s", response).isEqualTo("error");
    assertThat(response.errorCode()).as("%s", response).isEqualTo(code);
  }
}
