package dev.parley.gateway;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.parley.ErrorCode;
import dev.parley.conversation.Conversation;
import dev.parley.conversation.Conversations;
import dev.parley.inbox.Inbox;
import dev.parley.ops.Metrics;
import java.util.UUID;
import org.apache.pekko.actor.typed.javadsl.ActorContext;

/**
 * A {@link Session}'s client requests, by kind: each client frame is decoded, checked against the
 * connection's limits, and becomes a call to a conversation, the inbox or presence, whose answer
 * becomes a reply frame ({@link Replies}). Confined to the session's actor.
 */
final class Requests {

  private final Session session;
  private final ActorContext<Session.Command> ctx;
  private final String user;
  private final Conversations conversations;
  private final Inbox inbox;
  private final int inboxMaxPage;
  private final Subscriptions subscriptions;
  private final ConnectionLimits limits;
  private final Metrics metrics;
  private final Replies replies;
  private final Frames frames;
  private final int maxFrameBytes;

  Requests(
      Session session,
      ActorContext<Session.Command> ctx,
      String user,
      Conversations conversations,
      Inbox inbox,
      int inboxMaxPage,
      Subscriptions subscriptions,
      ConnectionLimits limits,
      Metrics metrics,
      Replies replies,
      Frames frames,
      int maxFrameBytes) {
    this.session = session;
    this.ctx = ctx;
    this.replies = replies;
    this.frames = frames;
    this.maxFrameBytes = maxFrameBytes;
    this.user = user;
    this.conversations = conversations;
    this.inbox = inbox;
    this.inboxMaxPage = inboxMaxPage;
    this.subscriptions = subscriptions;
    this.limits = limits;
    this.metrics = metrics;
  }

  /**
   * One client frame: a request of the protocol, or an error frame saying why it is not one (bad
   * JSON, an unknown type, too large, binary).
   */
  void receive(IncomingFrame frame) {
    if (frame instanceof IncomingFrame.Text text) {
      FrameFields fields = null;
      try {
        fields = FrameFields.parse(text.text());
        handle(frames.decode(fields));
      } catch (ProtocolException e) {
        // The code only: the reason may quote the frame, and frames carry message texts.
        ctx.getLog().debug("refused a frame: {}", e.code());
        session.push(Frames.error(fields == null ? null : fields.requestId(), e.code(), e.getMessage()));
      }
    } else if (frame instanceof IncomingFrame.Oversized) {
      session.push(Frames.error(null, ErrorCode.TOO_LARGE, "frame is larger than " + maxFrameBytes + " bytes"));
    } else {
      session.push(Frames.error(null, ErrorCode.BAD_REQUEST, "binary frames are not part of the protocol; send JSON text"));
    }
  }

  /** Runs one client request; one over a limit is refused with an error frame. */
  private void handle(ClientFrame frame) {
    if (limits.overLimit(frame)) return;
    if (frame instanceof ClientFrame.Ping ping) {
      session.push(Frames.reply("pong", ping.id()));
    } else if (frame instanceof ClientFrame.Send send) {
      long received = metrics.sendReceived();
      replies.request(
          conversations.send(send.conversation(), user, send.clientMsgId(), send.text()),
          reply -> {
            metrics.sendAcked(received);
            Conversation.Sent sent = (Conversation.Sent) reply;
            return Frames.reply("ack", send.id())
                .put("conversation", send.conversation())
                .put("seq", sent.seq())
                .put("clientMsgId", sent.clientMsgId());
          },
          send.id());
    } else if (frame instanceof ClientFrame.Subscribe subscribe) {
      subscriptions.subscribe(subscribe);
    } else if (frame instanceof ClientFrame.Unsubscribe unsubscribe) {
      subscriptions.drop(unsubscribe.conversation());
      session.presence().dropped(unsubscribe.conversation());
      session.push(Frames.reply("unsubscribed", unsubscribe.id()).put("conversation", unsubscribe.conversation()));
    } else if (frame instanceof ClientFrame.History history) {
      replies.request(
          conversations.history(history.conversation(), user, history.before(), history.limit()),
          reply -> {
            ObjectNode page = Frames.reply("history", history.id()).put("conversation", history.conversation());
            page.set("events", Frames.events(history.conversation(), ((Conversation.HistoryPage) reply).events()));
            return page;
          },
          history.id());
    } else if (frame instanceof ClientFrame.Typing typing) {
      conversations.entity(typing.conversation()).tell(new Conversation.Typing(user));
    } else if (frame instanceof ClientFrame.Create create) {
      String id = create.conversation() != null ? create.conversation() : UUID.randomUUID().toString();
      replies.request(
          conversations.create(id, user, create.members(), create.title()),
          reply -> Frames.reply("created", create.id()).put("conversation", id),
          create.id());
    } else if (frame instanceof ClientFrame.Invite invite) {
      replies.request(
          conversations.invite(invite.conversation(), user, invite.user()),
          reply -> ok(invite.id(), invite.conversation(), reply),
          invite.id());
    } else if (frame instanceof ClientFrame.Leave leave) {
      replies.request(
          conversations.leave(leave.conversation(), user),
          reply -> {
            subscriptions.drop(leave.conversation());
            session.presence().dropped(leave.conversation());
            return ok(leave.id(), leave.conversation(), reply);
          },
          leave.id());
    } else if (frame instanceof ClientFrame.Edit edit) {
      replies.request(
          conversations.edit(edit.conversation(), user, edit.seq(), edit.text()),
          reply -> ok(edit.id(), edit.conversation(), reply),
          edit.id());
    } else if (frame instanceof ClientFrame.InboxPage page) {
      replies.answer(
          inbox.page(user, Math.min(page.limit(), inboxMaxPage), page.cursor()),
          result -> Frames.inboxPage(page.id(), result),
          page.id());
    } else if (frame instanceof ClientFrame.Read read) {
      replies.answer(
          inbox.markRead(user, read.conversation(), read.seq()),
          marked -> {
            ObjectNode ok = Frames.reply("ok", read.id()).put("conversation", read.conversation()).put("seq", marked.seq());
            marked.item().ifPresent(item -> ok.put("unread", item.unread()));
            return ok;
          },
          read.id());
    } else if (frame instanceof ClientFrame.Mute mute) {
      replies.answer(
          inbox.setMuted(user, mute.conversation(), mute.muted()),
          muted -> Frames.reply("ok", mute.id()).put("conversation", mute.conversation()).put("muted", muted.muted()),
          mute.id());
    } else if (frame instanceof ClientFrame.Delete delete) {
      replies.request(
          conversations.delete(delete.conversation(), user, delete.seq()),
          reply -> ok(delete.id(), delete.conversation(), reply),
          delete.id());
    } else if (frame instanceof ClientFrame.PresencePage
        || frame instanceof ClientFrame.PresenceSubscribe
        || frame instanceof ClientFrame.PresenceUnsubscribe
        || frame instanceof ClientFrame.SetPresence) {
      session.presence().handle(frame);
    }
  }

  private static ObjectNode ok(JsonNode id, String conversation, Conversation.Reply reply) {
    return Frames.reply("ok", id).put("conversation", conversation).put("seq", ((Conversation.Accepted) reply).seq());
  }
}
