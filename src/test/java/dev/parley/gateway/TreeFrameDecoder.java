package dev.parley.gateway;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.parley.ErrorCode;
import dev.parley.inbox.Inbox;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * The oracle of {@link StreamingFramesMatchTheTreeTest}: the client-frame decoder as it was before
 * issue 18 made it streaming (main 861b0e7: {@code ObjectMapper.readTree}, then the JSON tree
 * validated field by field), verbatim but for its name. The streaming decoder must answer every
 * text exactly as this one does: the same frame, or the same error code, message and echoed id.
 * A protocol change is made in {@link Frames} and here alike.
 */
final class TreeFrameDecoder {

  private static final int MAX_USER_ID = 128;
  private static final int MAX_CLIENT_MSG_ID = 128;
  private static final int DEFAULT_HISTORY_LIMIT = Frames.DEFAULT_HISTORY_LIMIT;
  private static final int DEFAULT_INBOX_LIMIT = Frames.DEFAULT_INBOX_LIMIT;

  private final GatewaySettings settings;

  TreeFrameDecoder(GatewaySettings settings) {
    this.settings = settings;
  }


  /** Parses a frame's text into a JSON object, or fails with {@code bad_request}. */
  static ObjectNode parseObject(String text) {
    JsonNode node;
    try {
      node = Frames.JSON.readTree(text);
    } catch (JsonProcessingException | RuntimeException e) {
      throw new ProtocolException(ErrorCode.BAD_REQUEST, "frame is not valid JSON");
    }
    if (node == null || !node.isObject()) throw new ProtocolException(ErrorCode.BAD_REQUEST, "frame must be a JSON object");
    return (ObjectNode) node;
  }

  /** The request id to echo: a string or a number; anything else is ignored. */
  static JsonNode requestId(ObjectNode frame) {
    JsonNode id = frame.get("id");
    if (id == null) return null;
    if ((id.isTextual() && id.textValue().length() <= 128) || id.isIntegralNumber()) return id;
    return null;
  }

  ClientFrame decode(ObjectNode f) {
    JsonNode id = requestId(f);
    if (f.has("id") && id == null) throw new ProtocolException(ErrorCode.BAD_REQUEST, "id must be a short string or an integer");
    String type = text(f, "type", true, 32);
    return switch (type) {
      case "create" -> new ClientFrame.Create(id, optionalConversation(f), members(f), title(f));
      case "invite" -> new ClientFrame.Invite(id, conversation(f), user(f, "user"));
      case "leave" -> new ClientFrame.Leave(id, conversation(f));
      case "subscribe" -> new ClientFrame.Subscribe(id, conversation(f), number(f, "since", 0, -1));
      case "unsubscribe" -> new ClientFrame.Unsubscribe(id, conversation(f));
      case "send" -> new ClientFrame.Send(id, conversation(f), clientMsgId(f), messageText(f));
      case "edit" -> new ClientFrame.Edit(id, conversation(f), number(f, "seq", 1, Long.MIN_VALUE), messageText(f));
      case "delete" -> new ClientFrame.Delete(id, conversation(f), number(f, "seq", 1, Long.MIN_VALUE));
      case "history" -> new ClientFrame.History(id, conversation(f), number(f, "before", 1, 0), limit(f));
      case "typing" -> new ClientFrame.Typing(id, conversation(f));
      case "ping" -> new ClientFrame.Ping(id);
      case "inbox" -> new ClientFrame.InboxPage(id, inboxLimit(f), cursor(f));
      case "read" -> new ClientFrame.Read(id, conversation(f), number(f, "seq", 0, Long.MIN_VALUE));
      case "mute" -> new ClientFrame.Mute(id, conversation(f), muted(f));
      case "presence", "presence_subscribe", "presence_unsubscribe", "set_presence" -> presenceDecode(type, id, f);
      default -> throw new ProtocolException(ErrorCode.BAD_REQUEST, "unknown frame type: " + abbreviate(type));
    };
  }

  /** The mute frame's {@code muted}: true or false, true when absent ({"type":"mute"} mutes). */
  static boolean muted(JsonNode f) {
    JsonNode muted = f.get("muted");
    if (muted == null || muted.isNull()) return true;
    if (!muted.isBoolean()) throw new ProtocolException(ErrorCode.BAD_REQUEST, "muted must be true or false");
    return muted.booleanValue();
  }

  static String conversation(JsonNode f) {
    String id = text(f, "conversation", true, 128);
    return Frames.validConversationId(id);
  }

  /** The optional title of a new conversation. */
  static String title(JsonNode f) {
    return text(f, "title", false, dev.parley.conversation.Conversation.MAX_TITLE_LENGTH);
  }

  private static String optionalConversation(JsonNode f) {
    return f.hasNonNull("conversation") ? conversation(f) : null;
  }

  static List<String> members(JsonNode f) {
    JsonNode members = f.get("members");
    if (members == null || members.isNull()) return List.of();
    if (!members.isArray()) throw new ProtocolException(ErrorCode.BAD_REQUEST, "members must be an array of user ids");
    if (members.size() > dev.parley.conversation.Conversation.MAX_MEMBERS_AT_CREATE) {
      throw new ProtocolException(ErrorCode.TOO_LARGE, "too many members");
    }
    LinkedHashSet<String> users = new LinkedHashSet<>();
    for (JsonNode m : members) {
      if (!m.isTextual() || m.textValue().isBlank() || m.textValue().length() > MAX_USER_ID) {
        throw new ProtocolException(ErrorCode.BAD_REQUEST, "members must be non-empty user ids of at most 128 characters");
      }
      users.add(wellFormed("members", m.textValue()));
    }
    return new ArrayList<>(users);
  }

  private static String user(JsonNode f, String field) {
    String user = text(f, field, true, MAX_USER_ID);
    if (user.isBlank()) throw new ProtocolException(ErrorCode.BAD_REQUEST, field + " must not be blank");
    return user;
  }

  static String clientMsgId(JsonNode f) {
    String id = text(f, "clientMsgId", true, MAX_CLIENT_MSG_ID);
    if (id.isEmpty()) throw new ProtocolException(ErrorCode.BAD_REQUEST, "clientMsgId must not be empty");
    return id;
  }

  public String messageText(JsonNode f) {
    JsonNode node = f.get("text");
    if (node == null || !node.isTextual()) throw new ProtocolException(ErrorCode.BAD_REQUEST, "text must be a string");
    String text = node.textValue();
    if (text.isBlank()) throw new ProtocolException(ErrorCode.BAD_REQUEST, "text must not be blank");
    if (text.codePointCount(0, text.length()) > settings.maxTextLength()) {
      throw new ProtocolException(ErrorCode.TOO_LARGE, "text is longer than " + settings.maxTextLength() + " characters");
    }
    return wellFormed("text", text);
  }

  /** The inbox page size: 1 or more, {@value #DEFAULT_INBOX_LIMIT} when absent (callers cap it). */
  static int inboxLimit(JsonNode f) {
    return (int) Math.min(number(f, "limit", 1, DEFAULT_INBOX_LIMIT), Integer.MAX_VALUE);
  }

  /** An inbox cursor as the server handed it out; anything else is {@code bad_request}. */
  static Optional<Inbox.Cursor> cursor(JsonNode f) {
    String cursor = text(f, "cursor", false, 512);
    if (cursor == null) return Optional.empty();
    Optional<Inbox.Cursor> decoded = Inbox.Cursor.decode(cursor);
    if (decoded.isEmpty()) throw new ProtocolException(ErrorCode.BAD_REQUEST, "cursor is not one this server handed out");
    return decoded;
  }

  public int limit(JsonNode f) {
    long limit = number(f, "limit", 1, DEFAULT_HISTORY_LIMIT);
    return (int) Math.min(limit, settings.historyMaxLimit());
  }

  /** A whole number at least {@code min}; {@code absent} when missing ({@code Long.MIN_VALUE}: required). */
  static long number(JsonNode f, String field, long min, long absent) {
    JsonNode node = f.get(field);
    if (node == null || node.isNull()) {
      if (absent == Long.MIN_VALUE) throw new ProtocolException(ErrorCode.BAD_REQUEST, field + " is required");
      return absent;
    }
    if (!node.isIntegralNumber() || !node.canConvertToLong() || node.longValue() < min) {
      throw new ProtocolException(ErrorCode.BAD_REQUEST, field + " must be a whole number of at least " + min);
    }
    return node.longValue();
  }

  private static String text(JsonNode f, String field, boolean required, int maxLength) {
    JsonNode node = f.get(field);
    if (node == null || node.isNull()) {
      if (required) throw new ProtocolException(ErrorCode.BAD_REQUEST, field + " is required");
      return null;
    }
    if (!node.isTextual()) throw new ProtocolException(ErrorCode.BAD_REQUEST, field + " must be a string");
    if (node.textValue().length() > maxLength) {
      throw new ProtocolException(ErrorCode.TOO_LARGE, field + " is longer than " + maxLength + " characters");
    }
    return wellFormed(field, node.textValue());
  }

  /**
   * Refuses unpaired surrogates (a JSON escape of a lone surrogate yields one): such a string cannot
   * be encoded, so an event carrying it would fail to persist (Jackson CBOR refuses it) on every retry.
   */
  private static String wellFormed(String field, String value) {
    for (int i = 0; i < value.length(); i++) {
      char c = value.charAt(i);
      if (Character.isHighSurrogate(c) && i + 1 < value.length() && Character.isLowSurrogate(value.charAt(i + 1))) {
        i++;
      } else if (Character.isSurrogate(c)) {
        throw new ProtocolException(ErrorCode.BAD_REQUEST, field + " must be valid Unicode text");
      }
    }
    return value;
  }

  private static String abbreviate(String s) {
    return s.length() <= 32 ? s : s.substring(0, 32) + "...";
  }


  private static ClientFrame presenceDecode(String type, JsonNode id, JsonNode f) {
    return switch (type) {
      case "presence" -> new ClientFrame.PresencePage(id, conversation(f), after(f), (int) Math.min(number(f, "limit", 1, PresenceFrames.DEFAULT_PAGE), Integer.MAX_VALUE));
      case "presence_subscribe" -> subscribe(id, f);
      case "presence_unsubscribe" -> new ClientFrame.PresenceUnsubscribe(id, conversation(f));
      case "set_presence" -> new ClientFrame.SetPresence(id, away(f));
      default -> throw new ProtocolException(ErrorCode.BAD_REQUEST, "unknown frame type");
    };
  }

  private static String after(JsonNode f) {
    JsonNode after = f.get("after");
    if (after == null || after.isNull()) return null;
    if (!after.isTextual() || after.textValue().isEmpty() || after.textValue().length() > 128) {
      throw new ProtocolException(ErrorCode.BAD_REQUEST, "after must be a user id (the last one of the previous page)");
    }
    return after.textValue();
  }

  private static ClientFrame subscribe(JsonNode id, JsonNode f) {
    String conversation = conversation(f);
    JsonNode counts = f.get("counts");
    if (counts != null && !counts.isNull() && !counts.isBoolean()) throw new ProtocolException(ErrorCode.BAD_REQUEST, "counts must be true or false");
    boolean countsOnly = counts != null && counts.booleanValue();
    JsonNode users = f.get("users");
    if (users == null || users.isNull()) return new ClientFrame.PresenceSubscribe(id, conversation, countsOnly, null);
    if (countsOnly) throw new ProtocolException(ErrorCode.BAD_REQUEST, "counts and users do not go together: counts watches no user");
    if (!users.isArray()) throw new ProtocolException(ErrorCode.BAD_REQUEST, "users must be an array of user ids");
    if (users.size() > 10_000) throw new ProtocolException(ErrorCode.TOO_LARGE, "too many users");
    Set<String> named = new LinkedHashSet<>();
    for (JsonNode u : users) {
      if (!u.isTextual() || u.textValue().isEmpty() || u.textValue().length() > 128) {
        throw new ProtocolException(ErrorCode.BAD_REQUEST, "users must be non-empty user ids of at most 128 characters");
      }
      named.add(u.textValue());
    }
    return new ClientFrame.PresenceSubscribe(id, conversation, false, Set.copyOf(named));
  }

  private static boolean away(JsonNode f) {
    JsonNode status = f.get("status");
    if (status != null && status.isTextual()) {
      if (status.textValue().equals("away")) return true;
      if (status.textValue().equals("online")) return false;
    }
    throw new ProtocolException(ErrorCode.BAD_REQUEST, "status must be \"online\" or \"away\"");
  }
}
