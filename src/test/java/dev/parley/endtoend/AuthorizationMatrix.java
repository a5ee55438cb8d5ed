package dev.parley.endtoend;

import static dev.parley.testing.WsClient.frame;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.parley.testing.ApiClient;
import dev.parley.testing.TestNode;
import dev.parley.testing.WsClient;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.assertj.core.api.SoftAssertions;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Authorization on every path: a user who is not a member of a conversation can do none of the
 * things its members can, over the websocket or over HTTP, and the conversation is unchanged by
 * the attempts. Each refused path is also shown to work for a member, so a refusal cannot come
 * from a broken request. Runs on H2 and on PostgreSQL.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
abstract class AuthorizationMatrix {

  private TestNode node;

  protected abstract TestNode startNode() throws Exception;

  @BeforeAll
  void start() throws Exception {
    node = startNode();
  }

  @AfterAll
  void stop() throws Exception {
    node.close();
  }

  /** One websocket request, as a given user would send it, and the reply type a member gets. */
  private record WsAction(String name, String okType, ObjectNode frame) {}

  private List<WsAction> wsActions(String conversation, long ownMessageSeq) {
    return List.of(
        new WsAction("history", "history", frame("history").put("conversation", conversation)),
        new WsAction("subscribe", "subscribed", frame("subscribe").put("conversation", conversation).put("since", 0)),
        new WsAction("send", "ack", frame("send").put("conversation", conversation).put("clientMsgId", UUID.randomUUID().toString()).put("text", "x")),
        new WsAction("edit", "ok", frame("edit").put("conversation", conversation).put("seq", ownMessageSeq).put("text", "edited")),
        new WsAction("read", "ok", frame("read").put("conversation", conversation).put("seq", 1)),
        new WsAction("invite", "ok", frame("invite").put("conversation", conversation).put("user", "invitee-" + UUID.randomUUID())),
        new WsAction("delete", "ok", frame("delete").put("conversation", conversation).put("seq", ownMessageSeq)),
        new WsAction("presence", "presence_page", frame("presence").put("conversation", conversation)),
        // Watching presence needs a subscription, which a non-member cannot have: refused as not subscribed.
        new WsAction("presence_subscribe", "ok", frame("presence_subscribe").put("conversation", conversation)),
        // Muting offline notifications (issue 21) is a member's setting: only members may set it.
        new WsAction("mute", "ok", frame("mute").put("conversation", conversation).put("muted", true)),
        new WsAction("leave", "ok", frame("leave").put("conversation", conversation)));
  }

  private static String createWithBob(WsClient alice) {
    String conversation = "private-" + UUID.randomUUID();
    ObjectNode create = frame("create").put("conversation", conversation);
    create.putArray("members").add("bob");
    assertThat(alice.request(create).path("type").asText()).isEqualTo("created");
    return conversation;
  }

  private static long send(WsClient client, String conversation, String text) {
    ObjectNode ack =
        client.request(frame("send").put("conversation", conversation).put("clientMsgId", UUID.randomUUID().toString()).put("text", text));
    assertThat(ack.path("type").asText()).as("reply %s", ack).isEqualTo("ack");
    return ack.path("seq").asLong();
  }

  private static List<JsonNode> history(WsClient client, String conversation) {
    ObjectNode page = client.request(frame("history").put("conversation", conversation).put("limit", 100));
    assertThat(page.path("type").asText()).isEqualTo("history");
    List<JsonNode> events = new ArrayList<>();
    page.path("events").forEach(events::add);
    return events;
  }

  @Test
  void aNonMemberCanDoNothingOnTheWebsocketThatAMemberCan() {
    try (WsClient alice = node.connect("alice"); WsClient bob = node.connect("bob"); WsClient mallory = node.connect("mallory")) {
      String conversation = createWithBob(alice);
      long alicesMessage = send(alice, conversation, "secret");
      long bobsMessage = send(bob, conversation, "also secret");
      assertThat(alice.request(frame("subscribe").put("conversation", conversation).put("since", 0)).path("type").asText())
          .isEqualTo("subscribed");
      alice.framesBeforePong();
      List<JsonNode> before = history(alice, conversation);

      SoftAssertions softly = new SoftAssertions();
      for (WsAction action : wsActions(conversation, alicesMessage)) {
        ObjectNode reply = mallory.request(action.frame().deepCopy());
        softly.assertThat(reply.path("type").asText()).as("%s by a non-member: %s", action.name(), reply).isEqualTo("error");
        // presence_subscribe: refused as "not subscribed", the subscription having been refused as forbidden.
        String expected = action.name().equals("presence_subscribe") ? "bad_request" : "forbidden";
        softly.assertThat(reply.path("code").asText()).as("%s by a non-member", action.name()).isEqualTo(expected);
      }
      // Typing has no reply: a non-member's notice must simply never reach the members.
      mallory.send(frame("typing").put("conversation", conversation));
      mallory.pingPong();
      bob.send(frame("typing").put("conversation", conversation));
      ObjectNode typing = alice.expect("typing");
      softly.assertThat(typing.path("user").asText()).as("the first typing notice alice sees").isEqualTo("bob");
      softly.assertAll();

      // Nothing mallory tried left a trace, nor did she receive any of the conversation's events.
      assertThat(history(alice, conversation)).isEqualTo(before);
      assertThat(mallory.framesBeforePong()).noneMatch(f -> conversation.equals(f.path("conversation").asText()) && !"error".equals(f.path("type").asText()));
      assertThat(mallory.request(frame("inbox")).path("items").findValuesAsText("conversation")).doesNotContain(conversation);

      // The control: a member's same requests succeed (bob edits and deletes his own message).
      for (WsAction action : wsActions(conversation, bobsMessage)) {
        ObjectNode reply = bob.request(action.frame().deepCopy());
        assertThat(reply.path("type").asText()).as("%s by a member: %s", action.name(), reply).isEqualTo(action.okType());
      }
      assertThat(bob.request(frame("inbox")).path("type").asText()).isEqualTo("inbox");
    }
  }

  @Test
  void aNonMemberCanDoNothingOverHttpThatAMemberCan() {
    ApiClient api = node.api();
    String conversation;
    try (WsClient alice = node.connect("alice")) {
      conversation = createWithBob(alice);
      send(alice, conversation, "secret");
    }
    String mallory = node.token("mallory");
    String bob = node.token("bob");
    String messages = "/v1/conversations/" + conversation + "/messages";
    String read = "/v1/conversations/" + conversation + "/read";
    String mute = "/v1/conversations/" + conversation + "/mute";
    String sendBody = "{\"clientMsgId\":\"" + UUID.randomUUID() + "\",\"text\":\"x\"}";

    SoftAssertions softly = new SoftAssertions();
    expectForbidden(softly, "history", api.get(messages, mallory));
    expectForbidden(softly, "send", api.post(messages, mallory, sendBody));
    expectForbidden(softly, "read", api.post(read, mallory, "{\"seq\":1}"));
    expectForbidden(softly, "mute", api.post(mute, mallory, "{\"muted\":true}"));
    ApiClient.Response takeOver = api.post("/v1/conversations", mallory, "{\"conversation\":\"" + conversation + "\",\"members\":[\"mallory\"]}");
    softly.assertThat(takeOver.status()).as("re-creating someone else's conversation: %s", takeOver.body()).isBetween(400, 499);
    ApiClient.Response inbox = api.get("/v1/inbox", mallory);
    softly.assertThat(inbox.status()).isEqualTo(200);
    softly.assertThat(inbox.body().path("items").findValuesAsText("conversation")).doesNotContain(conversation);
    softly.assertAll();

    // The control: the member's same requests succeed.
    assertThat(api.get(messages, bob).status()).isEqualTo(200);
    assertThat(api.get(messages, bob).body().path("events").size()).as("events: mallory's attempts left none").isEqualTo(2);
    assertThat(api.post(messages, bob, sendBody).status()).isEqualTo(201);
    assertThat(api.post(read, bob, "{\"seq\":1}").status()).isEqualTo(200);
    assertThat(api.post(mute, bob, "{\"muted\":true}").status()).isEqualTo(200);
  }

  private static void expectForbidden(SoftAssertions softly, String what, ApiClient.Response response) {
    softly.assertThat(response.status()).as("%s by a non-member: %s", what, response.body()).isEqualTo(403);
    softly.assertThat(response.errorCode()).as("%s by a non-member", what).isEqualTo("forbidden");
  }
}
