package dev.parley.gateway;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.IntNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;
import dev.parley.ErrorCode;
import dev.parley.conversation.TimelineEvent;
import dev.parley.inbox.Inbox;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.junit.jupiter.api.Test;

class FramesTest {
  private static final int MAX_TEXT = 20;
  private static final int HISTORY_MAX = 100;
  private static final Frames frames =
      new Frames(new GatewaySettings(65_536, MAX_TEXT, 8, 4, 1_000, HISTORY_MAX, java.time.Duration.ofSeconds(3), new IdleConnections.Settings(java.time.Duration.ofSeconds(90), java.time.Duration.ofSeconds(5)), java.time.Duration.ofSeconds(10)));

  private static ClientFrame decode(String json) {
    return frames.decode(FrameFields.parse(json));
  }

  private static void assertRefused(String json, ErrorCode code) {
    assertRefused(() -> decode(json), code);
  }

  private static void assertRefused(ThrowingCallable call, ErrorCode code) {
    assertThatThrownBy(call)
        .isInstanceOf(ProtocolException.class)
        .satisfies(e -> assertThat(((ProtocolException) e).code()).isEqualTo(code));
  }

  // ---- decoding valid frames ------------------------------------------------------------------

  @Test
  void createDecodesWithDeduplicatedMembersAndTitle() {
    ClientFrame frame =
        decode("{\"type\":\"create\",\"id\":\"r1\",\"conversation\":\"room-1\",\"members\":[\"bob\",\"carol\",\"bob\"],\"title\":\"Lunch\"}");

    assertThat(frame).isEqualTo(new ClientFrame.Create(new TextNode("r1"), "room-1", List.of("bob", "carol"), "Lunch"));
  }

  @Test
  void createNeedsNoConversationMembersOrTitle() {
    assertThat(decode("{\"type\":\"create\"}")).isEqualTo(new ClientFrame.Create(null, null, List.of(), null));
    assertThat(decode("{\"type\":\"create\",\"conversation\":null,\"members\":null}"))
        .isEqualTo(new ClientFrame.Create(null, null, List.of(), null));
  }

  @Test
  void inviteDecodes() {
    assertThat(decode("{\"type\":\"invite\",\"id\":1,\"conversation\":\"c\",\"user\":\"bob\"}"))
        .isEqualTo(new ClientFrame.Invite(new IntNode(1), "c", "bob"));
  }

  @Test
  void leaveDecodes() {
    assertThat(decode("{\"type\":\"leave\",\"conversation\":\"a.b_c:d-1\"}")).isEqualTo(new ClientFrame.Leave(null, "a.b_c:d-1"));
  }

  @Test
  void subscribeDecodesWithSince() {
    assertThat(decode("{\"type\":\"subscribe\",\"conversation\":\"c\",\"since\":0}")).isEqualTo(new ClientFrame.Subscribe(null, "c", 0));
    assertThat(decode("{\"type\":\"subscribe\",\"conversation\":\"c\",\"since\":42}")).isEqualTo(new ClientFrame.Subscribe(null, "c", 42));
  }

  @Test
  void subscribeWithoutSinceIsLiveOnly() {
    assertThat(decode("{\"type\":\"subscribe\",\"conversation\":\"c\"}")).isEqualTo(new ClientFrame.Subscribe(null, "c", -1));
  }

  @Test
  void unsubscribeDecodes() {
    assertThat(decode("{\"type\":\"unsubscribe\",\"conversation\":\"c\"}")).isEqualTo(new ClientFrame.Unsubscribe(null, "c"));
  }

  @Test
  void sendDecodes() {
    assertThat(decode("{\"type\":\"send\",\"id\":3,\"conversation\":\"c\",\"clientMsgId\":\"a1b2\",\"text\":\"Hello Bob\"}"))
        .isEqualTo(new ClientFrame.Send(new IntNode(3), "c", "a1b2", "Hello Bob"));
  }

  @Test
  void editDecodes() {
    assertThat(decode("{\"type\":\"edit\",\"conversation\":\"c\",\"seq\":7,\"text\":\"fixed\"}"))
        .isEqualTo(new ClientFrame.Edit(null, "c", 7, "fixed"));
  }

  @Test
  void deleteDecodes() {
    assertThat(decode("{\"type\":\"delete\",\"conversation\":\"c\",\"seq\":7}")).isEqualTo(new ClientFrame.Delete(null, "c", 7));
  }

  @Test
  void historyDecodesWithDefaults() {
    assertThat(decode("{\"type\":\"history\",\"conversation\":\"c\"}"))
        .isEqualTo(new ClientFrame.History(null, "c", 0, Frames.DEFAULT_HISTORY_LIMIT));
  }

  @Test
  void historyDecodesBeforeAndLimit() {
    assertThat(decode("{\"type\":\"history\",\"conversation\":\"c\",\"before\":10,\"limit\":2}"))
        .isEqualTo(new ClientFrame.History(null, "c", 10, 2));
  }

  @Test
  void historyLimitIsCappedAtTheHistoryMaxLimit() {
    assertThat(decode("{\"type\":\"history\",\"conversation\":\"c\",\"limit\":1000}"))
        .isEqualTo(new ClientFrame.History(null, "c", 0, HISTORY_MAX));
    assertThat(decode("{\"type\":\"history\",\"conversation\":\"c\",\"limit\":9223372036854775807}"))
        .isEqualTo(new ClientFrame.History(null, "c", 0, HISTORY_MAX));
  }

  @Test
  void typingDecodes() {
    assertThat(decode("{\"type\":\"typing\",\"conversation\":\"c\"}")).isEqualTo(new ClientFrame.Typing(null, "c"));
  }

  @Test
  void pingDecodes() {
    assertThat(decode("{\"type\":\"ping\",\"id\":\"p\"}")).isEqualTo(new ClientFrame.Ping(new TextNode("p")));
  }

  @Test
  void inboxDecodesWithTheDefaultLimitAndNoCursor() {
    assertThat(decode("{\"type\":\"inbox\",\"id\":\"i\"}"))
        .isEqualTo(new ClientFrame.InboxPage(new TextNode("i"), Frames.DEFAULT_INBOX_LIMIT, Optional.empty()));
    assertThat(decode("{\"type\":\"inbox\",\"cursor\":null}"))
        .isEqualTo(new ClientFrame.InboxPage(null, Frames.DEFAULT_INBOX_LIMIT, Optional.empty()));
  }

  @Test
  void inboxDecodesLimitAndCursor() {
    String cursor = new Inbox.Cursor(1234, "room-9").encode();

    assertThat(decode("{\"type\":\"inbox\",\"limit\":7,\"cursor\":\"" + cursor + "\"}"))
        .isEqualTo(new ClientFrame.InboxPage(null, 7, Optional.of(new Inbox.Cursor(1234, "room-9"))));
  }

  @Test
  void anInboxLimitAboveTheMaximumIsLeftToTheCallerToCap() {
    // Session and HttpApi cap it at parley.inbox.max-page; decoding only bounds it to an int.
    assertThat(decode("{\"type\":\"inbox\",\"limit\":100000000000}"))
        .isEqualTo(new ClientFrame.InboxPage(null, Integer.MAX_VALUE, Optional.empty()));
  }

  @Test
  void badInboxRequestsAreRefused() {
    assertRefused("{\"type\":\"inbox\",\"limit\":0}", ErrorCode.BAD_REQUEST);
    assertRefused("{\"type\":\"inbox\",\"limit\":-1}", ErrorCode.BAD_REQUEST);
    assertRefused("{\"type\":\"inbox\",\"limit\":2.5}", ErrorCode.BAD_REQUEST);
    assertRefused("{\"type\":\"inbox\",\"limit\":\"10\"}", ErrorCode.BAD_REQUEST);
    assertRefused("{\"type\":\"inbox\",\"cursor\":\"not a cursor\"}", ErrorCode.BAD_REQUEST);
    assertRefused("{\"type\":\"inbox\",\"cursor\":\"\"}", ErrorCode.BAD_REQUEST);
    assertRefused("{\"type\":\"inbox\",\"cursor\":42}", ErrorCode.BAD_REQUEST);
    assertRefused("{\"type\":\"inbox\",\"cursor\":\"" + "A".repeat(513) + "\"}", ErrorCode.TOO_LARGE);
  }

  @Test
  void readDecodes() {
    assertThat(decode("{\"type\":\"read\",\"id\":5,\"conversation\":\"c\",\"seq\":12}"))
        .isEqualTo(new ClientFrame.Read(new IntNode(5), "c", 12));
    assertThat(decode("{\"type\":\"read\",\"conversation\":\"c\",\"seq\":0}")).isEqualTo(new ClientFrame.Read(null, "c", 0));
  }

  @Test
  void badReadRequestsAreRefused() {
    assertRefused("{\"type\":\"read\",\"conversation\":\"c\"}", ErrorCode.BAD_REQUEST);
    assertRefused("{\"type\":\"read\",\"conversation\":\"c\",\"seq\":-1}", ErrorCode.BAD_REQUEST);
    assertRefused("{\"type\":\"read\",\"conversation\":\"c\",\"seq\":\"3\"}", ErrorCode.BAD_REQUEST);
    assertRefused("{\"type\":\"read\",\"seq\":3}", ErrorCode.BAD_REQUEST);
    assertRefused("{\"type\":\"read\",\"conversation\":\"no spaces\",\"seq\":3}", ErrorCode.BAD_REQUEST);
  }

  @Test
  void muteDecodesAndMutesWhenMutedIsAbsent() {
    assertThat(decode("{\"type\":\"mute\",\"id\":5,\"conversation\":\"c\",\"muted\":false}"))
        .isEqualTo(new ClientFrame.Mute(new IntNode(5), "c", false));
    assertThat(decode("{\"type\":\"mute\",\"conversation\":\"c\"}")).isEqualTo(new ClientFrame.Mute(null, "c", true));
  }

  @Test
  void badMuteRequestsAreRefused() {
    assertRefused("{\"type\":\"mute\",\"muted\":true}", ErrorCode.BAD_REQUEST);
    assertRefused("{\"type\":\"mute\",\"conversation\":\"c\",\"muted\":\"yes\"}", ErrorCode.BAD_REQUEST);
    assertRefused("{\"type\":\"mute\",\"conversation\":\"c\",\"muted\":1}", ErrorCode.BAD_REQUEST);
    assertRefused("{\"type\":\"mute\",\"conversation\":\"no spaces\"}", ErrorCode.BAD_REQUEST);
  }

  @Test
  void inboxItemsEncodeTheirPreviewOrItsDeletionAndWhetherTheyAreMuted() {
    Inbox.Item shown = new Inbox.Item(new Inbox.Summary("c", "Lunch", 4, 900, new Inbox.Preview(4, "bob", "hi")), 950, 2, 1, true);
    Inbox.Item deleted = new Inbox.Item(new Inbox.Summary("d", null, 6, 800, new Inbox.Preview(5, "bob", null)), 800, 6, 0, false);
    Inbox.Item empty = new Inbox.Item(new Inbox.Summary("e", "T", 1, 700, null), 700, 1, 0, false);

    ObjectNode page = Frames.inboxPage(new TextNode("p"), new Inbox.Page(List.of(shown, deleted, empty), Optional.of(empty.cursor())));

    assertThat(page.toString())
        .isEqualTo(
            "{\"type\":\"inbox\",\"id\":\"p\",\"items\":["
                + "{\"conversation\":\"c\",\"title\":\"Lunch\",\"lastSeq\":4,\"lastActivity\":950,"
                + "\"preview\":{\"seq\":4,\"sender\":\"bob\",\"text\":\"hi\"},\"readSeq\":2,\"unread\":1,\"muted\":true},"
                + "{\"conversation\":\"d\",\"title\":null,\"lastSeq\":6,\"lastActivity\":800,"
                + "\"preview\":{\"seq\":5,\"sender\":\"bob\",\"text\":null,\"deleted\":true},\"readSeq\":6,\"unread\":0,\"muted\":false},"
                + "{\"conversation\":\"e\",\"title\":\"T\",\"lastSeq\":1,\"lastActivity\":700,\"preview\":null,\"readSeq\":1,\"unread\":0,\"muted\":false}],"
                + "\"next\":\"" + empty.cursor().encode() + "\"}");
    assertThat(Frames.inboxPage(null, new Inbox.Page(List.of(), Optional.empty())).path("next").isNull()).isTrue();
    assertThat(Frames.inboxUpdate(shown).path("type").asText()).isEqualTo("inbox_update");
    assertThat(Frames.inboxUpdate(shown).path("unread").asInt()).isEqualTo(1);
    assertThat(Frames.inboxRemoved("c").toString()).isEqualTo("{\"type\":\"inbox_update\",\"conversation\":\"c\",\"removed\":true}");
  }

  @Test
  void unknownFieldsAreIgnored() {
    assertThat(decode("{\"type\":\"ping\",\"extra\":{\"a\":[1,2,3]}}")).isEqualTo(new ClientFrame.Ping(null));
  }

  @Test
  void textLimitCountsCodePointsNotUtf16Units() {
    String emoji = "😀".repeat(MAX_TEXT); // 20 code points, 40 UTF-16 units

    assertThat(decode("{\"type\":\"send\",\"conversation\":\"c\",\"clientMsgId\":\"m\",\"text\":\"" + emoji + "\"}"))
        .isEqualTo(new ClientFrame.Send(null, "c", "m", emoji));
  }

  @Test
  void textOfExactlyTheLimitIsAccepted() {
    String text = "x".repeat(MAX_TEXT);

    assertThat(decode("{\"type\":\"send\",\"conversation\":\"c\",\"clientMsgId\":\"m\",\"text\":\"" + text + "\"}"))
        .isEqualTo(new ClientFrame.Send(null, "c", "m", text));
  }

  @Test
  void escapedSurrogatePairIsOneCharacter() {
    assertThat(decode("{\"type\":\"send\",\"conversation\":\"c\",\"clientMsgId\":\"m\",\"text\":\"\\ud83d\\ude00\"}"))
        .isEqualTo(new ClientFrame.Send(null, "c", "m", "😀"));
  }

  // ---- validation errors ----------------------------------------------------------------------

  @Test
  void invalidJsonIsABadRequest() {
    for (String json : List.of("{", "{\"type\":}", "nope", "{'type':'ping'}", "{\"type\":\"ping\",}", "\u0000")) {
      assertThatThrownBy(() -> FrameFields.parse(json))
          .as(json)
          .isInstanceOf(ProtocolException.class)
          .hasMessage("frame is not valid JSON")
          .satisfies(e -> assertThat(((ProtocolException) e).code()).isEqualTo(ErrorCode.BAD_REQUEST));
    }
  }

  @Test
  void trailingContentAfterTheObjectIsABadRequest() {
    assertRefused("{\"type\":\"ping\"} junk", ErrorCode.BAD_REQUEST);
    assertRefused("{\"type\":\"ping\"}{\"type\":\"ping\"}", ErrorCode.BAD_REQUEST);
  }

  @Test
  void jsonThatIsNotAnObjectIsABadRequest() {
    for (String json : List.of("[]", "[{\"type\":\"ping\"}]", "\"ping\"", "1", "true", "null", "", "   ")) {
      assertThatThrownBy(() -> FrameFields.parse(json))
          .as("<%s>", json)
          .isInstanceOf(ProtocolException.class)
          .satisfies(e -> assertThat(((ProtocolException) e).code()).isEqualTo(ErrorCode.BAD_REQUEST));
    }
  }

  @Test
  void missingTypeIsABadRequest() {
    assertRefused("{\"conversation\":\"c\"}", ErrorCode.BAD_REQUEST);
    assertRefused("{\"type\":null}", ErrorCode.BAD_REQUEST);
  }

  @Test
  void typeThatIsNotAStringIsABadRequest() {
    assertRefused("{\"type\":1}", ErrorCode.BAD_REQUEST);
    assertRefused("{\"type\":[\"ping\"]}", ErrorCode.BAD_REQUEST);
    assertRefused("{\"type\":{\"ping\":true}}", ErrorCode.BAD_REQUEST);
  }

  @Test
  void unknownTypeIsABadRequest() {
    assertRefused("{\"type\":\"shout\"}", ErrorCode.BAD_REQUEST);
    assertRefused("{\"type\":\"PING\"}", ErrorCode.BAD_REQUEST);
    assertRefused("{\"type\":\"\"}", ErrorCode.BAD_REQUEST);
  }

  @Test
  void missingConversationIsABadRequest() {
    for (String type : List.of("invite", "leave", "subscribe", "unsubscribe", "send", "edit", "delete", "history", "typing")) {
      assertRefused("{\"type\":\"" + type + "\",\"user\":\"u\",\"clientMsgId\":\"m\",\"text\":\"t\",\"seq\":1}", ErrorCode.BAD_REQUEST);
    }
  }

  @Test
  void conversationThatIsNotAStringIsABadRequest() {
    assertRefused("{\"type\":\"leave\",\"conversation\":42}", ErrorCode.BAD_REQUEST);
    assertRefused("{\"type\":\"leave\",\"conversation\":[\"c\"]}", ErrorCode.BAD_REQUEST);
  }

  @Test
  void badConversationIdIsABadRequest() {
    for (String id : List.of("", "a b", "a/b", "ü", "c\\u0000", "<script>", "a\\nb")) {
      assertRefused("{\"type\":\"leave\",\"conversation\":\"" + id + "\"}", ErrorCode.BAD_REQUEST);
    }
    assertRefused("{\"type\":\"create\",\"conversation\":\"a b\"}", ErrorCode.BAD_REQUEST);
  }

  @Test
  void conversationIdOf128CharactersIsAcceptedAndLongerIsRefused() {
    String id = "c".repeat(128);

    assertThat(decode("{\"type\":\"leave\",\"conversation\":\"" + id + "\"}")).isEqualTo(new ClientFrame.Leave(null, id));
    assertRefused("{\"type\":\"leave\",\"conversation\":\"" + id + "c\"}", ErrorCode.TOO_LARGE);
  }

  @Test
  void inviteWithoutAUsableUserIsABadRequest() {
    assertRefused("{\"type\":\"invite\",\"conversation\":\"c\"}", ErrorCode.BAD_REQUEST);
    assertRefused("{\"type\":\"invite\",\"conversation\":\"c\",\"user\":\" \"}", ErrorCode.BAD_REQUEST);
    assertRefused("{\"type\":\"invite\",\"conversation\":\"c\",\"user\":7}", ErrorCode.BAD_REQUEST);
  }

  @Test
  void userIdLongerThan128CharactersIsTooLarge() {
    assertRefused("{\"type\":\"invite\",\"conversation\":\"c\",\"user\":\"" + "u".repeat(129) + "\"}", ErrorCode.TOO_LARGE);
  }

  @Test
  void membersThatAreNotAnArrayOfUserIdsAreABadRequest() {
    assertRefused("{\"type\":\"create\",\"members\":\"bob\"}", ErrorCode.BAD_REQUEST);
    assertRefused("{\"type\":\"create\",\"members\":[\"bob\",1]}", ErrorCode.BAD_REQUEST);
    assertRefused("{\"type\":\"create\",\"members\":[\"bob\",\"\"]}", ErrorCode.BAD_REQUEST);
    assertRefused("{\"type\":\"create\",\"members\":[null]}", ErrorCode.BAD_REQUEST);
    assertRefused("{\"type\":\"create\",\"members\":[\"" + "u".repeat(129) + "\"]}", ErrorCode.BAD_REQUEST);
  }

  @Test
  void moreThanAThousandMembersIsTooLarge() {
    StringBuilder members = new StringBuilder();
    for (int i = 0; i <= 1000; i++) members.append(i == 0 ? "" : ",").append("\"u").append(i).append('"');

    assertRefused("{\"type\":\"create\",\"members\":[" + members + "]}", ErrorCode.TOO_LARGE);
  }

  @Test
  void titleThatIsNotAStringOrTooLongIsRefused() {
    assertRefused("{\"type\":\"create\",\"title\":5}", ErrorCode.BAD_REQUEST);
    assertRefused("{\"type\":\"create\",\"title\":\"" + "t".repeat(201) + "\"}", ErrorCode.TOO_LARGE);
  }

  @Test
  void sendWithoutAUsableClientMsgIdIsRefused() {
    assertRefused("{\"type\":\"send\",\"conversation\":\"c\",\"text\":\"hi\"}", ErrorCode.BAD_REQUEST);
    assertRefused("{\"type\":\"send\",\"conversation\":\"c\",\"clientMsgId\":\"\",\"text\":\"hi\"}", ErrorCode.BAD_REQUEST);
    assertRefused("{\"type\":\"send\",\"conversation\":\"c\",\"clientMsgId\":12,\"text\":\"hi\"}", ErrorCode.BAD_REQUEST);
    assertRefused(
        "{\"type\":\"send\",\"conversation\":\"c\",\"clientMsgId\":\"" + "m".repeat(129) + "\",\"text\":\"hi\"}", ErrorCode.TOO_LARGE);
  }

  @Test
  void sendWithoutAUsableTextIsABadRequest() {
    assertRefused("{\"type\":\"send\",\"conversation\":\"c\",\"clientMsgId\":\"m\"}", ErrorCode.BAD_REQUEST);
    assertRefused("{\"type\":\"send\",\"conversation\":\"c\",\"clientMsgId\":\"m\",\"text\":null}", ErrorCode.BAD_REQUEST);
    assertRefused("{\"type\":\"send\",\"conversation\":\"c\",\"clientMsgId\":\"m\",\"text\":3}", ErrorCode.BAD_REQUEST);
    assertRefused("{\"type\":\"send\",\"conversation\":\"c\",\"clientMsgId\":\"m\",\"text\":\"\"}", ErrorCode.BAD_REQUEST);
    assertRefused("{\"type\":\"send\",\"conversation\":\"c\",\"clientMsgId\":\"m\",\"text\":\" \\n\\t \"}", ErrorCode.BAD_REQUEST);
  }

  @Test
  void textLongerThanTheLimitInCodePointsIsTooLarge() {
    assertRefused(
        "{\"type\":\"send\",\"conversation\":\"c\",\"clientMsgId\":\"m\",\"text\":\"" + "x".repeat(MAX_TEXT + 1) + "\"}",
        ErrorCode.TOO_LARGE);
    assertRefused(
        "{\"type\":\"send\",\"conversation\":\"c\",\"clientMsgId\":\"m\",\"text\":\"" + "😀".repeat(MAX_TEXT + 1) + "\"}",
        ErrorCode.TOO_LARGE);
    assertRefused("{\"type\":\"edit\",\"conversation\":\"c\",\"seq\":2,\"text\":\"" + "x".repeat(MAX_TEXT + 1) + "\"}", ErrorCode.TOO_LARGE);
  }

  @Test
  void textWithALoneSurrogateIsABadRequest() {
    // It could not be written to the journal: Jackson CBOR refuses unpaired surrogates.
    assertRefused("{\"type\":\"send\",\"conversation\":\"c\",\"clientMsgId\":\"m\",\"text\":\"\\ud800\"}", ErrorCode.BAD_REQUEST);
    assertRefused("{\"type\":\"send\",\"conversation\":\"c\",\"clientMsgId\":\"m\",\"text\":\"a\\udc00b\"}", ErrorCode.BAD_REQUEST);
    assertRefused("{\"type\":\"send\",\"conversation\":\"c\",\"clientMsgId\":\"m\",\"text\":\"\\ude00\\ud83d\"}", ErrorCode.BAD_REQUEST);
    assertRefused("{\"type\":\"send\",\"conversation\":\"c\",\"clientMsgId\":\"m\",\"text\":\"x\uD800\"}", ErrorCode.BAD_REQUEST);
    assertRefused("{\"type\":\"edit\",\"conversation\":\"c\",\"seq\":2,\"text\":\"\\ud800\"}", ErrorCode.BAD_REQUEST);
  }

  @Test
  void identifiersWithALoneSurrogateAreABadRequest() {
    assertRefused("{\"type\":\"send\",\"conversation\":\"c\",\"clientMsgId\":\"\\ud800\",\"text\":\"hi\"}", ErrorCode.BAD_REQUEST);
    assertRefused("{\"type\":\"invite\",\"conversation\":\"c\",\"user\":\"b\\udfffb\"}", ErrorCode.BAD_REQUEST);
    assertRefused("{\"type\":\"create\",\"members\":[\"\\ud800\"]}", ErrorCode.BAD_REQUEST);
    assertRefused("{\"type\":\"create\",\"title\":\"\\ud800\"}", ErrorCode.BAD_REQUEST);
  }

  @Test
  void sinceMustBeAWholeNumberOfAtLeastZero() {
    assertRefused("{\"type\":\"subscribe\",\"conversation\":\"c\",\"since\":-1}", ErrorCode.BAD_REQUEST);
    assertRefused("{\"type\":\"subscribe\",\"conversation\":\"c\",\"since\":1.5}", ErrorCode.BAD_REQUEST);
    assertRefused("{\"type\":\"subscribe\",\"conversation\":\"c\",\"since\":\"3\"}", ErrorCode.BAD_REQUEST);
    assertRefused("{\"type\":\"subscribe\",\"conversation\":\"c\",\"since\":1e3}", ErrorCode.BAD_REQUEST);
    assertRefused("{\"type\":\"subscribe\",\"conversation\":\"c\",\"since\":99999999999999999999}", ErrorCode.BAD_REQUEST);
  }

  @Test
  void limitMustBeAWholeNumberOfAtLeastOne() {
    assertRefused("{\"type\":\"history\",\"conversation\":\"c\",\"limit\":0}", ErrorCode.BAD_REQUEST);
    assertRefused("{\"type\":\"history\",\"conversation\":\"c\",\"limit\":-5}", ErrorCode.BAD_REQUEST);
    assertRefused("{\"type\":\"history\",\"conversation\":\"c\",\"limit\":2.5}", ErrorCode.BAD_REQUEST);
    assertRefused("{\"type\":\"history\",\"conversation\":\"c\",\"limit\":\"10\"}", ErrorCode.BAD_REQUEST);
  }

  @Test
  void beforeMustBeAWholeNumberOfAtLeastOne() {
    assertRefused("{\"type\":\"history\",\"conversation\":\"c\",\"before\":0}", ErrorCode.BAD_REQUEST);
    assertRefused("{\"type\":\"history\",\"conversation\":\"c\",\"before\":true}", ErrorCode.BAD_REQUEST);
  }

  @Test
  void editAndDeleteNeedASeqOfAtLeastOne() {
    assertRefused("{\"type\":\"edit\",\"conversation\":\"c\",\"text\":\"t\"}", ErrorCode.BAD_REQUEST);
    assertRefused("{\"type\":\"edit\",\"conversation\":\"c\",\"seq\":0,\"text\":\"t\"}", ErrorCode.BAD_REQUEST);
    assertRefused("{\"type\":\"delete\",\"conversation\":\"c\"}", ErrorCode.BAD_REQUEST);
    assertRefused("{\"type\":\"delete\",\"conversation\":\"c\",\"seq\":null}", ErrorCode.BAD_REQUEST);
  }

  // ---- request ids ----------------------------------------------------------------------------

  @Test
  void stringAndIntegerRequestIdsAreEchoed() {
    assertThat(FrameFields.parse("{\"id\":\"abc\"}").requestId()).isEqualTo(new TextNode("abc"));
    assertThat(FrameFields.parse("{\"id\":7}").requestId()).isEqualTo(new IntNode(7));
    assertThat(FrameFields.parse("{\"id\":-3}").requestId()).isEqualTo(new IntNode(-3));
    assertThat(FrameFields.parse("{\"id\":\"" + "i".repeat(128) + "\"}").requestId().textValue()).hasSize(128);
  }

  @Test
  void absentRequestIdIsNotEchoed() {
    assertThat(FrameFields.parse("{\"type\":\"ping\"}").requestId()).isNull();
    assertThat(decode("{\"type\":\"ping\"}").id()).isNull();
  }

  @Test
  void requestIdThatIsNeitherAShortStringNorAnIntegerIsIgnoredAndRefused() {
    for (String id : List.of("1.5", "true", "null", "{}", "[1]", "\"" + "i".repeat(129) + "\"")) {
      FrameFields frame = FrameFields.parse("{\"type\":\"ping\",\"id\":" + id + "}");

      assertThat(frame.requestId()).as(id).isNull();
      assertRefused(() -> frames.decode(frame), ErrorCode.BAD_REQUEST);
    }
  }

  @Test
  void validRequestIdIsKnownEvenWhenTheFrameIsRefused() {
    // The gateway echoes it in the error frame.
    FrameFields frame = FrameFields.parse("{\"type\":\"send\",\"id\":\"r9\",\"conversation\":\"c\"}");

    assertRefused(() -> frames.decode(frame), ErrorCode.BAD_REQUEST);
    assertThat(frame.requestId()).isEqualTo(new TextNode("r9"));
  }

  @Test
  void errorFrameEchoesTheRequestIdAndCarriesTheCode() {
    ObjectNode error = Frames.error(new TextNode("r1"), ErrorCode.NOT_FOUND, "no such conversation");

    assertThat(error.get("type").textValue()).isEqualTo("error");
    assertThat(error.get("id").textValue()).isEqualTo("r1");
    assertThat(error.get("code").textValue()).isEqualTo("not_found");
    assertThat(error.get("message").textValue()).isEqualTo("no such conversation");
  }

  @Test
  void replyWithoutARequestIdHasNoIdField() {
    assertThat(Frames.reply("pong", null).has("id")).isFalse();
    assertThat(Frames.reply("pong", new IntNode(4)).get("id").intValue()).isEqualTo(4);
    assertThat(Frames.error(null, ErrorCode.BAD_REQUEST, "x").has("id")).isFalse();
  }

  // ---- hostile input --------------------------------------------------------------------------

  @Test
  void deeplyNestedArraysAreABadRequest() {
    String json = "[".repeat(10_000) + "]".repeat(10_000);

    assertRefused(() -> FrameFields.parse(json), ErrorCode.BAD_REQUEST);
  }

  @Test
  void deeplyNestedObjectsInsideAValidFrameAreABadRequest() {
    String json = "{\"type\":\"ping\",\"x\":" + "{\"a\":".repeat(10_000) + "1" + "}".repeat(10_000) + "}";

    assertRefused(() -> FrameFields.parse(json), ErrorCode.BAD_REQUEST);
  }

  @Test
  void unterminatedDeepNestingIsABadRequest() {
    assertRefused(() -> FrameFields.parse("{\"a\":" + "[".repeat(100_000)), ErrorCode.BAD_REQUEST);
  }

  @Test
  void hugeNumbersAreABadRequest() {
    String digits = "9".repeat(1_000);

    assertRefused(() -> FrameFields.parse("{\"type\":\"history\",\"conversation\":\"c\",\"limit\":" + digits + "}"), ErrorCode.BAD_REQUEST);
    assertRefused(() -> FrameFields.parse("{\"type\":\"ping\",\"id\":" + digits + "}"), ErrorCode.BAD_REQUEST);
    assertRefused(() -> FrameFields.parse("{\"type\":\"ping\",\"x\":0." + digits + "}"), ErrorCode.BAD_REQUEST);
    assertRefused(() -> FrameFields.parse("{\"type\":\"ping\",\"x\":1e" + digits + "}"), ErrorCode.BAD_REQUEST);
  }

  @Test
  void extremeExponentsAreRefusedAsIllTypedNotCrashes() {
    assertRefused("{\"type\":\"history\",\"conversation\":\"c\",\"limit\":1e999999}", ErrorCode.BAD_REQUEST);
    assertRefused("{\"type\":\"history\",\"conversation\":\"c\",\"limit\":-1e-999999}", ErrorCode.BAD_REQUEST);
  }

  @Test
  void veryLongTextIsTooLarge() {
    assertRefused(
        "{\"type\":\"send\",\"conversation\":\"c\",\"clientMsgId\":\"m\",\"text\":\"" + "x".repeat(100_000) + "\"}", ErrorCode.TOO_LARGE);
  }

  @Test
  void stringsBeyondTheParserLimitAreABadRequest() {
    String huge = "x".repeat(2 << 20);

    assertRefused(() -> FrameFields.parse("{\"type\":\"send\",\"text\":\"" + huge + "\"}"), ErrorCode.BAD_REQUEST);
    assertRefused(() -> FrameFields.parse("{\"" + huge + "\":1}"), ErrorCode.BAD_REQUEST);
  }

  @Test
  void veryLongTypeIsRefused() {
    assertThatThrownBy(() -> decode("{\"type\":\"" + "p".repeat(10_000) + "\"}"))
        .isInstanceOf(ProtocolException.class)
        .satisfies(e -> assertThat(e.getMessage()).hasSizeLessThan(200));
  }

  @Test
  void unknownTypeIsAbbreviatedInTheErrorMessage() {
    assertThatThrownBy(() -> decode("{\"type\":\"" + "p".repeat(32) + "\"}"))
        .isInstanceOf(ProtocolException.class)
        .hasMessage("unknown frame type: " + "p".repeat(32));
  }

  @Test
  void randomGarbageBytesEndInAnErrorOrAFrame() {
    Random random = new Random(7);
    for (int run = 0; run < 3_000; run++) {
      byte[] bytes = new byte[random.nextInt(64)];
      random.nextBytes(bytes);
      String text = new String(bytes, StandardCharsets.UTF_8);
      if (run % 2 == 0) text = "{\"type\":\"send\",\"conversation\":\"c\",\"clientMsgId\":\"m\",\"text\":\"" + text + "\"}";
      assertDecodesOrRefuses(text);
    }
  }

  @Test
  void mutatedValidFramesEndInAnErrorOrAFrame() {
    List<String> valid =
        List.of(
            "{\"type\":\"create\",\"id\":\"r1\",\"conversation\":\"room-1\",\"members\":[\"bob\",\"carol\"],\"title\":\"Lunch\"}",
            "{\"type\":\"invite\",\"id\":1,\"conversation\":\"c\",\"user\":\"bob\"}",
            "{\"type\":\"leave\",\"conversation\":\"c\"}",
            "{\"type\":\"subscribe\",\"conversation\":\"c\",\"since\":12}",
            "{\"type\":\"unsubscribe\",\"conversation\":\"c\"}",
            "{\"type\":\"send\",\"id\":3,\"conversation\":\"c\",\"clientMsgId\":\"a1\",\"text\":\"Hello \\ud83d\\ude00\"}",
            "{\"type\":\"edit\",\"conversation\":\"c\",\"seq\":7,\"text\":\"fixed\"}",
            "{\"type\":\"delete\",\"conversation\":\"c\",\"seq\":7}",
            "{\"type\":\"history\",\"conversation\":\"c\",\"before\":10,\"limit\":20}",
            "{\"type\":\"typing\",\"conversation\":\"c\"}",
            "{\"type\":\"ping\",\"id\":\"p\"}");
    String alphabet = "{}[]\":,\\ -.0123456789eEtruefalsn\u0000\u001f\u00e9\u65e5\uD83D\uDE00\uD800\uDC00\uFFFF";
    Random random = new Random(20250301);
    int accepted = 0;
    int refused = 0;
    for (int run = 0; run < 5_000; run++) {
      StringBuilder s = new StringBuilder(valid.get(random.nextInt(valid.size())));
      int mutations = 1 + random.nextInt(4);
      for (int m = 0; m < mutations && s.length() > 0; m++) {
        int at = random.nextInt(s.length());
        switch (random.nextInt(6)) {
          case 0 -> s.deleteCharAt(at);
          case 1 -> s.insert(at, alphabet.charAt(random.nextInt(alphabet.length())));
          case 2 -> s.setCharAt(at, alphabet.charAt(random.nextInt(alphabet.length())));
          case 3 -> s.insert(at, s.substring(at, Math.min(s.length(), at + 1 + random.nextInt(12))));
          case 4 -> s.setLength(at);
          default -> {
            // Replace a number-ish or string-ish spot with an extreme value.
            String[] extremes = {"-1", "0", "9223372036854775808", "1e400", "null", "[]", "{}", "\"\"", "\"\\ud800\""};
            s.insert(at, extremes[random.nextInt(extremes.length)]);
          }
        }
      }
      if (assertDecodesOrRefuses(s.toString())) accepted++;
      else refused++;
    }
    // The mutations must exercise both outcomes, or the loop proves little.
    assertThat(accepted).isGreaterThan(100);
    assertThat(refused).isGreaterThan(1_000);
  }

  /** True when the text decodes to a frame, false when it is refused; any other outcome fails the test. */
  private static boolean assertDecodesOrRefuses(String text) {
    ClientFrame frame;
    try {
      frame = decode(text);
    } catch (ProtocolException e) {
      assertThat(e.code()).isNotNull();
      assertThat(e.getMessage()).isNotBlank();
      return false;
    } catch (Throwable t) {
      fail("decoding %s threw %s instead of a ProtocolException", escape(text), t);
      return false;
    }
    assertThat(frame).isNotNull();
    assertThat(wellFormedStrings(frame)).as("strings of a frame decoded from %s", escape(text)).isTrue();
    return true;
  }

  /** Every string a frame carries can be encoded (no unpaired surrogate). */
  private static boolean wellFormedStrings(ClientFrame frame) {
    List<String> strings = new ArrayList<>();
    for (var component : frame.getClass().getRecordComponents()) {
      try {
        Object value = component.getAccessor().invoke(frame);
        if (value instanceof String s) strings.add(s);
        if (value instanceof List<?> list) list.forEach(e -> strings.add((String) e));
        if (value instanceof JsonNode id && id.isTextual()) strings.add(id.textValue());
      } catch (ReflectiveOperationException e) {
        throw new AssertionError(e);
      }
    }
    return strings.stream()
        .allMatch(s -> StandardCharsets.UTF_8.newEncoder().canEncode(s));
  }

  private static String escape(String text) {
    StringBuilder out = new StringBuilder();
    text.chars().forEach(c -> out.append(c < 0x20 || c > 0x7e ? String.format("\\u%04x", c) : String.valueOf((char) c)));
    return out.toString();
  }

  // ---- encoding -------------------------------------------------------------------------------

  @Test
  void everyTimelineEventIsEncodedWithTypeConversationSeqAndTs() {
    List<TimelineEvent> events =
        List.of(
            new TimelineEvent.Created(1, 1001, "alice", "Lunch", List.of("alice", "bob")),
            new TimelineEvent.MemberJoined(2, 1002, "carol", "alice"),
            new TimelineEvent.MemberLeft(3, 1003, "bob"),
            new TimelineEvent.MessagePosted(4, 1004, "alice", "m1", "hi"),
            new TimelineEvent.MessageEdited(5, 1005, "alice", 4, "hello"),
            new TimelineEvent.MessageDeleted(6, 1006, "alice", 4));
    List<String> types = List.of("conversation_created", "member_joined", "member_left", "message", "message_edited", "message_deleted");

    for (int i = 0; i < events.size(); i++) {
      ObjectNode node = Frames.event("room-1", events.get(i));

      assertThat(node.get("type").textValue()).isEqualTo(types.get(i));
      assertThat(node.get("conversation").textValue()).isEqualTo("room-1");
      assertThat(node.get("seq").longValue()).isEqualTo(i + 1);
      assertThat(node.get("ts").longValue()).isEqualTo(1001 + i);
    }
  }

  @Test
  void messageIsEncodedWithSenderClientMsgIdAndText() {
    ObjectNode node = Frames.event("c", new TimelineEvent.MessagePosted(4, 1004, "alice", "m1", "hi"));

    assertThat(Frames.write(node))
        .isEqualTo("{\"type\":\"message\",\"conversation\":\"c\",\"seq\":4,\"sender\":\"alice\",\"clientMsgId\":\"m1\",\"text\":\"hi\",\"ts\":1004}");
  }

  @Test
  void conversationCreatedIsEncodedWithCreatorTitleAndMembers() {
    ObjectNode node = Frames.event("c", new TimelineEvent.Created(1, 1001, "alice", "Lunch", List.of("alice", "bob")));

    assertThat(Frames.write(node))
        .isEqualTo(
            "{\"type\":\"conversation_created\",\"conversation\":\"c\",\"seq\":1,\"createdBy\":\"alice\",\"title\":\"Lunch\",\"members\":[\"alice\",\"bob\"],\"ts\":1001}");
  }

  @Test
  void membershipEventsAreEncodedWithTheirUsers() {
    assertThat(Frames.write(Frames.event("c", new TimelineEvent.MemberJoined(2, 1002, "carol", "alice"))))
        .isEqualTo("{\"type\":\"member_joined\",\"conversation\":\"c\",\"seq\":2,\"user\":\"carol\",\"invitedBy\":\"alice\",\"ts\":1002}");
    assertThat(Frames.write(Frames.event("c", new TimelineEvent.MemberLeft(3, 1003, "bob"))))
        .isEqualTo("{\"type\":\"member_left\",\"conversation\":\"c\",\"seq\":3,\"user\":\"bob\",\"ts\":1003}");
  }

  @Test
  void editAndDeleteAreEncodedWithTheirTarget() {
    assertThat(Frames.write(Frames.event("c", new TimelineEvent.MessageEdited(5, 1005, "alice", 4, "hello"))))
        .isEqualTo("{\"type\":\"message_edited\",\"conversation\":\"c\",\"seq\":5,\"target\":4,\"editor\":\"alice\",\"text\":\"hello\",\"ts\":1005}");
    assertThat(Frames.write(Frames.event("c", new TimelineEvent.MessageDeleted(6, 1006, "alice", 4))))
        .isEqualTo("{\"type\":\"message_deleted\",\"conversation\":\"c\",\"seq\":6,\"target\":4,\"deletedBy\":\"alice\",\"ts\":1006}");
  }

  @Test
  void handoffIsEncodedWithWhoAndWhyButNotItsIdempotencyKey() {
    assertThat(Frames.write(Frames.event("c", new TimelineEvent.HandedOff(7, 1007, "bot:helper", "requested", "h6-0"))))
        .isEqualTo("{\"type\":\"handoff\",\"conversation\":\"c\",\"seq\":7,\"by\":\"bot:helper\",\"reason\":\"requested\",\"ts\":1007}");
  }

  @Test
  void eventsAreEncodedInOrder() {
    var array =
        Frames.events(
            "c", List.of(new TimelineEvent.MemberLeft(3, 1, "bob"), new TimelineEvent.MessagePosted(4, 2, "alice", "m", "t")));

    assertThat(array).hasSize(2);
    assertThat(array.get(0).get("seq").longValue()).isEqualTo(3);
    assertThat(array.get(1).get("seq").longValue()).isEqualTo(4);
  }

  @Test
  void typingAndReconnectFramesAreEncoded() {
    assertThat(Frames.write(Frames.typing("c", "bob"))).isEqualTo("{\"type\":\"typing\",\"conversation\":\"c\",\"user\":\"bob\"}");
    assertThat(Frames.write(Frames.reconnect(1500, 3000, "drain"))).isEqualTo("{\"type\":\"reconnect\",\"afterMs\":1500,\"closeInMs\":3000,\"reason\":\"drain\"}");
  }

  @Test
  void framesAreWrittenAsTheObjectMapperWroteThem() throws Exception {
    // Frames.write walks the frame with a generator of its own (issue 18); the text must stay the
    // one writeValueAsString wrote: escapes, non-ASCII, nulls, nested arrays and every number kind.
    String awkward = "quote \" backslash \\ slash / tab \t newline \n nul \u0000 bell \u0007 é 中 \uD83D\uDE00 \u2028";
    List<JsonNode> nodes = new ArrayList<>();
    nodes.add(Frames.event("c", new TimelineEvent.MessagePosted(4, 1004, "alice", "m1", awkward)));
    nodes.add(Frames.event("c", new TimelineEvent.Created(1, 1001, "alice", null, List.of("alice", awkward))));
    nodes.add(Frames.event("c", new TimelineEvent.HandedOff(7, Long.MAX_VALUE, "bot:helper", awkward, "h")));
    nodes.add(Frames.events("c", List.of(new TimelineEvent.MemberLeft(3, 1, "bob"), new TimelineEvent.MessageDeleted(6, 2, "a", 4))));
    nodes.add(Frames.error(new TextNode(awkward), ErrorCode.RATE_LIMITED, awkward).put("retryAfterMs", 250));
    nodes.add(Frames.error(new IntNode(-7), ErrorCode.BAD_REQUEST, "x"));
    nodes.add(Frames.error(new com.fasterxml.jackson.databind.node.LongNode(1L << 40), ErrorCode.BAD_REQUEST, "x"));
    nodes.add(Frames.error(new com.fasterxml.jackson.databind.node.BigIntegerNode(new java.math.BigInteger("18446744073709551616")), ErrorCode.BAD_REQUEST, "x"));
    nodes.add(Frames.inboxPage(new TextNode("i"), new Inbox.Page(List.of(), Optional.empty())));
    nodes.add(Frames.reply("pong", null).put("d", 1.5).put("f", 0.25f).put("b", true).putNull("n").put("dec", new java.math.BigDecimal("1.10")));
    nodes.add(Frames.JSON.createObjectNode().set("nested", Frames.JSON.createArrayNode().add(Frames.JSON.createArrayNode()).add(Frames.JSON.createObjectNode())));
    for (JsonNode node : nodes) {
      assertThat(Frames.write(node)).isEqualTo(Frames.JSON.writeValueAsString(node));
    }
  }
}
