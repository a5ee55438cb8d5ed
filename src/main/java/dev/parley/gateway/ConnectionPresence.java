package dev.parley.gateway;

import dev.parley.ErrorCode;
import dev.parley.conversation.Conversation;
import dev.parley.conversation.Conversations;
import dev.parley.conversation.TimelineEvent;
import dev.parley.presence.Presence;
import dev.parley.presence.PresenceHub;
import java.util.HashSet;
import java.util.Set;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.javadsl.ActorContext;

/**
 * A {@link Session}'s part in presence (issue 21): registers the connection with the node's
 * presence, answers presence pages, and keeps the connection's watches within its subscriptions
 * (only a room it is subscribed to, so only as a member). Confined to the session's actor.
 */
final class ConnectionPresence {

  private final Session session;
  private final ActorContext<Session.Command> ctx;
  private final String user;
  private final Conversations conversations;
  private final Subscriptions subscriptions;
  private final Presence presence;
  private final ActorRef<PresenceHub.Batch> batches;
  private final Set<String> watched = new HashSet<>();

  ConnectionPresence(
      Session session, ActorContext<Session.Command> ctx, String user, Conversations conversations, Subscriptions subscriptions) {
    this.session = session;
    this.ctx = ctx;
    this.user = user;
    this.conversations = conversations;
    this.subscriptions = subscriptions;
    this.presence = Presence.get(ctx.getSystem());
    this.batches = ctx.messageAdapter(PresenceHub.Batch.class, Session.PresenceChanged::new);
    presence.connected(user, batches);
  }

  void handle(ClientFrame frame) {
    if (frame instanceof ClientFrame.PresencePage page) {
      int limit = Math.min(page.limit(), presence.settings().maxPage());
      session.requestStarted();
      ctx.pipeToSelf(
          conversations.members(page.conversation(), user, page.after(), limit),
          (reply, failure) ->
              new Session.Finished(
                  page.id(),
                  reply,
                  r -> {
                    Conversation.MembersPage members = (Conversation.MembersPage) r;
                    return PresenceFrames.page(
                        page.id(), page.conversation(), members.members().stream().map(presence::of).toList(), members.total(), members.more());
                  }));
    } else if (frame instanceof ClientFrame.PresenceSubscribe watch) {
      if (!subscriptions.has(watch.conversation())) {
        session.push(
            Frames.error(watch.id(), ErrorCode.BAD_REQUEST, "subscribe to the conversation before its presence")
                .put("conversation", watch.conversation()));
        return;
      }
      int max = presence.settings().maxWatchedUsers();
      if (watch.users() != null && watch.users().size() > max) {
        session.push(Frames.error(watch.id(), ErrorCode.TOO_LARGE, "at most " + max + " users per presence_subscribe").put("conversation", watch.conversation()));
        return;
      }
      watched.add(watch.conversation());
      presence.watch(batches, user, watch.conversation(), watch.countsOnly(), watch.users());
      session.push(Frames.reply("ok", watch.id()).put("conversation", watch.conversation()));
    } else if (frame instanceof ClientFrame.PresenceUnsubscribe unwatch) {
      dropped(unwatch.conversation());
      session.push(Frames.reply("ok", unwatch.id()).put("conversation", unwatch.conversation()));
    } else if (frame instanceof ClientFrame.SetPresence set) {
      presence.setAway(batches, set.away());
      session.push(Frames.reply("ok", set.id()).put("status", set.away() ? "away" : "online"));
    }
  }

  /**
   * Keeps the node's member set of a watched room current: membership events reach the node
   * through the connections subscribed to the room, so only watching connections forward them.
   */
  void onUpdate(Conversation.Update update) {
    if (!(update instanceof Conversation.Published published) || !watched.contains(published.conversationId())) return;
    TimelineEvent event = published.event();
    if (event instanceof TimelineEvent.MemberJoined joined) {
      presence.membershipChanged(published.conversationId(), joined.user(), true);
    } else if (event instanceof TimelineEvent.MemberLeft left) {
      presence.membershipChanged(published.conversationId(), left.user(), false);
      if (left.user().equals(user)) watched.remove(published.conversationId());
    }
  }

  /** The connection is no longer subscribed to {@code conversation} (unsubscribe, leave). */
  void dropped(String conversation) {
    if (watched.remove(conversation)) presence.unwatch(batches, conversation);
  }

  void stop() {
    presence.disconnected(batches);
  }
}
