package dev.parley.gateway;

import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.inbox.Inbox;
import java.util.List;
import java.util.Optional;

/**
 * A request from a client, decoded and validated by {@link Frames}. {@code id} is the client's
 * request id (any JSON string or number), echoed in the reply; it may be null.
 */
public sealed interface ClientFrame {
  JsonNode id();

  record Create(JsonNode id, String conversation, List<String> members, String title) implements ClientFrame {}

  record Invite(JsonNode id, String conversation, String user) implements ClientFrame {}

  record Leave(JsonNode id, String conversation) implements ClientFrame {}

  /** {@code since < 0}: live events only. */
  record Subscribe(JsonNode id, String conversation, long since) implements ClientFrame {}

  record Unsubscribe(JsonNode id, String conversation) implements ClientFrame {}

  record Send(JsonNode id, String conversation, String clientMsgId, String text) implements ClientFrame {}

  record Edit(JsonNode id, String conversation, long seq, String text) implements ClientFrame {}

  record Delete(JsonNode id, String conversation, long seq) implements ClientFrame {}

  /** {@code before <= 0}: the newest page. */
  record History(JsonNode id, String conversation, long before, int limit) implements ClientFrame {}

  record Typing(JsonNode id, String conversation) implements ClientFrame {}

  record Ping(JsonNode id) implements ClientFrame {}

  /** A page of the user's inbox after {@code cursor} (empty: the first page). */
  record InboxPage(JsonNode id, int limit, Optional<Inbox.Cursor> cursor) implements ClientFrame {}

  /** The user has read {@code conversation} up to {@code seq}. */
  record Read(JsonNode id, String conversation, long seq) implements ClientFrame {}

  /** Mutes ({@code muted}) or unmutes the user's offline notifications of {@code conversation} (issue 21). */
  record Mute(JsonNode id, String conversation, boolean muted) implements ClientFrame {}

  // ---- presence (issue 21; see PresenceFrames) ----

  /** A page of members with their presence, after the member {@code after} (null: from the first). */
  record PresencePage(JsonNode id, String conversation, String after, int limit) implements ClientFrame {}

  /** Watch presence changes of a subscribed conversation: counts only, the named {@code users}, or (both empty) every member. */
  record PresenceSubscribe(JsonNode id, String conversation, boolean countsOnly, java.util.Set<String> users) implements ClientFrame {}

  record PresenceUnsubscribe(JsonNode id, String conversation) implements ClientFrame {}

  record SetPresence(JsonNode id, boolean away) implements ClientFrame {}
}
