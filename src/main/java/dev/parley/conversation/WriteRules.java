package dev.parley.conversation;

import dev.parley.ErrorCode;
import dev.parley.conversation.Conversation.Accepted;
import dev.parley.conversation.Conversation.Command;
import dev.parley.conversation.Conversation.Delete;
import dev.parley.conversation.Conversation.Edit;
import dev.parley.conversation.Conversation.Handoff;
import dev.parley.conversation.Conversation.Invite;
import dev.parley.conversation.Conversation.Leave;
import dev.parley.conversation.Conversation.Rejected;
import dev.parley.conversation.Conversation.Reply;
import dev.parley.conversation.Conversation.Send;
import dev.parley.conversation.Conversation.Sent;
import dev.parley.conversation.TimelineEvent.HandedOff;
import dev.parley.conversation.TimelineEvent.MemberJoined;
import dev.parley.conversation.TimelineEvent.MemberLeft;
import dev.parley.conversation.TimelineEvent.MessageDeleted;
import dev.parley.conversation.TimelineEvent.MessageEdited;
import dev.parley.conversation.TimelineEvent.MessagePosted;
import java.util.Optional;
import org.apache.pekko.actor.typed.ActorRef;

/**
 * What each write command of an existing conversation decides, as a pure function of the state
 * it follows: an event to persist and the reply its sender gets once that event is durable, or a
 * reply alone (a rejection, or the seq of an earlier send with the same idempotency key).
 *
 * <p>Pure, so that a batch of writes can be decided one after another against the state each
 * leaves behind ({@link WriteBatch}) before any of them is persisted: the second send of a batch
 * gets the seq after the first, and a retry of a send that is in the same batch finds its key.
 */
final class WriteRules {

  private WriteRules() {}

  /** An event to persist (or none) and what the command's sender is told once it is durable. */
  record Decision(TimelineEvent event, ActorRef<Reply> replyTo, Reply reply) {
    boolean persists() {
      return event != null;
    }
  }

  /** Whether {@code command} is one of the commands decided here. */
  static boolean isWrite(Command command) {
    return command instanceof Send
        || command instanceof Invite
        || command instanceof Leave
        || command instanceof Edit
        || command instanceof Delete
        || command instanceof Handoff;
  }

  static ActorRef<Reply> replyTo(Command write) {
    if (write instanceof Send c) return c.replyTo();
    if (write instanceof Invite c) return c.replyTo();
    if (write instanceof Leave c) return c.replyTo();
    if (write instanceof Edit c) return c.replyTo();
    if (write instanceof Delete c) return c.replyTo();
    if (write instanceof Handoff c) return c.replyTo();
    throw new IllegalArgumentException("not a write: " + write.getClass().getName());
  }

  static Decision decide(ConversationState state, Command write, long now) {
    if (write instanceof Send c) return send(state, c, now);
    if (write instanceof Invite c) return invite(state, c, now);
    if (write instanceof Leave c) return leave(state, c, now);
    if (write instanceof Edit c) return edit(state, c, now);
    if (write instanceof Delete c) return delete(state, c, now);
    if (write instanceof Handoff c) return handoff(state, c, now);
    throw new IllegalArgumentException("not a write: " + write.getClass().getName());
  }

  private static Decision send(ConversationState state, Send cmd, long now) {
    if (now > cmd.deadline()) {
      return refuse(cmd.replyTo(), new Rejected(ErrorCode.UNAVAILABLE, "send expired before it could be processed"));
    }
    if (!state.isMember(cmd.sender())) return refuse(cmd.replyTo(), nonMember());
    Optional<Long> earlier = state.seqOfSend(cmd.sender(), cmd.clientMsgId());
    if (earlier.isPresent()) return refuse(cmd.replyTo(), new Sent(earlier.get(), cmd.clientMsgId()));
    long seq = state.lastSeq() + 1;
    return new Decision(
        new MessagePosted(seq, now, cmd.sender(), cmd.clientMsgId(), cmd.text()), cmd.replyTo(), new Sent(seq, cmd.clientMsgId()));
  }

  private static Decision invite(ConversationState state, Invite cmd, long now) {
    if (!state.isMember(cmd.by())) return refuse(cmd.replyTo(), nonMember());
    if (state.isMember(cmd.user())) return refuse(cmd.replyTo(), new Accepted(state.lastSeq()));
    long seq = state.lastSeq() + 1;
    return new Decision(new MemberJoined(seq, now, cmd.user(), cmd.by()), cmd.replyTo(), new Accepted(seq));
  }

  private static Decision leave(ConversationState state, Leave cmd, long now) {
    if (!state.isMember(cmd.user())) return refuse(cmd.replyTo(), nonMember());
    long seq = state.lastSeq() + 1;
    return new Decision(new MemberLeft(seq, now, cmd.user()), cmd.replyTo(), new Accepted(seq));
  }

  private static Decision edit(ConversationState state, Edit cmd, long now) {
    Optional<Rejected> refusal = checkOwnMessage(state, cmd.user(), cmd.target());
    if (refusal.isPresent()) return refuse(cmd.replyTo(), refusal.get());
    long seq = state.lastSeq() + 1;
    return new Decision(new MessageEdited(seq, now, cmd.user(), cmd.target(), cmd.text()), cmd.replyTo(), new Accepted(seq));
  }

  private static Decision delete(ConversationState state, Delete cmd, long now) {
    Optional<Rejected> refusal = checkOwnMessage(state, cmd.user(), cmd.target());
    if (refusal.isPresent()) return refuse(cmd.replyTo(), refusal.get());
    long seq = state.lastSeq() + 1;
    return new Decision(new MessageDeleted(seq, now, cmd.user(), cmd.target()), cmd.replyTo(), new Accepted(seq));
  }

  /** Idempotent per (user, key) like a send. */
  private static Decision handoff(ConversationState state, Handoff cmd, long now) {
    if (!state.isMember(cmd.user())) return refuse(cmd.replyTo(), nonMember());
    Optional<Long> earlier = state.seqOfSend(cmd.user(), cmd.key());
    if (earlier.isPresent()) return refuse(cmd.replyTo(), new Accepted(earlier.get()));
    long seq = state.lastSeq() + 1;
    return new Decision(new HandedOff(seq, now, cmd.user(), cmd.reason(), cmd.key()), cmd.replyTo(), new Accepted(seq));
  }

  /**
   * Only the sender edits or deletes a message, and only while it is in the recent window: the
   * entity can check authorship from memory, without a journal read on the write path.
   */
  private static Optional<Rejected> checkOwnMessage(ConversationState state, String user, long target) {
    if (!state.isMember(user)) return Optional.of(nonMember());
    if (target < 1 || target > state.lastSeq()) return Optional.of(new Rejected(ErrorCode.NOT_FOUND, "no such message"));
    Optional<TimelineEvent> event = state.recentEvent(target);
    if (event.isEmpty()) {
      return Optional.of(new Rejected(ErrorCode.BAD_REQUEST, "message is too old to change"));
    }
    if (!(event.get() instanceof MessagePosted posted)) {
      return Optional.of(new Rejected(ErrorCode.BAD_REQUEST, "seq is not a message"));
    }
    if (!posted.sender().equals(user)) {
      return Optional.of(new Rejected(ErrorCode.FORBIDDEN, "only the sender may change a message"));
    }
    boolean deleted =
        state.recentBetween(target + 1, state.lastSeq()).stream()
            .anyMatch(e -> e instanceof MessageDeleted d && d.target() == target);
    if (deleted) return Optional.of(new Rejected(ErrorCode.NOT_FOUND, "message was deleted"));
    return Optional.empty();
  }

  private static Decision refuse(ActorRef<Reply> replyTo, Reply reply) {
    return new Decision(null, replyTo, reply);
  }

  static Rejected nonMember() {
    return new Rejected(ErrorCode.FORBIDDEN, "not a member of this conversation");
  }
}
