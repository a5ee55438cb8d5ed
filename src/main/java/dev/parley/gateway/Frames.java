package dev.parley.gateway;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.parley.ErrorCode;
import dev.parley.conversation.TimelineEvent;
import dev.parley.gateway.FrameFields.Field;
import dev.parley.inbox.Inbox;
import java.io.IOException;
import java.io.StringWriter;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The JSON protocol, version 1 (src/site/markdown/protocol.md): decodes and validates client
 * frames, encodes server frames. Everything a client sends passes through here before it reaches
 * an actor, so hostile input ends as a {@link ProtocolException} and an {@code error} frame.
 */
public final class Frames {

  /** Deep nesting and huge numbers are refused by the parser itself, before any allocation grows. */
  public static final ObjectMapper JSON =
      JsonMapper.builder(
              JsonFactory.builder()
                  .streamReadConstraints(
                      StreamReadConstraints.builder()
                          .maxNestingDepth(16)
                          .maxNumberLength(32)
                          .maxStringLength(1 << 20)
                          .build())
                  .build())
          // "{...} junk" is not a frame: refuse it rather than act on its first half.
          .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
          .build();

  private static final int MAX_USER_ID = 128;
  private static final int MAX_CLIENT_MSG_ID = 128;
  public static final int DEFAULT_HISTORY_LIMIT = 50;
  public static final int DEFAULT_INBOX_LIMIT = 50;

  private final GatewaySettings settings;

  public Frames(GatewaySettings settings) {
    this.settings = settings;
  }

  // ---- decoding -------------------------------------------------------------------------------

  /**
   * Parses a JSON object into a tree, or fails with {@code bad_request}: for the admin routes'
   * bodies. Client frames and the HTTP API's bodies take {@link FrameFields#parse}, which refuses
   * the same texts without building a tree.
   */
  public static ObjectNode parseObject(String text) {
    JsonNode node;
    try {
      node = JSON.readTree(text);
    } catch (JsonProcessingException | RuntimeException e) {
      throw new ProtocolException(ErrorCode.BAD_REQUEST, "frame is not valid JSON");
    }
    if (node == null || !node.isObject()) throw new ProtocolException(ErrorCode.BAD_REQUEST, "frame must be a JSON object");
    return (ObjectNode) node;
  }

  ClientFrame decode(FrameFields f) {
    JsonNode id = f.requestId();
    if (f.has(Field.ID) && id == null) throw new ProtocolException(ErrorCode.BAD_REQUEST, "id must be a short string or an integer");
    String type = text(f, Field.TYPE, true, 32);
    return switch (type) {
      case "create" -> new ClientFrame.Create(id, optionalConversation(f), members(f), title(f));
      case "invite" -> new ClientFrame.Invite(id, conversation(f), user(f, Field.USER));
      case "leave" -> new ClientFrame.Leave(id, conversation(f));
      case "subscribe" -> new ClientFrame.Subscribe(id, conversation(f), number(f, Field.SINCE, 0, -1));
      case "unsubscribe" -> new ClientFrame.Unsubscribe(id, conversation(f));
      case "send" -> new ClientFrame.Send(id, conversation(f), clientMsgId(f), messageText(f));
      case "edit" -> new ClientFrame.Edit(id, conversation(f), number(f, Field.SEQ, 1, Long.MIN_VALUE), messageText(f));
      case "delete" -> new ClientFrame.Delete(id, conversation(f), number(f, Field.SEQ, 1, Long.MIN_VALUE));
      case "history" -> new ClientFrame.History(id, conversation(f), number(f, Field.BEFORE, 1, 0), limit(f));
      case "typing" -> new ClientFrame.Typing(id, conversation(f));
      case "ping" -> new ClientFrame.Ping(id);
      case "inbox" -> new ClientFrame.InboxPage(id, inboxLimit(f), cursor(f));
      case "read" -> new ClientFrame.Read(id, conversation(f), number(f, Field.SEQ, 0, Long.MIN_VALUE));
      case "mute" -> new ClientFrame.Mute(id, conversation(f), muted(f));
      case "presence", "presence_subscribe", "presence_unsubscribe", "set_presence" -> PresenceFrames.decode(type, id, f);
      default -> throw new ProtocolException(ErrorCode.BAD_REQUEST, "unknown frame type: " + abbreviate(type));
    };
  }

  /** The mute frame's {@code muted}: true or false, true when absent ({"type":"mute"} mutes). */
  static boolean muted(FrameFields f) {
    Object muted = f.get(Field.MUTED);
    if (muted == null || muted == FrameFields.NULL) return true;
    if (!(muted instanceof Boolean b)) throw new ProtocolException(ErrorCode.BAD_REQUEST, "muted must be true or false");
    return b;
  }

  static String conversation(FrameFields f) {
    String id = text(f, Field.CONVERSATION, true, 128);
    return validConversationId(id);
  }

  /**
   * 1-128 characters of {@code A-Z a-z 0-9 . _ : -}. Checked on every frame that names a
   * conversation, so by a loop over the characters rather than a regular expression (a matcher per
   * frame showed in the overload profile, issue 18).
   */
  public static String validConversationId(String id) {
    if (!isConversationId(id)) {
      throw new ProtocolException(ErrorCode.BAD_REQUEST, "conversation ids are 1-128 characters of A-Z a-z 0-9 . _ : -");
    }
    return id;
  }

  static boolean isConversationId(String id) {
    int length = id.length();
    if (length < 1 || length > 128) return false;
    for (int i = 0; i < length; i++) {
      char c = id.charAt(i);
      boolean allowed =
          (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == ':' || c == '-';
      if (!allowed) return false;
    }
    return true;
  }

  /** The optional title of a new conversation. */
  static String title(FrameFields f) {
    return text(f, Field.TITLE, false, dev.parley.conversation.Conversation.MAX_TITLE_LENGTH);
  }

  /** The conversation a create names, null when it names none (the server picks one). */
  static String optionalConversation(FrameFields f) {
    return f.hasNonNull(Field.CONVERSATION) ? conversation(f) : null;
  }

  static List<String> members(FrameFields f) {
    Object members = f.get(Field.MEMBERS);
    if (members == null || members == FrameFields.NULL) return List.of();
    if (!(members instanceof List<?> list)) throw new ProtocolException(ErrorCode.BAD_REQUEST, "members must be an array of user ids");
    if (list.size() > dev.parley.conversation.Conversation.MAX_MEMBERS_AT_CREATE) {
      throw new ProtocolException(ErrorCode.TOO_LARGE, "too many members");
    }
    LinkedHashSet<String> users = new LinkedHashSet<>();
    for (Object m : list) {
      if (!(m instanceof String user) || user.isBlank() || user.length() > MAX_USER_ID) {
        throw new ProtocolException(ErrorCode.BAD_REQUEST, "members must be non-empty user ids of at most 128 characters");
      }
      users.add(wellFormed(Field.MEMBERS, user));
    }
    return new ArrayList<>(users);
  }

  private static String user(FrameFields f, Field field) {
    String user = text(f, field, true, MAX_USER_ID);
    if (user.isBlank()) throw new ProtocolException(ErrorCode.BAD_REQUEST, field.wire + " must not be blank");
    return user;
  }

  static String clientMsgId(FrameFields f) {
    String id = text(f, Field.CLIENT_MSG_ID, true, MAX_CLIENT_MSG_ID);
    if (id.isEmpty()) throw new ProtocolException(ErrorCode.BAD_REQUEST, "clientMsgId must not be empty");
    return id;
  }

  String messageText(FrameFields f) {
    if (!(f.get(Field.TEXT) instanceof String text)) throw new ProtocolException(ErrorCode.BAD_REQUEST, "text must be a string");
    if (text.isBlank()) throw new ProtocolException(ErrorCode.BAD_REQUEST, "text must not be blank");
    if (text.codePointCount(0, text.length()) > settings.maxTextLength()) {
      throw new ProtocolException(ErrorCode.TOO_LARGE, "text is longer than " + settings.maxTextLength() + " characters");
    }
    return wellFormed(Field.TEXT, text);
  }

  /** The inbox page size: 1 or more, {@value #DEFAULT_INBOX_LIMIT} when absent (callers cap it). */
  static int inboxLimit(FrameFields f) {
    return (int) Math.min(number(f, Field.LIMIT, 1, DEFAULT_INBOX_LIMIT), Integer.MAX_VALUE);
  }

  /** An inbox cursor as the server handed it out; anything else is {@code bad_request}. */
  static Optional<Inbox.Cursor> cursor(FrameFields f) {
    String cursor = text(f, Field.CURSOR, false, 512);
    if (cursor == null) return Optional.empty();
    Optional<Inbox.Cursor> decoded = Inbox.Cursor.decode(cursor);
    if (decoded.isEmpty()) throw new ProtocolException(ErrorCode.BAD_REQUEST, "cursor is not one this server handed out");
    return decoded;
  }

  int limit(FrameFields f) {
    long limit = number(f, Field.LIMIT, 1, DEFAULT_HISTORY_LIMIT);
    return (int) Math.min(limit, settings.historyMaxLimit());
  }

  /**
   * A whole number at least {@code min}; {@code absent} when missing ({@code Long.MIN_VALUE}:
   * required). A fraction, or an integer beyond a long, is not one.
   */
  static long number(FrameFields f, Field field, long min, long absent) {
    Object value = f.get(field);
    if (value == null || value == FrameFields.NULL) {
      if (absent == Long.MIN_VALUE) throw new ProtocolException(ErrorCode.BAD_REQUEST, field.wire + " is required");
      return absent;
    }
    if (!(value instanceof Long number) || number < min) {
      throw new ProtocolException(ErrorCode.BAD_REQUEST, field.wire + " must be a whole number of at least " + min);
    }
    return number;
  }

  private static String text(FrameFields f, Field field, boolean required, int maxLength) {
    Object value = f.get(field);
    if (value == null || value == FrameFields.NULL) {
      if (required) throw new ProtocolException(ErrorCode.BAD_REQUEST, field.wire + " is required");
      return null;
    }
    if (!(value instanceof String text)) throw new ProtocolException(ErrorCode.BAD_REQUEST, field.wire + " must be a string");
    if (text.length() > maxLength) {
      throw new ProtocolException(ErrorCode.TOO_LARGE, field.wire + " is longer than " + maxLength + " characters");
    }
    return wellFormed(field, text);
  }

  /**
   * Refuses unpaired surrogates (a JSON escape of a lone surrogate yields one): such a string cannot
   * be encoded, so an event carrying it would fail to persist (Jackson CBOR refuses it) on every retry.
   */
  private static String wellFormed(Field field, String value) {
    for (int i = 0; i < value.length(); i++) {
      char c = value.charAt(i);
      if (Character.isHighSurrogate(c) && i + 1 < value.length() && Character.isLowSurrogate(value.charAt(i + 1))) {
        i++;
      } else if (Character.isSurrogate(c)) {
        throw new ProtocolException(ErrorCode.BAD_REQUEST, field.wire + " must be valid Unicode text");
      }
    }
    return value;
  }

  private static String abbreviate(String s) {
    return s.length() <= 32 ? s : s.substring(0, 32) + "...";
  }

  // ---- encoding -------------------------------------------------------------------------------

  public static ObjectNode reply(String type, JsonNode id) {
    ObjectNode node = JSON.createObjectNode();
    node.put("type", type);
    if (id != null) node.set("id", id);
    return node;
  }

  public static ObjectNode error(JsonNode id, ErrorCode code, String message) {
    return reply("error", id).put("code", code.code()).put("message", message);
  }

  public static ObjectNode typing(String conversation, String user) {
    return reply("typing", null).put("conversation", conversation).put("user", user);
  }

  public static ObjectNode readReceipt(String conversation, String user, long seq) {
    return reply("read_receipt", null).put("conversation", conversation).put("user", user).put("seq", seq);
  }

  /** An inbox page: {@code items} newest activity first, {@code next} the cursor of the following page or null. */
  public static ObjectNode inboxPage(JsonNode id, Inbox.Page page) {
    ObjectNode node = reply("inbox", id);
    ArrayNode items = node.putArray("items");
    page.items().forEach(item -> items.add(inboxItem(JSON.createObjectNode(), item)));
    if (page.next().isPresent()) node.put("next", page.next().get().encode());
    else node.putNull("next");
    return node;
  }

  /** Pushed to every connection of a user when one of their conversations changes. */
  public static ObjectNode inboxUpdate(Inbox.Item item) {
    return inboxItem(reply("inbox_update", null), item);
  }

  /** Pushed to every connection of a user who left a conversation. */
  public static ObjectNode inboxRemoved(String conversation) {
    return reply("inbox_update", null).put("conversation", conversation).put("removed", true);
  }

  private static ObjectNode inboxItem(ObjectNode node, Inbox.Item item) {
    Inbox.Summary summary = item.summary();
    node.put("conversation", summary.conversation())
        .put("title", summary.title())
        .put("lastSeq", summary.lastSeq())
        .put("lastActivity", item.lastActivity());
    if (summary.preview() == null) {
      node.putNull("preview");
    } else {
      ObjectNode preview = node.putObject("preview").put("seq", summary.preview().seq()).put("sender", summary.preview().sender());
      if (summary.preview().text() == null) preview.putNull("text").put("deleted", true);
      else preview.put("text", summary.preview().text());
    }
    return node.put("readSeq", item.readSeq()).put("unread", item.unread()).put("muted", item.muted());
  }

  /**
   * The node is draining: open a new connection (to another node) after {@code afterMs}; this one
   * keeps working for {@code closeInMs} (0: it closes right after this frame).
   */
  /** {@code reason}: "drain" (the node leaves) or "rebalance" (it holds more than its share). */
  public static ObjectNode reconnect(long afterMs, long closeInMs, String reason) {
    return reply("reconnect", null).put("afterMs", afterMs).put("closeInMs", closeInMs).put("reason", reason);
  }

  /**
   * Writes work again on this node (its storage breaker closed: the database answers): sent to a
   * connection that was answered {@code unavailable} since its last accepted write, so the client
   * retries now instead of after its backoff.
   */
  public static ObjectNode writesResumed() {
    return reply("writes_resumed", null);
  }

  /** A timeline event as a client sees it: its own {@code type}, the conversation and the seq. */
  public static ObjectNode event(String conversation, TimelineEvent event) {
    ObjectNode node = JSON.createObjectNode();
    if (event instanceof TimelineEvent.MessagePosted m) {
      node.put("type", "message").put("conversation", conversation).put("seq", m.seq())
          .put("sender", m.sender()).put("clientMsgId", m.clientMsgId()).put("text", m.text());
    } else if (event instanceof TimelineEvent.Created c) {
      node.put("type", "conversation_created").put("conversation", conversation).put("seq", c.seq())
          .put("createdBy", c.createdBy()).put("title", c.title());
      ArrayNode members = node.putArray("members");
      c.members().forEach(members::add);
    } else if (event instanceof TimelineEvent.MemberJoined j) {
      node.put("type", "member_joined").put("conversation", conversation).put("seq", j.seq())
          .put("user", j.user()).put("invitedBy", j.invitedBy());
    } else if (event instanceof TimelineEvent.MemberLeft l) {
      node.put("type", "member_left").put("conversation", conversation).put("seq", l.seq()).put("user", l.user());
    } else if (event instanceof TimelineEvent.MessageEdited e) {
      node.put("type", "message_edited").put("conversation", conversation).put("seq", e.seq())
          .put("target", e.target()).put("editor", e.editor()).put("text", e.text());
    } else if (event instanceof TimelineEvent.MessageDeleted d) {
      node.put("type", "message_deleted").put("conversation", conversation).put("seq", d.seq())
          .put("target", d.target()).put("deletedBy", d.deletedBy());
    } else if (event instanceof TimelineEvent.HandedOff h) {
      node.put("type", "handoff").put("conversation", conversation).put("seq", h.seq())
          .put("by", h.by()).put("reason", h.reason());
    }
    node.put("ts", event.ts());
    return node;
  }

  public static ArrayNode events(String conversation, List<TimelineEvent> events) {
    ArrayNode array = JSON.createArrayNode();
    events.forEach(e -> array.add(event(conversation, e)));
    return array;
  }

  /**
   * A server frame's text, written by a generator of the shared factory walking the frame (issue
   * 18: {@code writeValueAsString} set up a serializer provider and looked up a serializer per
   * frame, a tenth of a node's Java samples per send). The text is the one
   * {@code JSON.writeValueAsString} writes (FramesTest checks it).
   */
  public static String write(JsonNode node) {
    try {
      StringWriter text = new StringWriter(128);
      try (JsonGenerator g = JSON.getFactory().createGenerator(text)) {
        write(g, node);
      }
      return text.toString();
    } catch (IOException e) {
      throw new IllegalStateException("cannot encode a server frame", e);
    }
  }

  private static void write(JsonGenerator g, JsonNode node) throws IOException {
    switch (node.getNodeType()) {
      case OBJECT -> {
        g.writeStartObject();
        for (Map.Entry<String, JsonNode> field : node.properties()) {
          g.writeFieldName(field.getKey());
          write(g, field.getValue());
        }
        g.writeEndObject();
      }
      case ARRAY -> {
        g.writeStartArray();
        for (JsonNode element : node) write(g, element);
        g.writeEndArray();
      }
      case STRING -> g.writeString(node.textValue());
      case BOOLEAN -> g.writeBoolean(node.booleanValue());
      case NULL -> g.writeNull();
      case NUMBER -> {
        switch (node.numberType()) {
          case INT -> g.writeNumber(node.intValue());
          case LONG -> g.writeNumber(node.longValue());
          case BIG_INTEGER -> g.writeNumber(node.bigIntegerValue());
          case FLOAT -> g.writeNumber(node.floatValue());
          case DOUBLE -> g.writeNumber(node.doubleValue());
          case BIG_DECIMAL -> g.writeNumber(node.decimalValue());
        }
      }
      // No frame holds other nodes (binary, POJO); should one, Jackson writes it as it always did.
      default -> JSON.writeTree(g, node);
    }
  }
}
