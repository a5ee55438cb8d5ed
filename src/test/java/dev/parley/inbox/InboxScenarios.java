package dev.parley.inbox;

import static dev.parley.testing.WsClient.frame;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.parley.testing.ApiClient;
import dev.parley.testing.TestNode;
import dev.parley.testing.WsClient;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;
import java.util.function.Predicate;
import java.util.stream.StreamSupport;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The inbox (issue 4) over real websockets and real HTTP to a real node, with the read model fed
 * by the real projection: one behaviour per test. Subclasses choose the storage (H2, PostgreSQL).
 *
 * <p>Every test uses users of its own (random suffixes), so tests share the node but not inboxes.
 * The projection is asynchronous: a test waits for the {@code inbox_update} that announces the
 * state it then checks (the read model commits before it publishes), never for a fixed time.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
abstract class InboxScenarios {

  /** parley.inbox.max-page (application.conf). */
  static final int MAX_PAGE = 100;

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

  // ---- what an inbox shows --------------------------------------------------------------------

  @Test
  void theInboxListsConversationsByLastActivityWithTitlePreviewSeqsAndUnread() {
    String alice = user("alice");
    String bob = user("bob");
    WsClient a = connect(alice);
    WsClient b = connect(bob);
    String first = create(a, bob);
    awaitItem(a, first, 1);
    String second = create(a, bob);
    awaitItem(a, second, 1);
    String third = create(a, bob);
    awaitItem(a, third, 1);

    assertThat(send(b, first, "hello alice")).isEqualTo(2);
    awaitItem(a, first, 2);
    awaitItem(b, first, 2);

    ObjectNode page = inbox(a, 10, null);
    assertThat(lines(items(page)))
        .containsExactly(
            first + ": planning, lastSeq 2, preview 2 " + bob + ": hello alice, read 1, unread 1",
            third + ": planning, lastSeq 1, no preview, read 1, unread 0",
            second + ": planning, lastSeq 1, no preview, read 1, unread 0");
    assertThat(page.path("next").isNull()).isTrue();
    assertNewestActivityFirst(items(page));
    assertThat(lines(items(inbox(b, 10, null))))
        .containsExactly(
            first + ": planning, lastSeq 2, preview 2 " + bob + ": hello alice, read 2, unread 0",
            third + ": planning, lastSeq 1, no preview, read 0, unread 0",
            second + ": planning, lastSeq 1, no preview, read 0, unread 0");
  }

  @Test
  void unreadCountsOnlyOthersMessagesAndTheSendersOwnMessageMarksItRead() {
    String alice = user("alice");
    String bob = user("bob");
    WsClient a = connect(alice);
    WsClient b = connect(bob);
    String conversation = create(a, bob);
    for (int i = 1; i <= 3; i++) send(b, conversation, "from bob " + i);

    assertThat(line(awaitItem(a, conversation, 4)))
        .isEqualTo(conversation + ": planning, lastSeq 4, preview 4 " + bob + ": from bob 3, read 1, unread 3");
    assertThat(line(awaitItem(b, conversation, 4)))
        .isEqualTo(conversation + ": planning, lastSeq 4, preview 4 " + bob + ": from bob 3, read 4, unread 0");

    send(a, conversation, "from alice");

    assertThat(line(awaitItem(a, conversation, 5)))
        .isEqualTo(conversation + ": planning, lastSeq 5, preview 5 " + alice + ": from alice, read 5, unread 0");
    assertThat(line(awaitItem(b, conversation, 5)))
        .isEqualTo(conversation + ": planning, lastSeq 5, preview 5 " + alice + ": from alice, read 4, unread 1");
    assertThat(line(itemIn(inbox(a, 10, null), conversation))).endsWith("read 5, unread 0");
    assertThat(line(itemIn(inbox(b, 10, null), conversation))).endsWith("read 4, unread 1");
  }

  /**
   * A burst from several members lands in few projection batches: every member's read position is
   * their own last message and their unread count is what the others sent after it, exactly.
   */
  @Test
  void interleavedBurstsFromSeveralMembersCountExactly() {
    String alice = user("alice");
    String bob = user("bob");
    String carol = user("carol");
    Map<String, WsClient> byUser = Map.of(alice, connect(alice), bob, connect(bob), carol, connect(carol));
    String conversation = create(byUser.get(alice), bob, carol);
    awaitItem(byUser.get(carol), conversation, 1);
    List<String> order = List.of(alice, bob, bob, carol, alice, bob, carol, carol, bob, alice, bob, bob);
    for (int i = 0; i < order.size(); i++) {
      byUser.get(order.get(i)).send(
          frame("send").put("conversation", conversation).put("clientMsgId", "burst-" + i).put("text", "burst " + i).put("id", "burst-" + i));
    }
    Map<Long, String> senderBySeq = new TreeMap<>();
    for (int i = 0; i < order.size(); i++) {
      String id = "burst-" + i;
      ObjectNode ack = byUser.get(order.get(i)).expect(f -> id.equals(f.path("id").asText()), "the ack of " + id);
      assertThat(ack.path("type").asText()).as("%s", ack).isEqualTo("ack");
      senderBySeq.put(ack.path("seq").asLong(), order.get(i));
    }
    long lastSeq = 1 + order.size();
    assertThat(senderBySeq.keySet()).containsExactlyElementsOf(java.util.stream.LongStream.rangeClosed(2, lastSeq).boxed().toList());

    for (String member : List.of(alice, bob, carol)) {
      long read = member.equals(alice) ? 1 : 0;
      for (Map.Entry<Long, String> m : senderBySeq.entrySet()) if (m.getValue().equals(member)) read = m.getKey();
      long readSeq = read;
      long unread = senderBySeq.entrySet().stream().filter(m -> m.getKey() > readSeq && !m.getValue().equals(member)).count();
      assertThat(line(awaitItem(byUser.get(member), conversation, lastSeq))).as(member).endsWith("read " + readSeq + ", unread " + unread);
      assertThat(line(itemIn(inbox(byUser.get(member), 10, null), conversation))).as(member).endsWith("read " + readSeq + ", unread " + unread);
    }
  }

  @Test
  void aReadMarkerReachesEveryConnectionOfTheUserAndOtherSubscribersGetAReadReceipt() {
    String alice = user("alice");
    String bob = user("bob");
    WsClient phone = connect(alice);
    WsClient laptop = connect(alice);
    WsClient b = connect(bob);
    String conversation = create(b, alice);
    subscribe(b, conversation);
    for (int i = 1; i <= 4; i++) send(b, conversation, "news " + i); // seqs 2..5
    awaitItem(phone, conversation, 5);
    awaitItem(laptop, conversation, 5);

    ObjectNode ok = phone.request(readFrame(conversation, 3));

    assertThat(ok.toString()).isEqualTo(okJson(ok, conversation, 3, 2));
    for (WsClient device : List.of(phone, laptop)) {
      assertThat(line(awaitUpdate(device, conversation, f -> f.path("readSeq").asLong() == 3)))
          .isEqualTo(conversation + ": planning, lastSeq 5, preview 5 " + bob + ": news 4, read 3, unread 2");
    }
    ObjectNode receipt = b.expect("read_receipt");
    assertThat(receipt.toString())
        .isEqualTo("{\"type\":\"read_receipt\",\"conversation\":\"" + conversation + "\",\"user\":\"" + alice + "\",\"seq\":3}");
    assertThat(types(phone.framesBeforePong())).doesNotContain("read_receipt");

    // Past the end: clamped to the last seq.
    ObjectNode all = laptop.request(readFrame(conversation, 99));
    assertThat(all.toString()).isEqualTo(okJson(all, conversation, 5, 0));
    assertThat(line(awaitUpdate(phone, conversation, f -> f.path("readSeq").asLong() == 5))).endsWith("read 5, unread 0");
    // Back: the messages after it are unread again.
    ObjectNode back = laptop.request(readFrame(conversation, 1));
    assertThat(back.toString()).isEqualTo(okJson(back, conversation, 1, 4));
    assertThat(line(awaitUpdate(phone, conversation, f -> f.path("readSeq").asLong() == 1))).endsWith("read 1, unread 4");
    assertThat(line(itemIn(inbox(phone, 10, null), conversation))).endsWith("read 1, unread 4");
    assertThat(b.expect(f -> "read_receipt".equals(f.path("type").asText()) && f.path("seq").asLong() == 1, "the receipt of seq 1"))
        .isNotNull();
  }

  @Test
  void aConnectionHearsOfActivityInConversationsItNeverSubscribedTo() {
    String alice = user("alice");
    String bob = user("bob");
    WsClient a = connect(alice);
    WsClient b = connect(bob);

    String conversation = create(b, alice);
    send(b, conversation, "are you there?");

    assertThat(line(awaitItem(a, conversation, 2)))
        .isEqualTo(conversation + ": planning, lastSeq 2, preview 2 " + bob + ": are you there?, read 0, unread 1");
    assertThat(a.framesBeforePong()).noneMatch(f -> WsClient.TIMELINE_TYPES.contains(f.path("type").asText()));
  }

  // ---- paging ---------------------------------------------------------------------------------

  @Test
  void keysetPagesAreDisjointCompleteOrderedAndStableWhileMessagesArrive() {
    String alice = user("alice");
    WsClient a = connect(alice);
    for (int i = 0; i < 25; i++) create(a);
    await()
        .atMost(Duration.ofSeconds(30))
        .untilAsserted(() -> assertThat(items(inbox(a, MAX_PAGE, null))).hasSize(25));
    List<String> all = conversations(items(inbox(a, MAX_PAGE, null)));
    assertNewestActivityFirst(items(inbox(a, MAX_PAGE, null)));

    ObjectNode page1 = inbox(a, 10, null);
    assertThat(conversations(items(page1))).containsExactlyElementsOf(all.subList(0, 10));
    assertThat(page1.path("next").isTextual()).isTrue();

    // Between pages: activity in an item already seen and in one not seen yet; both move to the top.
    String seen = all.get(3);
    String unseen = all.get(15);
    send(a, seen, "bump seen");
    send(a, unseen, "bump unseen");
    awaitItem(a, seen, 2);
    awaitItem(a, unseen, 2);

    ObjectNode page2 = inbox(a, 10, page1.path("next").asText());
    ObjectNode page3 = inbox(a, 10, page2.path("next").asText());

    List<String> rest = new ArrayList<>(all.subList(10, 25));
    rest.remove(unseen); // above the cursor now: the client got its inbox_update instead
    assertThat(conversations(items(page2))).containsExactlyElementsOf(rest.subList(0, 10));
    assertThat(conversations(items(page3))).containsExactlyElementsOf(rest.subList(10, 14));
    assertThat(page3.path("next").isNull()).isTrue();
    Set<String> union = new HashSet<>();
    for (ObjectNode page : List.of(page1, page2, page3)) {
      assertNewestActivityFirst(items(page));
      for (String c : conversations(items(page))) assertThat(union.add(c)).as("%s on two pages", c).isTrue();
    }
    union.add(unseen);
    assertThat(union).containsExactlyInAnyOrderElementsOf(all);
    assertThat(conversations(items(inbox(a, 2, null)))).containsExactly(unseen, seen);
  }

  @Test
  void leavingRemovesTheItemAndItsUpdates() {
    String alice = user("alice");
    String bob = user("bob");
    WsClient a = connect(alice);
    WsClient b = connect(bob);
    String kept = create(a, bob);
    String left = create(a, bob);
    awaitItem(b, kept, 1);
    awaitItem(b, left, 1);

    ObjectNode ok = b.request(frame("leave").put("conversation", left));
    assertThat(ok.path("type").asText()).as("%s", ok).isEqualTo("ok");

    assertThat(b.expect(f -> "inbox_update".equals(f.path("type").asText()) && f.path("removed").asBoolean(), "the removal").toString())
        .isEqualTo("{\"type\":\"inbox_update\",\"conversation\":\"" + left + "\",\"removed\":true}");
    assertThat(line(awaitItem(a, left, 2))).isEqualTo(left + ": planning, lastSeq 2, no preview, read 1, unread 0");
    assertThat(conversations(items(inbox(b, 10, null)))).containsExactly(kept);
    assertThat(conversations(items(node.api().get("/v1/inbox", node.token(bob)).body()))).containsExactly(kept);

    send(a, left, "bob is gone");
    awaitItem(a, left, 3);
    assertThat(b.framesBeforePong()).noneMatch(f -> left.equals(f.path("conversation").asText()));
  }

  /**
   * A leave and a re-invite usually reach the projection in one batch: the user must end up with
   * the item, not with a removal delivered after it.
   */
  @Test
  void leavingAndBeingInvitedBackAtOnceLeavesTheItemInTheInbox() {
    String alice = user("alice");
    String bob = user("bob");
    WsClient a = connect(alice);
    WsClient b = connect(bob);
    String conversation = create(a, bob);
    awaitItem(b, conversation, 1);

    b.send(frame("leave").put("conversation", conversation).put("id", "leave"));
    assertThat(b.expect(f -> "leave".equals(f.path("id").asText()), "the leave's ok").path("type").asText()).isEqualTo("ok");
    assertThat(a.request(frame("invite").put("conversation", conversation).put("user", bob)).path("seq").asLong()).isEqualTo(3);

    // Bob's updates of the conversation in arrival order: a removal may come first (the leave in a
    // batch of its own), but the re-invite's item must be the last word.
    List<String> updates = new ArrayList<>();
    ObjectNode update;
    do {
      update = awaitUpdate(b, conversation, f -> true);
      updates.add(update.has("removed") ? "removed" : "lastSeq " + update.path("lastSeq").asLong());
    } while (update.has("removed") || update.path("lastSeq").asLong() < 3);
    assertThat(line(update)).as("%s", updates).isEqualTo(conversation + ": planning, lastSeq 3, no preview, read 3, unread 0");
    List<ObjectNode> later = b.framesBeforePong();
    assertThat(later).as("frames after the re-invite's item (before it: %s)", updates).noneMatch(f -> conversation.equals(f.path("conversation").asText()));
    assertThat(conversations(items(inbox(b, 10, null)))).containsExactly(conversation);
  }

  @Test
  void anInvitedUserFindsTheConversationOnTopWithWhatWasSaidBeforeRead() {
    String alice = user("alice");
    String bob = user("bob");
    WsClient a = connect(alice);
    WsClient b = connect(bob);
    String older = create(b);
    awaitItem(b, older, 1);
    String conversation = create(a);
    send(a, conversation, "before bob");
    send(a, conversation, "still before bob");

    ObjectNode invited = a.request(frame("invite").put("conversation", conversation).put("user", bob));
    assertThat(invited.path("seq").asLong()).as("%s", invited).isEqualTo(4);

    assertThat(line(awaitItem(b, conversation, 4)))
        .isEqualTo(conversation + ": planning, lastSeq 4, preview 3 " + alice + ": still before bob, read 4, unread 0");
    assertThat(conversations(items(inbox(b, 10, null)))).containsExactly(conversation, older);
    send(a, conversation, "welcome");
    assertThat(line(awaitItem(b, conversation, 5))).endsWith("read 4, unread 1");
  }

  @Test
  void editingAndDeletingThePreviewMessageUpdatesThePreview() {
    String alice = user("alice");
    String bob = user("bob");
    WsClient a = connect(alice);
    WsClient b = connect(bob);
    String conversation = create(a, bob);
    send(b, conversation, "helo"); // 2
    awaitItem(a, conversation, 2);

    edit(b, conversation, 2, "hello"); // 3
    assertThat(line(awaitItem(a, conversation, 3)))
        .isEqualTo(conversation + ": planning, lastSeq 3, preview 2 " + bob + ": hello, read 1, unread 1");
    send(b, conversation, "second"); // 4
    edit(b, conversation, 2, "hello!"); // 5: not the preview
    assertThat(line(awaitItem(a, conversation, 5)))
        .isEqualTo(conversation + ": planning, lastSeq 5, preview 4 " + bob + ": second, read 1, unread 2");

    delete(b, conversation, 4); // 6
    ObjectNode deleted = awaitItem(a, conversation, 6);
    assertThat(deleted.path("preview").toString())
        .isEqualTo("{\"seq\":4,\"sender\":\"" + bob + "\",\"text\":null,\"deleted\":true}");
    assertThat(line(deleted)).isEqualTo(conversation + ": planning, lastSeq 6, preview 4 " + bob + ": <deleted>, read 1, unread 1");
    assertThat(itemIn(node.api().get("/v1/inbox", node.token(alice)).body(), conversation)).isEqualTo(withoutType(deleted));
  }

  @Test
  void deletingAnUnreadMessageDecrementsUnreadAndAReadOneDoesNot() {
    String alice = user("alice");
    String bob = user("bob");
    WsClient a = connect(alice);
    WsClient b = connect(bob);
    String conversation = create(a, bob);
    for (int i = 1; i <= 3; i++) send(b, conversation, "m" + i); // 2, 3, 4
    awaitItem(a, conversation, 4);
    assertThat(a.request(readFrame(conversation, 2)).path("unread").asInt()).isEqualTo(2);

    delete(b, conversation, 2); // 5: alice had read it
    assertThat(line(awaitItem(a, conversation, 5))).endsWith("read 2, unread 2");
    delete(b, conversation, 3); // 6: alice had not
    assertThat(line(awaitItem(a, conversation, 6))).endsWith("read 2, unread 1");
    assertThat(line(awaitItem(b, conversation, 6))).endsWith("read 4, unread 0");

    // A recount from the start no longer counts the deleted messages.
    assertThat(a.request(readFrame(conversation, 0)).path("unread").asInt()).isEqualTo(1);
  }

  // ---- HTTP -----------------------------------------------------------------------------------

  @Test
  void theHttpInboxAndReadMarkerBehaveLikeTheWebsocketOnes() {
    String alice = user("alice");
    String bob = user("bob");
    WsClient a = connect(alice);
    WsClient b = connect(bob);
    String one = create(b, alice);
    String two = create(b, alice);
    String three = create(b, alice);
    subscribe(b, two);
    send(b, two, "over http soon");
    awaitItem(a, one, 1);
    awaitItem(a, three, 1);
    awaitItem(a, two, 2);
    ApiClient api = node.api();
    String token = node.token(alice);

    ApiClient.Response firstPage = api.get("/v1/inbox?limit=2", token);
    assertThat(firstPage.status()).isEqualTo(200);
    assertThat(firstPage.body().has("type")).isFalse();
    assertThat(firstPage.body().path("items")).isEqualTo(inbox(a, 2, null).path("items"));
    String next = firstPage.body().path("next").asText();
    assertThat(next).isEqualTo(inbox(a, 2, null).path("next").asText());
    ApiClient.Response secondPage = api.get("/v1/inbox?limit=2&cursor=" + URLEncoder.encode(next, StandardCharsets.UTF_8), token);
    assertThat(conversations(items(firstPage.body()))).containsExactly(two, three);
    assertThat(conversations(items(secondPage.body()))).containsExactly(one);
    assertThat(secondPage.body().path("next").isNull()).isTrue();

    ApiClient.Response read = api.post("/v1/conversations/" + two + "/read", token, "{\"seq\":2}");

    assertThat(read.status()).isEqualTo(200);
    assertThat(read.body().toString()).isEqualTo("{\"conversation\":\"" + two + "\",\"seq\":2,\"unread\":0}");
    assertThat(line(awaitUpdate(a, two, f -> f.path("readSeq").asLong() == 2))).endsWith("read 2, unread 0");
    assertThat(b.expect("read_receipt").path("user").asText()).isEqualTo(alice);
    assertThat(api.post("/v1/conversations/" + two + "/read", token, "{\"seq\":1}").body().path("unread").asInt()).isEqualTo(1);
  }

  // ---- mute (issue 21) ------------------------------------------------------------------------

  @Test
  void aMuteShowsInTheInboxOfEveryDeviceKeepsThroughNewMessagesAndIsSetOverHttpToo() {
    String alice = user("alice");
    String bob = user("bob");
    WsClient phone = connect(alice);
    WsClient laptop = connect(alice);
    WsClient b = connect(bob);
    String conversation = create(b, alice);
    send(b, conversation, "hello"); // seq 2
    awaitItem(phone, conversation, 2);
    awaitItem(laptop, conversation, 2);
    assertThat(itemIn(inbox(phone, 10, null), conversation).get("muted").asBoolean()).as("not muted until asked").isFalse();

    ObjectNode ok = phone.request(frame("mute").put("conversation", conversation).put("muted", true));

    assertThat(ok.path("type").asText()).isEqualTo("ok");
    assertThat(ok.path("muted").asBoolean()).isTrue();
    ObjectNode onLaptop = awaitUpdate(laptop, conversation, f -> f.path("muted").asBoolean());
    assertThat(line(onLaptop)).endsWith("lastSeq 2, preview 2 " + bob + ": hello, read 0, unread 1");
    assertThat(itemIn(inbox(laptop, 10, null), conversation).get("muted").asBoolean()).isTrue();
    // A new message's update still says muted (the projection reads the mute), and only for alice.
    send(b, conversation, "still there?"); // seq 3
    assertThat(awaitItem(laptop, conversation, 3).get("muted").asBoolean()).isTrue();
    assertThat(itemIn(inbox(b, 10, null), conversation).get("muted").asBoolean()).isFalse();

    ApiClient api = node.api();
    String token = node.token(alice);
    String mute = "/v1/conversations/" + conversation + "/mute";
    assertThat(itemIn(api.get("/v1/inbox", token).body(), conversation).get("muted").asBoolean()).isTrue();
    ApiClient.Response unmuted = api.post(mute, token, "{\"muted\":false}");
    assertThat(unmuted.status()).isEqualTo(200);
    assertThat(unmuted.body().toString()).isEqualTo("{\"conversation\":\"" + conversation + "\",\"muted\":false}");
    // The websocket devices hear of the HTTP change too.
    assertThat(awaitUpdate(phone, conversation, f -> f.path("lastSeq").asLong() == 3 && !f.path("muted").asBoolean(true))).isNotNull();
    assertThat(itemIn(inbox(phone, 10, null), conversation).get("muted").asBoolean()).isFalse();
    // Like the frame, a body without "muted" mutes.
    assertThat(api.post(mute, token, "{}").body().path("muted").asBoolean()).isTrue();
    assertThat(itemIn(api.get("/v1/inbox", token).body(), conversation).get("muted").asBoolean()).isTrue();
  }

  // ---- errors ---------------------------------------------------------------------------------

  @Test
  void badInboxRequestsAreAnsweredWithProtocolErrors() {
    String alice = user("alice");
    WsClient a = connect(alice);
    String mine = create(a);
    String theirs = create(connect(user("bob")));
    String unknown = "inbox-it-" + UUID.randomUUID();
    ApiClient api = node.api();
    String token = node.token(alice);

    assertError(a.request(frame("inbox").put("cursor", "not-a-cursor")), "bad_request");
    assertError(a.request(frame("inbox").put("limit", 0)), "bad_request");
    assertError(a.request(frame("read").put("conversation", theirs).put("seq", 1)), "forbidden");
    assertError(a.request(frame("read").put("conversation", unknown).put("seq", 1)), "not_found");
    assertError(a.request(frame("read").put("conversation", mine).put("seq", -1)), "bad_request");
    assertThat(a.pingPong().path("type").asText()).isEqualTo("pong"); // still connected

    assertHttpError(api.get("/v1/inbox?cursor=not-a-cursor", token), 400, "bad_request");
    assertHttpError(api.get("/v1/inbox?limit=0", token), 400, "bad_request");
    assertHttpError(api.get("/v1/inbox?limit=lots", token), 400, "bad_request");
    assertHttpError(api.post("/v1/conversations/" + theirs + "/read", token, "{\"seq\":1}"), 403, "forbidden");
    assertHttpError(api.post("/v1/conversations/" + unknown + "/read", token, "{\"seq\":1}"), 404, "not_found");
    assertHttpError(api.post("/v1/conversations/" + mine + "/read", token, "{}"), 400, "bad_request");
    assertHttpError(api.post("/v1/conversations/" + mine + "/read", token, "{\"seq\":"), 400, "bad_request");
    assertHttpError(api.get("/v1/inbox", null), 401, "unauthorized");
    assertHttpError(api.get("/v1/inbox", "not.a.token"), 401, "unauthorized");
    assertHttpError(api.post("/v1/conversations/" + mine + "/read", null, "{\"seq\":1}"), 401, "unauthorized");
    assertHttpError(api.post("/v1/conversations/" + mine + "/read", "not.a.token", "{\"seq\":1}"), 401, "unauthorized");
    assertHttpError(api.post("/v1/conversations/" + theirs + "/mute", token, "{\"muted\":true}"), 403, "forbidden");
    assertHttpError(api.post("/v1/conversations/" + unknown + "/mute", token, "{\"muted\":true}"), 404, "not_found");
    assertHttpError(api.post("/v1/conversations/" + mine + "/mute", token, "{\"muted\":\"yes\"}"), 400, "bad_request");
    assertHttpError(api.post("/v1/conversations/" + mine + "/mute", null, "{\"muted\":true}"), 401, "unauthorized");
  }

  @Test
  void aLimitAboveTheMaximumIsCapped() throws SQLException {
    String carol = user("carol");
    seed(carol, MAX_PAGE + 5);
    WsClient c = connect(carol);

    ObjectNode page = inbox(c, 1000, null);

    assertThat(items(page)).hasSize(MAX_PAGE);
    assertThat(page.path("next").isTextual()).isTrue();
    assertThat(items(inbox(c, 1000, page.path("next").asText()))).hasSize(5);
    ApiClient.Response http = node.api().get("/v1/inbox?limit=1000", node.token(carol));
    assertThat(items(http.body())).hasSize(MAX_PAGE);
    assertThat(http.body().path("items")).isEqualTo(page.path("items"));
  }

  // ---- cost -----------------------------------------------------------------------------------

  @Test
  void connectingSendsNothingEvenToAUserWithManyConversations() throws SQLException {
    String dave = user("dave");
    seed(dave, 2_000);

    WsClient d = connect(dave);

    assertThat(d.framesBeforePong()).isEmpty();
    assertThat(items(inbox(d, 5, null))).hasSize(5);
  }

  /**
   * Issue 4: connecting and fetching a page cost the same number of SQL statements for a user with
   * 10 conversations as for one with 10,000, and a page is one statement. Counted by the read
   * model's own statement counter (every statement InboxStore executes, counted where it executes it), with the projection idle.
   */
  @Test
  void connectingAndAPageCostTheSameStatementsFor10And10000Conversations() throws Exception {
    String few = user("few");
    String many = user("many");
    seed(few, 10);
    seed(many, 10_000);
    InboxStore store = node.inboxStore();
    awaitProjectionIdle();

    int entitiesBefore = node.liveConversations();
    long[] connectFew = connectAndPage(store, few);
    long[] connectMany = connectAndPage(store, many);
    int entitiesAfter = node.liveConversations();

    System.out.printf("inbox statements: connect+ping %d / %d, page of 50 %d / %d (10 / 10,000 conversations);"
            + " conversation entities started %d%n",
        connectFew[0], connectMany[0], connectFew[1], connectMany[1], entitiesAfter - entitiesBefore);
    assertThat(connectMany[0]).as("statements to connect and ping").isEqualTo(connectFew[0]);
    assertThat(connectMany[1]).as("statements for a page of 50").isEqualTo(connectFew[1]).isEqualTo(1);
    // The journal side: its reads go through conversation entities; connecting and paging start none.
    assertThat(entitiesAfter).as("conversation entities alive (idle ones may passivate meanwhile)").isLessThanOrEqualTo(entitiesBefore);
  }

  /** {statements for connect + ping, statements for one page of 50}. */
  private long[] connectAndPage(InboxStore store, String user) {
    long before = store.statementsExecuted();
    WsClient client = connect(user);
    client.pingPong();
    long connected = store.statementsExecuted();
    ObjectNode page = inbox(client, 50, null);
    long paged = store.statementsExecuted();
    assertThat(items(page)).hasSize(Math.min(50, seededCount(user)));
    return new long[] {connected - before, paged - connected};
  }

  // ---- restart --------------------------------------------------------------------------------

  /**
   * After a restart the projection resumes from its stored offsets: messages sent before and after
   * count exactly once, and the new node applies only the new events, not the journal again.
   */
  @Test
  void afterARestartTheProjectionResumesFromItsStoredOffsets() throws Exception {
    try (TestNode own = startNode()) {
      String alice = user("alice");
      String bob = user("bob");
      String conversation;
      int before = 60; // a replay from 0 would cost at least this many statements; resuming costs ~10-20
      try (WsClient a = own.connect(alice);
          WsClient b = own.connect(bob)) {
        conversation = create(a, bob);
        for (int i = 1; i <= before; i++) send(b, conversation, "before " + i);
        assertThat(line(awaitItem(a, conversation, before + 1))).endsWith("read 1, unread " + before);
      }
      Map<String, Long> offsetsBefore = offsets(own);
      assertThat(offsetsBefore.get(tagOf(conversation))).isPositive();

      own.restart();
      long statementsAtStart = own.inboxStore().statementsExecuted();
      try (WsClient a = own.connect(alice);
          WsClient b = own.connect(bob)) {
        send(b, conversation, "after 1");
        send(b, conversation, "after 2");
        assertThat(line(awaitItem(a, conversation, before + 3)))
            .isEqualTo(
                conversation + ": planning, lastSeq " + (before + 3) + ", preview " + (before + 3) + " " + bob
                    + ": after 2, read 1, unread " + (before + 2));
        assertThat(line(itemIn(inbox(a, 10, null), conversation))).endsWith("read 1, unread " + (before + 2));
      }
      long statementsAfterRestart = own.inboxStore().statementsExecuted() - statementsAtStart;
      Map<String, Long> offsetsAfter = offsets(own);
      offsetsBefore.forEach((tag, ordering) -> assertThat(offsetsAfter.get(tag)).as("offset of %s", tag).isGreaterThanOrEqualTo(ordering));
      assertThat(offsetsAfter.get(tagOf(conversation))).isGreaterThan(offsetsBefore.get(tagOf(conversation)));
      // Replaying the journal from 0 would run at least one (guarded) statement per earlier event.
      System.out.printf("inbox statements of the restarted node (2 new messages, 1 page; a rescan would be > %d): %d%n", before, statementsAfterRestart);
      assertThat(statementsAfterRestart).as("statements of the restarted node's read model").isLessThan(before);
    }
  }

  // ---- helpers --------------------------------------------------------------------------------

  private static String tagOf(String conversation) {
    return dev.parley.conversation.ProjectionTags.of(conversation);
  }

  private static Map<String, Long> offsets(TestNode on) throws SQLException {
    Map<String, Long> offsets = new TreeMap<>();
    try (Connection c = on.openDatabase();
        Statement s = c.createStatement();
        ResultSet r = s.executeQuery("SELECT tag, journal_ordering FROM inbox_offset")) {
      while (r.next()) offsets.put(r.getString(1), r.getLong(2));
    }
    return offsets;
  }

  /**
   * Waits until every projection tag has applied the newest event of its tag in the journal: no
   * events are flowing, so statements counted afterwards are the test's own.
   */
  private void awaitProjectionIdle() {
    await()
        .atMost(Duration.ofSeconds(30))
        .pollInterval(Duration.ofMillis(100))
        .untilAsserted(
            () -> {
              try (Connection c = node.openDatabase();
                  Statement s = c.createStatement();
                  ResultSet r =
                      s.executeQuery(
                          // Quoted: H2's journal tables have lower-case quoted names (PostgreSQL folds to the same).
                          "SELECT COUNT(*) FROM (SELECT \"tag\" AS tag, MAX(\"event_id\") AS newest FROM \"event_tag\" GROUP BY \"tag\") t"
                              + " LEFT JOIN inbox_offset o ON o.tag = t.tag"
                              + " WHERE o.journal_ordering IS NULL OR o.journal_ordering < t.newest")) {
                r.next();
                assertThat(r.getLong(1)).as("projection tags behind the journal").isZero();
              }
            });
  }

  private final Map<String, Integer> seeded = new java.util.concurrent.ConcurrentHashMap<>();

  private int seededCount(String user) {
    return seeded.getOrDefault(user, 0);
  }

  /**
   * Puts {@code count} conversations of {@code user} straight into the read model (not the
   * journal): what a user with that many conversations has, without creating them one by one.
   */
  private void seed(String user, int count) throws SQLException {
    long base = System.currentTimeMillis() - 86_400_000L;
    try (Connection c = node.openDatabase()) {
      c.setAutoCommit(false);
      try (PreparedStatement conversation =
              c.prepareStatement(
                  "INSERT INTO inbox_conversation (conversation_id, title, last_seq, last_activity, preview_seq, preview_sender, preview_text)"
                      + " VALUES (?, ?, 2, ?, 2, 'someone', 'seeded')");
          PreparedStatement entry =
              c.prepareStatement(
                  "INSERT INTO inbox_entry (user_id, conversation_id, last_activity, read_seq, unread) VALUES (?, ?, ?, 1, 1)")) {
        for (int i = 0; i < count; i++) {
          String id = "seed-" + user + "-" + i;
          conversation.setString(1, id);
          conversation.setString(2, "seeded " + i);
          conversation.setLong(3, base + i);
          conversation.addBatch();
          entry.setString(1, user);
          entry.setString(2, id);
          entry.setLong(3, base + i);
          entry.addBatch();
          if (i % 1000 == 999) {
            conversation.executeBatch();
            entry.executeBatch();
          }
        }
        conversation.executeBatch();
        entry.executeBatch();
      }
      c.commit();
    }
    seeded.put(user, count);
  }

  private static String user(String name) {
    return name + "-" + UUID.randomUUID().toString().substring(0, 8);
  }

  private WsClient connect(String user) {
    WsClient client = node.connect(user);
    clients.add(client);
    return client;
  }

  /** Creates a conversation with a new id, titled "planning"; the creator is a member. */
  private static String create(WsClient creator, String... members) {
    String conversation = "inbox-it-" + UUID.randomUUID();
    ObjectNode create = frame("create").put("conversation", conversation).put("title", "planning");
    ArrayNode list = create.putArray("members");
    for (String m : members) list.add(m);
    ObjectNode created = creator.request(create);
    assertThat(created.path("type").asText()).as("%s", created).isEqualTo("created");
    awaitTheNextMillisecond();
    return conversation;
  }

  /**
   * Inbox order is by activity time in milliseconds (ties: conversation id), so two steps a test
   * orders must not share a millisecond: on a warm node a create and the next send can. Each step
   * that the tests order ends here, after its reply, which came after its event's time was taken.
   */
  private static void awaitTheNextMillisecond() {
    long replied = System.currentTimeMillis();
    await().pollDelay(Duration.ZERO).pollInterval(Duration.ofMillis(1)).atMost(Duration.ofSeconds(1))
        .until(() -> System.currentTimeMillis() > replied);
  }

  private static long send(WsClient sender, String conversation, String text) {
    ObjectNode ack =
        sender.request(frame("send").put("conversation", conversation).put("clientMsgId", UUID.randomUUID().toString()).put("text", text));
    assertThat(ack.path("type").asText()).as("%s", ack).isEqualTo("ack");
    awaitTheNextMillisecond();
    return ack.path("seq").asLong();
  }

  private static void edit(WsClient editor, String conversation, long seq, String text) {
    ObjectNode ok = editor.request(frame("edit").put("conversation", conversation).put("seq", seq).put("text", text));
    assertThat(ok.path("type").asText()).as("%s", ok).isEqualTo("ok");
  }

  private static void delete(WsClient deleter, String conversation, long seq) {
    ObjectNode ok = deleter.request(frame("delete").put("conversation", conversation).put("seq", seq));
    assertThat(ok.path("type").asText()).as("%s", ok).isEqualTo("ok");
  }

  private static void subscribe(WsClient client, String conversation) {
    ObjectNode subscribed = client.request(frame("subscribe").put("conversation", conversation));
    assertThat(subscribed.path("type").asText()).as("%s", subscribed).isEqualTo("subscribed");
  }

  private static ObjectNode readFrame(String conversation, long seq) {
    return frame("read").put("conversation", conversation).put("seq", seq);
  }

  /** The {@code ok} a read marker is answered with, as JSON text, with the reply's own id. */
  private static String okJson(ObjectNode reply, String conversation, long seq, int unread) {
    return "{\"type\":\"ok\",\"id\":" + reply.get("id") + ",\"conversation\":\"" + conversation + "\",\"seq\":" + seq + ",\"unread\":" + unread + "}";
  }

  /** An inbox page over the websocket; {@code cursor} null: the first page. */
  private static ObjectNode inbox(WsClient client, int limit, String cursor) {
    ObjectNode request = frame("inbox").put("limit", limit);
    if (cursor != null) request.put("cursor", cursor);
    ObjectNode page = client.request(request);
    assertThat(page.path("type").asText()).as("%s", page).isEqualTo("inbox");
    return page;
  }

  /** The {@code inbox_update} of {@code conversation} announcing {@code lastSeq}. */
  private static ObjectNode awaitItem(WsClient client, String conversation, long lastSeq) {
    return awaitUpdate(client, conversation, f -> f.path("lastSeq").asLong() == lastSeq);
  }

  private static ObjectNode awaitUpdate(WsClient client, String conversation, Predicate<JsonNode> wanted) {
    return client.expect(
        f -> "inbox_update".equals(f.path("type").asText()) && conversation.equals(f.path("conversation").asText()) && wanted.test(f),
        "an inbox_update of " + conversation);
  }

  private static List<ObjectNode> items(JsonNode page) {
    JsonNode items = page.path("items");
    assertThat(items.isArray()).as("%s has items", page).isTrue();
    return StreamSupport.stream(items.spliterator(), false).map(ObjectNode.class::cast).toList();
  }

  private static ObjectNode itemIn(JsonNode page, String conversation) {
    return items(page).stream()
        .filter(i -> conversation.equals(i.path("conversation").asText()))
        .findFirst()
        .orElseThrow(() -> new AssertionError(conversation + " is not in " + page));
  }

  private static ObjectNode withoutType(ObjectNode update) {
    ObjectNode copy = update.deepCopy();
    copy.remove("type");
    return copy;
  }

  private static List<String> conversations(List<ObjectNode> items) {
    return items.stream().map(i -> i.path("conversation").asText()).toList();
  }

  private static List<String> types(List<ObjectNode> frames) {
    return frames.stream().map(f -> f.path("type").asText()).toList();
  }

  private static void assertNewestActivityFirst(List<ObjectNode> items) {
    Comparator<ObjectNode> newestFirst =
        Comparator.<ObjectNode>comparingLong(i -> i.path("lastActivity").asLong())
            .thenComparing(i -> i.path("conversation").asText())
            .reversed();
    assertThat(items).isSortedAccordingTo(newestFirst);
  }

  /** One readable line per inbox item, with everything a client shows. */
  private static List<String> lines(List<ObjectNode> items) {
    return items.stream().map(InboxScenarios::line).toList();
  }

  private static String line(JsonNode item) {
    JsonNode preview = item.path("preview");
    String shown =
        preview.isNull()
            ? "no preview"
            : "preview " + preview.path("seq").asLong() + " " + preview.path("sender").asText() + ": "
                + (preview.path("deleted").asBoolean() ? "<deleted>" : preview.path("text").asText());
    return item.path("conversation").asText() + ": " + item.path("title").asText() + ", lastSeq " + item.path("lastSeq").asLong()
        + ", " + shown + ", read " + item.path("readSeq").asLong() + ", unread " + item.path("unread").asInt();
  }

  private static void assertError(JsonNode reply, String code) {
    assertThat(reply.path("type").asText()).as("%s", reply).isEqualTo("error");
    assertThat(reply.path("code").asText()).as("%s", reply).isEqualTo(code);
    assertThat(reply.path("message").asText()).as("%s", reply).isNotBlank();
  }

  private static void assertHttpError(ApiClient.Response response, int status, String code) {
    assertThat(response.status()).as("%s", response).isEqualTo(status);
    assertThat(response.errorCode()).as("%s", response).isEqualTo(code);
  }
}
