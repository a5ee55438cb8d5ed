package dev.parley.gateway;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.parley.ErrorCode;
import dev.parley.conversation.Conversation;
import dev.parley.conversation.Conversations;
import dev.parley.inbox.Inbox;
import dev.parley.ops.Metrics;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.function.Function;
import org.apache.pekko.actor.typed.javadsl.ActorContext;

/**
 * A {@link Session}'s client requests, by kind: each becomes a call to a conversation or the inbox,
 * and its answer a reply frame. Every request counts as in flight until its reply is queued (the
 * session's {@code max-in-flight} rule). Confined to the session's actor.
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

  Requests(
      Session session,
      ActorContext<Session.Command> ctx,
      String user,
      Conversations conversations,
      Inbox inbox,
      int inboxMaxPage,
      Subscriptions subscriptions,
      ConnectionLimits limits,
      Metrics metrics) {
    this.session = session;
    this.ctx = ctx;
    this.user = user;
    this.conversations = conversations;
    this.inbox = inbox;
    this.inboxMaxPage = inboxMaxPage;
    this.subscriptions = subscriptions;
    this.limits = limits;
    this.metrics = metrics;
  }

  /** Runs one client request; one over a limit is refused with an error frame. */
  void handle(ClientFrame frame) {
    if (limits.overLimit(frame)) return;
    if (frame instanceof ClientFrame.Ping ping) {
      session.push(Frames.reply("pong", ping.id()));
    } else if (frame instanceof ClientFrame.Send send) {
      long received = metrics.sendReceived();
      request(
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
      request(
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
      request(
          conversations.create(id, user, create.members(), create.title()),
          reply -> Frames.reply("created", create.id()).put("conversation", id),
          create.id());
    } else if (frame instanceof ClientFrame.Invite invite) {
      request(
          conversations.invite(invite.conversation(), user, invite.user()),
          reply -> ok(invite.id(), invite.conversation(), reply),
          invite.id());
    } else if (frame instanceof ClientFrame.Leave leave) {
      request(
          conversations.leave(leave.conversation(), user),
          reply -> {
            subscriptions.drop(leave.conversation());
            session.presence().dropped(leave.conversation());
            return ok(leave.id(), leave.conversation(), reply);
          },
          leave.id());
    } else if (frame instanceof ClientFrame.Edit edit) {
      request(
          conversations.edit(edit.conversation(), user, edit.seq(), edit.text()),
          reply -> ok(edit.id(), edit.conversation(), reply),
          edit.id());
    } else if (frame instanceof ClientFrame.InboxPage page) {
      answer(
          inbox.page(user, Math.min(page.limit(), inboxMaxPage), page.cursor()),
          result -> Frames.inboxPage(page.id(), result),
          page.id());
    } else if (frame instanceof ClientFrame.Read read) {
      answer(
          inbox.markRead(user, read.conversation(), read.seq()),
          marked -> {
            ObjectNode ok = Frames.reply("ok", read.id()).put("conversation", read.conversation()).put("seq", marked.seq());
            marked.item().ifPresent(item -> ok.put("unread", item.unread()));
            return ok;
          },
          read.id());
    } else if (frame instanceof ClientFrame.Mute mute) {
      answer(
          inbox.setMuted(user, mute.conversation(), mute.muted()),
          muted -> Frames.reply("ok", mute.id()).put("conversation", mute.conversation()).put("muted", muted.muted()),
          mute.id());
    } else if (frame instanceof ClientFrame.Delete delete) {
      request(
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

  /**
   * Runs one request against a conversation. Its reply frame is built on the session's thread
   * (the builder may touch session state), and until it is sent the request counts as in flight.
   */
  private void request(
      CompletionStage<Conversation.Reply> answer, Function<Conversation.Reply, ObjectNode> onSuccess, JsonNode id) {
    session.requestStarted();
    // Not toCompletableFuture(): Scala's stages (Pekko's asks) refuse it.
    if (answer instanceof CompletableFuture<Conversation.Reply> future && future.isDone() && !future.isCompletedExceptionally()) {
      // Answered already (a send refused by an overloaded node): answer now, on this thread,
      // rather than through another message to this session. Under overload most sends end here,
      // so a refusal should cost as little as the node can make it (issue 18, target 8).
      session.finish(id, future.join(), onSuccess);
      return;
    }
    ctx.pipeToSelf(answer, (reply, failure) -> new Session.Finished(id, reply, onSuccess));
  }

  /** Like {@link #request}, for answers that are not a conversation's; the frame is built off-thread from the result alone. */
  private <T> void answer(CompletionStage<T> result, Function<T, ObjectNode> onSuccess, JsonNode id) {
    session.requestStarted();
    ctx
        .pipeToSelf(
            result,
            (value, failure) -> {
              if (failure == null) return new Session.Answered(onSuccess.apply(value));
              Throwable cause = failure instanceof CompletionException ? failure.getCause() : failure;
              if (cause instanceof Inbox.Refused refused) return new Session.Answered(Frames.error(id, refused.code(), refused.getMessage()));
              return new Session.Answered(Frames.error(id, ErrorCode.UNAVAILABLE, "unavailable, retry"));
            });
  }
}
