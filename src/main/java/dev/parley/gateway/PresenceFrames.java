package dev.parley.gateway;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.parley.ErrorCode;
import dev.parley.gateway.FrameFields.Field;
import dev.parley.presence.PresenceHub;
import dev.parley.presence.UserPresence;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * The presence frames of protocol v1 (protocol.md, "Presence"), decoded and encoded here so that
 * {@link Frames} only routes their types.
 */
final class PresenceFrames {

  static final int DEFAULT_PAGE = 100;
  /** A bound on the array before the configured cap is checked (the frame size bounds it too). */
  private static final int MAX_USERS_IN_FRAME = 10_000;

  private PresenceFrames() {}

  static ClientFrame decode(String type, JsonNode id, FrameFields f) {
    return switch (type) {
      case "presence" -> new ClientFrame.PresencePage(id, Frames.conversation(f), after(f), (int) Math.min(Frames.number(f, Field.LIMIT, 1, DEFAULT_PAGE), Integer.MAX_VALUE));
      case "presence_subscribe" -> subscribe(id, f);
      case "presence_unsubscribe" -> new ClientFrame.PresenceUnsubscribe(id, Frames.conversation(f));
      case "set_presence" -> new ClientFrame.SetPresence(id, away(f));
      default -> throw new ProtocolException(ErrorCode.BAD_REQUEST, "unknown frame type");
    };
  }

  private static String after(FrameFields f) {
    Object after = f.get(Field.AFTER);
    if (after == null || after == FrameFields.NULL) return null;
    if (!(after instanceof String user) || user.isEmpty() || user.length() > 128) {
      throw new ProtocolException(ErrorCode.BAD_REQUEST, "after must be a user id (the last one of the previous page)");
    }
    return user;
  }

  private static ClientFrame subscribe(JsonNode id, FrameFields f) {
    String conversation = Frames.conversation(f);
    Object counts = f.get(Field.COUNTS);
    if (counts != null && counts != FrameFields.NULL && !(counts instanceof Boolean)) throw new ProtocolException(ErrorCode.BAD_REQUEST, "counts must be true or false");
    boolean countsOnly = Boolean.TRUE.equals(counts);
    Object users = f.get(Field.USERS);
    if (users == null || users == FrameFields.NULL) return new ClientFrame.PresenceSubscribe(id, conversation, countsOnly, null);
    if (countsOnly) throw new ProtocolException(ErrorCode.BAD_REQUEST, "counts and users do not go together: counts watches no user");
    if (!(users instanceof List<?> list)) throw new ProtocolException(ErrorCode.BAD_REQUEST, "users must be an array of user ids");
    if (list.size() > MAX_USERS_IN_FRAME) throw new ProtocolException(ErrorCode.TOO_LARGE, "too many users");
    Set<String> named = new LinkedHashSet<>();
    for (Object u : list) {
      if (!(u instanceof String user) || user.isEmpty() || user.length() > 128) {
        throw new ProtocolException(ErrorCode.BAD_REQUEST, "users must be non-empty user ids of at most 128 characters");
      }
      named.add(user);
    }
    return new ClientFrame.PresenceSubscribe(id, conversation, false, Set.copyOf(named));
  }

  private static boolean away(FrameFields f) {
    Object status = f.get(Field.STATUS);
    if ("away".equals(status)) return true;
    if ("online".equals(status)) return false;
    throw new ProtocolException(ErrorCode.BAD_REQUEST, "status must be \"online\" or \"away\"");
  }

  /** {@code {"user", "status", "lastSeen"}}: lastSeen (epoch ms) is null when online or unknown. */
  static ObjectNode user(UserPresence p) {
    ObjectNode node = Frames.JSON.createObjectNode().put("user", p.user()).put("status", p.status().wireName());
    if (p.lastSeen() == null) node.putNull("lastSeen");
    else node.put("lastSeen", p.lastSeen());
    return node;
  }

  /** The answer to a {@code presence} request: a page of members with their presence. */
  static ObjectNode page(JsonNode id, String conversation, List<UserPresence> members, int total, boolean more) {
    ObjectNode node = Frames.reply("presence_page", id).put("conversation", conversation).put("total", total);
    ArrayNode array = node.putArray("members");
    members.forEach(p -> array.add(user(p)));
    if (more && !members.isEmpty()) node.put("next", members.get(members.size() - 1).user());
    else node.putNull("next");
    return node;
  }

  /** The batched event: at most one per connection per batch interval. */
  static ObjectNode batch(PresenceHub.Batch batch) {
    ObjectNode node = Frames.reply("presence", null);
    ArrayNode users = node.putArray("users");
    batch.users().forEach(p -> users.add(user(p)));
    ArrayNode counts = node.putArray("counts");
    batch.counts()
        .forEach(
            c -> counts.addObject().put("conversation", c.room()).put("members", c.members()).put("online", c.online()).put("away", c.away()));
    return node;
  }
}
