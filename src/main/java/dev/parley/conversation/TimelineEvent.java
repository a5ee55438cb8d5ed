package dev.parley.conversation;

import com.fasterxml.jackson.annotation.JsonSubTypes;
import com.fasterxml.jackson.annotation.JsonTypeInfo;
import dev.parley.CborSerializable;
import java.util.List;

/**
 * What happens in a conversation, as persisted in the journal and shown to clients. Every event
 * carries the conversation's next {@code seq} (1, 2, 3, ... with no gap): it is also the Pekko
 * Persistence sequence number of the event, so a seq range is a primary-key range in the journal.
 * {@code ts} is the server time in epoch milliseconds when the event was accepted.
 */
@JsonTypeInfo(use = JsonTypeInfo.Id.NAME, property = "t")
@JsonSubTypes({
  @JsonSubTypes.Type(value = TimelineEvent.Created.class, name = "created"),
  @JsonSubTypes.Type(value = TimelineEvent.MemberJoined.class, name = "joined"),
  @JsonSubTypes.Type(value = TimelineEvent.MemberLeft.class, name = "left"),
  @JsonSubTypes.Type(value = TimelineEvent.MessagePosted.class, name = "message"),
  @JsonSubTypes.Type(value = TimelineEvent.MessageEdited.class, name = "edited"),
  @JsonSubTypes.Type(value = TimelineEvent.MessageDeleted.class, name = "deleted"),
  @JsonSubTypes.Type(value = TimelineEvent.HandedOff.class, name = "handoff")
})
public sealed interface TimelineEvent extends CborSerializable {
  long seq();

  long ts();

  /** The conversation was created by {@code createdBy} with these members (creator included). */
  record Created(long seq, long ts, String createdBy, String title, List<String> members)
      implements TimelineEvent {}

  record MemberJoined(long seq, long ts, String user, String invitedBy) implements TimelineEvent {}

  record MemberLeft(long seq, long ts, String user) implements TimelineEvent {}

  record MessagePosted(long seq, long ts, String sender, String clientMsgId, String text)
      implements TimelineEvent {}

  /** {@code target} is the seq of the message whose text is replaced. */
  record MessageEdited(long seq, long ts, String editor, long target, String text)
      implements TimelineEvent {}

  /** {@code target} is the seq of the message that is withdrawn. */
  record MessageDeleted(long seq, long ts, String deletedBy, long target) implements TimelineEvent {}

  /**
   * {@code by} (a bot) hands the conversation to people: agents' clients act on it. {@code key}
   * makes the handoff idempotent like a send's clientMsgId (a bot re-handling an event after a
   * crash hands off once); it is not shown to clients.
   */
  record HandedOff(long seq, long ts, String by, String reason, String key) implements TimelineEvent {}
}
