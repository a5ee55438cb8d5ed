package dev.parley.gateway;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.parley.ErrorCode;
import dev.parley.ParleyConfig;
import dev.parley.cluster.AdmissionControl;
import dev.parley.cluster.Drain;
import dev.parley.cluster.NodeLifecycle;
import dev.parley.conversation.Conversation;
import dev.parley.conversation.Conversations;
import dev.parley.conversation.TimelineEvent;
import dev.parley.ops.Metrics;
import dev.parley.inbox.Inbox;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Function;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.eventstream.EventStream;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;

/**
 * One websocket connection: owns the user's subscriptions on it and everything sent to it.
 *
 * <p>Inbound frames arrive through a back-pressured sink; the session acknowledges a frame only
 * while fewer than {@code max-in-flight} requests are outstanding, so a client cannot queue
 * unbounded work. Outbound frames go into a bounded queue; a client that falls
 * {@code outbound-buffer} frames behind is told so and disconnected, and resumes with
 * {@code subscribe ... since}. Its {@link Subscriptions} deliver, per conversation, every event
 * once, in seq order, with no gap. On drain it hints a reconnect at its own moment and keeps
 * working for the handover, so the client moves before it closes.
 */
public final class Session extends AbstractBehavior<Session.Command> {

  public sealed interface Command {}

  /** The connection's stream ({@link SessionStream}) runs: the session may ask for the first client frame. */
  public enum StreamStarted implements Command {
    INSTANCE
  }

  /** A client frame, sent only when the session asked for one ({@link OutboundQueue#demand()}). */
  public record Incoming(IncomingFrame frame) implements Command {}

  public enum ClientGone implements Command {
    INSTANCE
  }

  public record ClientFailed(Throwable cause) implements Command {}

  /** A request's answer; {@code reply} is null when the conversation did not answer at all. */
  private record Finished(JsonNode id, Conversation.Reply reply, Function<Conversation.Reply, ObjectNode> onSuccess)
      implements Command {}

  private record FromConversation(Conversation.Update update) implements Command {}

  record JournalRead(String conversation, long tag, List<TimelineEvent> events, Throwable failure)
      implements Command {}

  record ConversationStopped(String conversation, ActorRef<Conversation.Command> entity) implements Command {}

  record Resubscribe(String conversation, long tag) implements Command {}

  record SubscribeTimedOut(String conversation, long tag) implements Command {}

  record ReplayMore(String conversation, long tag) implements Command {}

  private record DrainRequested(Drain.DrainConnections drain) implements Command {}

  /** From {@link ConnectedUsers}: {@code item} changed, or the user left {@code removedConversation}. */
  public record InboxUpdated(Inbox.Item item, String removedConversation) implements Command {}

  /** The user's tokens were revoked (dev.parley.auth.Revocations): the connection ends, with the reason. */
  public enum Revoke implements Command {
    INSTANCE
  }

  /** A request not answered by a conversation (inbox pages, read markers): its reply frame, built. */
  private record Answered(ObjectNode frame) implements Command {}

  /** The node is draining and this connection's moment to hint a reconnect has come. */
  private enum HintReconnect implements Command {
    INSTANCE
  }

  private enum CloseForDrain implements Command {
    INSTANCE
  }

  private enum TokenExpired implements Command {
    INSTANCE
  }

  /**
   * A session of {@code user}, whose token is accepted until {@code tokenValidUntil}: then the
   * connection is closed with an {@code unauthorized} "token expired" error (the client reconnects
   * with a fresh token). Releases the user's connection slot in {@code userLimits} when it stops.
   */
  public static Behavior<Command> create(
      String user,
      Instant tokenValidUntil,
      OutboundQueue outbound,
      Conversations conversations,
      Inbox inbox,
      ActorRef<ConnectedUsers.Command> connectedUsers,
      ParleyConfig config,
      AdmissionControl resumes,
      UserLimits userLimits) {
    // Every log line written while this session handles a message carries its user (MDC), and the
    // conversation when the message is about one.
    return Behaviors.withMdc(
        Command.class,
        Map.of("user", user),
        Session::conversationMdc,
        Behaviors.setup(
            ctx ->
                Behaviors.withTimers(
                    timers -> {
                      Session session =
                          new Session(ctx, timers, user, outbound, conversations, inbox, connectedUsers, config, resumes, userLimits);
                      Duration left =
                          Duration.between(Instant.now(), tokenValidUntil.isAfter(MAX_TOKEN_TIMER) ? MAX_TOKEN_TIMER : tokenValidUntil);
                      timers.startSingleTimer(TokenExpired.INSTANCE, left.isNegative() ? Duration.ZERO : left);
                      return session;
                    })));
  }

  private static Map<String, String> conversationMdc(Command message) {
    String conversation = null;
    if (message instanceof JournalRead m) conversation = m.conversation();
    else if (message instanceof ConversationStopped m) conversation = m.conversation();
    else if (message instanceof Resubscribe m) conversation = m.conversation();
    else if (message instanceof SubscribeTimedOut m) conversation = m.conversation();
    else if (message instanceof ReplayMore m) conversation = m.conversation();
    return conversation == null ? Map.of() : Map.of("conversation", conversation);
  }

  /** Timers beyond this are pointless (and Instant.MAX would overflow a Duration). */
  private static final Instant MAX_TOKEN_TIMER = Instant.parse("9999-01-01T00:00:00Z");

  private final TimerScheduler<Command> timers;
  private final String user;
  private final OutboundQueue outbound;
  private final Conversations conversations;
  private final Inbox inbox;
  private final int inboxMaxPage;
  private final ParleyConfig.GatewaySettings settings;
  private final Frames frames;
  private final Duration askTimeout;
  private final ActorRef<Conversation.Update> updates;
  private final Subscriptions subscriptions;
  private int inFlight;
  /** The session wants the next client frame but has no room for it yet. */
  private boolean demandWaiting;
  private boolean closing;
  private final AdmissionControl resumes;
  private final NodeLifecycle lifecycle;
  private final Metrics metrics;
  private final ActorRef<Drain.DrainConnections> drainListener;
  /** The node is draining and this connection's turn to close has come. */
  private boolean closingForDrain;
  /** The client was told to reconnect (the node is draining); the connection still works until it closes. */
  private boolean reconnectHinted;
  /** How long the connection keeps working after its reconnect hint (Drain.DrainConnections#handover). */
  private Duration drainHandover = Duration.ZERO;
  private final UserLimits userLimits;
  private final ParleyConfig.Limits limits;
  /** Per connection: send, edit and delete frames; typing frames. */
  private final AdmissionControl writes;
  private final AdmissionControl typing;

  private Session(
      ActorContext<Command> ctx,
      TimerScheduler<Command> timers,
      String user,
      OutboundQueue outbound,
      Conversations conversations,
      Inbox inbox,
      ActorRef<ConnectedUsers.Command> connectedUsers,
      ParleyConfig config,
      AdmissionControl resumes,
      UserLimits userLimits) {
    super(ctx);
    ParleyConfig.GatewaySettings settings = config.gateway();
    Duration askTimeout = config.conversation().askTimeout();
    this.inbox = inbox;
    this.inboxMaxPage = config.inbox().maxPage();
    // O(1) whatever the user's number of conversations: inbox changes find this session by user.
    connectedUsers.tell(new ConnectedUsers.Connected(user, ctx.getSelf()));
    this.userLimits = userLimits;
    this.limits = userLimits.limits();
    this.writes = new AdmissionControl(new AdmissionControl.Settings(limits.sendsPerSecond(), limits.sendsBurst()));
    this.typing = new AdmissionControl(new AdmissionControl.Settings(limits.typingPerSecond(), limits.typingBurst()));
    this.resumes = resumes;
    this.lifecycle = NodeLifecycle.get(ctx.getSystem());
    this.metrics = Metrics.get(ctx.getSystem());
    lifecycle.connectionOpened();
    this.drainListener = ctx.messageAdapter(Drain.DrainConnections.class, DrainRequested::new);
    ctx.getSystem().eventStream().tell(new EventStream.Subscribe<>(Drain.DrainConnections.class, drainListener));
    this.timers = timers;
    this.user = user;
    this.outbound = outbound;
    this.conversations = conversations;
    this.settings = settings;
    this.frames = new Frames(settings);
    this.askTimeout = askTimeout;
    this.updates = ctx.messageAdapter(Conversation.Update.class, FromConversation::new);
    this.subscriptions =
        new Subscriptions(
            ctx,
            timers,
            new Subscriptions.Connection() {
              @Override
              public void push(ObjectNode frame) {
                Session.this.push(frame);
              }

              @Override
              public void requestStarted() {
                inFlight++;
              }

              @Override
              public void requestDone() {
                Session.this.requestDone();
              }

              @Override
              public int queuedFrames() {
                return outbound.size();
              }
            },
            user,
            conversations,
            settings,
            askTimeout,
            resumes,
            updates);
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessageEquals(StreamStarted.INSTANCE, this::onStreamStarted)
        .onMessage(Incoming.class, this::onIncoming)
        .onMessage(Finished.class, this::onFinished)
        .onMessage(FromConversation.class, m -> handled(() -> subscriptions.onUpdate(m.update())))
        .onMessage(JournalRead.class, m -> handled(() -> subscriptions.onJournalRead(m)))
        .onMessage(ConversationStopped.class, m -> handled(() -> subscriptions.onConversationStopped(m)))
        .onMessage(Resubscribe.class, m -> handled(() -> subscriptions.onResubscribe(m)))
        .onMessage(SubscribeTimedOut.class, m -> handled(() -> subscriptions.onSubscribeTimedOut(m)))
        .onMessage(ReplayMore.class, m -> handled(() -> subscriptions.onReplayMore(m)))
        .onMessage(InboxUpdated.class, this::onInboxUpdated)
        .onMessageEquals(Revoke.INSTANCE, this::onRevoke)
        .onMessage(Answered.class, this::onAnswered)
        .onMessage(DrainRequested.class, this::onDrainRequested)
        .onMessageEquals(HintReconnect.INSTANCE, this::onHintReconnect)
        .onMessageEquals(CloseForDrain.INSTANCE, this::onCloseForDrain)
        .onMessageEquals(TokenExpired.INSTANCE, this::onTokenExpired)
        .onMessageEquals(ClientGone.INSTANCE, this::onClientGone)
        .onMessage(ClientFailed.class, this::onClientFailed)
        .onSignal(PostStop.class, s -> onStop())
        .build();
  }

  private Behavior<Command> onStreamStarted() {
    getContext().getLog().debug("connection opened");
    return acknowledge();
  }

  private Behavior<Command> onClientGone() {
    getContext().getLog().debug("connection closed");
    return Behaviors.stopped();
  }

  private Behavior<Command> onClientFailed(ClientFailed failed) {
    getContext().getLog().debug("connection failed: {}", failed.cause().getClass().getSimpleName());
    return Behaviors.stopped();
  }

  // ---- inbound --------------------------------------------------------------------------------

  private Behavior<Command> onIncoming(Incoming incoming) {
    IncomingFrame frame = incoming.frame();
    if (frame instanceof IncomingFrame.Text text) {
      ObjectNode json = null;
      try {
        json = Frames.parseObject(text.text());
        handle(frames.decode(json));
      } catch (ProtocolException e) {
        // The code only: the reason may quote the frame, and frames carry message texts.
        getContext().getLog().debug("refused a frame: {}", e.code());
        push(Frames.error(json == null ? null : Frames.requestId(json), e.code(), e.getMessage()));
      }
    } else if (frame instanceof IncomingFrame.Oversized) {
      push(Frames.error(null, ErrorCode.TOO_LARGE, "frame is larger than " + settings.maxFrameBytes() + " bytes"));
    } else {
      push(Frames.error(null, ErrorCode.BAD_REQUEST, "binary frames are not part of the protocol; send JSON text"));
    }
    acknowledge();
    return next();
  }

  private void handle(ClientFrame frame) {
    if (overLimit(frame)) return;
    if (frame instanceof ClientFrame.Ping ping) {
      push(Frames.reply("pong", ping.id()));
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
      push(Frames.reply("unsubscribed", unsubscribe.id()).put("conversation", unsubscribe.conversation()));
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
    } else if (frame instanceof ClientFrame.Delete delete) {
      request(
          conversations.delete(delete.conversation(), user, delete.seq()),
          reply -> ok(delete.id(), delete.conversation(), reply),
          delete.id());
    }
  }

  /**
   * The per-connection and per-user limits of {@code parley.limits}: a frame over one is answered
   * with an error and not processed; the connection stays open.
   */
  private boolean overLimit(ClientFrame frame) {
    if (frame instanceof ClientFrame.Send || frame instanceof ClientFrame.Edit || frame instanceof ClientFrame.Delete) {
      return refusedBy(writes.tryAdmit(), frame, "too many messages on this connection, slow down");
    }
    if (frame instanceof ClientFrame.Typing) {
      return refusedBy(typing.tryAdmit(), frame, "too many typing notifications on this connection");
    }
    if (frame instanceof ClientFrame.Create) {
      return refusedBy(userLimits.tryCreateConversation(user), frame, "too many conversations created, retry later");
    }
    if (frame instanceof ClientFrame.Subscribe subscribe) {
      int max = limits.subscriptionsPerConnection();
      if (max > 0 && subscriptions.count() >= max && !subscriptions.has(subscribe.conversation())) {
        push(
            Frames.error(frame.id(), ErrorCode.TOO_LARGE, "at most " + max + " subscriptions per connection; unsubscribe first")
                .put("conversation", subscribe.conversation()));
        return true;
      }
    }
    return false;
  }

  private boolean refusedBy(java.util.OptionalLong retryAfterMs, ClientFrame frame, String message) {
    if (retryAfterMs.isEmpty()) return false;
    push(Frames.error(frame.id(), ErrorCode.RATE_LIMITED, message).put("retryAfterMs", retryAfterMs.getAsLong()));
    return true;
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
    inFlight++;
    getContext().pipeToSelf(answer, (reply, failure) -> new Finished(id, reply, onSuccess));
  }

  /** Like {@link #request}, for answers that are not a conversation's; the frame is built off-thread from the result alone. */
  private <T> void answer(CompletionStage<T> result, Function<T, ObjectNode> onSuccess, JsonNode id) {
    inFlight++;
    getContext()
        .pipeToSelf(
            result,
            (value, failure) -> {
              if (failure == null) return new Answered(onSuccess.apply(value));
              Throwable cause = failure instanceof CompletionException ? failure.getCause() : failure;
              if (cause instanceof Inbox.Refused refused) return new Answered(Frames.error(id, refused.code(), refused.getMessage()));
              return new Answered(Frames.error(id, ErrorCode.UNAVAILABLE, "unavailable, retry"));
            });
  }

  private Behavior<Command> onAnswered(Answered answered) {
    push(answered.frame());
    requestDone();
    return next();
  }

  private Behavior<Command> onRevoke() {
    push(Frames.error(null, ErrorCode.UNAUTHORIZED, "token revoked: sign in again"));
    completeOutbound();
    return next();
  }

  private Behavior<Command> onInboxUpdated(InboxUpdated update) {
    push(update.item() != null ? Frames.inboxUpdate(update.item()) : Frames.inboxRemoved(update.removedConversation()));
    if (update.item() != null) subscriptions.onActivity(update.item().conversation(), update.item().summary().lastSeq());
    return next();
  }

  private Behavior<Command> onFinished(Finished finished) {
    Conversation.Reply reply = finished.reply();
    if (reply instanceof Conversation.Rejected rejected) {
      push(Frames.error(finished.id(), rejected.code(), rejected.reason()));
    } else if (reply == null) {
      push(Frames.error(finished.id(), ErrorCode.UNAVAILABLE, "conversation is unavailable, retry"));
    } else {
      push(finished.onSuccess().apply(reply));
    }
    requestDone();
    return next();
  }

  private void requestDone() {
    inFlight--;
    if (closingForDrain) {
      if (inFlight == 0) closeWithReconnectHint();
      return;
    }
    if (demandWaiting && inFlight < settings.maxInFlight()) {
      demandWaiting = false;
      outbound.demand();
    }
  }

  /** Pulls the next client frame only while there is room for more work. */
  private Behavior<Command> acknowledge() {
    if (inFlight < settings.maxInFlight() && !closingForDrain && !closing) outbound.demand();
    else demandWaiting = true;
    return next();
  }

  // ---- outbound -------------------------------------------------------------------------------

  /**
   * Queues a frame for the client. The queue holds {@code outbound-buffer} frames plus room for a
   * last word: a client that falls that far behind gets an error frame and is disconnected.
   */
  private void push(ObjectNode frame) {
    if (closing) return;
    if (outbound.size() >= settings.outboundBuffer()) {
      outbound.offer(Frames.error(null, ErrorCode.UNAVAILABLE, "slow consumer: too many frames queued; reconnect and subscribe with since"));
      completeOutbound();
      return;
    }
    outbound.offer(frame);
  }

  /**
   * A session never stops itself: when it closes a connection (slow consumer, drain) it completes
   * the outbound queue and stays until its client has read what was queued (ClientGone). Stopping
   * at once would cancel the coupled stream and drop the last frames, the reason included.
   */
  private Behavior<Command> handled(Runnable handler) {
    handler.run();
    return next();
  }

  private Behavior<Command> next() {
    return this;
  }

  /** Completes the outbound stream; a client that never finishes the close does not keep the session. */
  private void completeOutbound() {
    if (closing) return;
    closing = true;
    outbound.complete();
    timers.startSingleTimer(ClientGone.INSTANCE, ClientGone.INSTANCE, Duration.ofSeconds(5));
  }

  /** The token this connection was opened with is no longer valid: say so, then close. */
  private Behavior<Command> onTokenExpired() {
    push(Frames.error(null, ErrorCode.UNAUTHORIZED, "token expired; reconnect with a fresh token"));
    completeOutbound();
    return next();
  }

  // ---- drain ----------------------------------------------------------------------------------

  /**
   * This connection is told to reconnect at its own random moment of the window, so reconnects form
   * a ramp, and keeps working for the handover after that, so its client can open the new
   * connection before this one closes (make before break).
   */
  private Behavior<Command> onDrainRequested(DrainRequested request) {
    drainHandover = request.drain().handover();
    long spreadMs = Math.max(1, request.drain().hintSpread().toMillis());
    timers.startSingleTimer(HintReconnect.INSTANCE, Duration.ofMillis(ThreadLocalRandom.current().nextLong(spreadMs)));
    return next();
  }

  private Behavior<Command> onHintReconnect() {
    if (drainHandover.isZero()) return onCloseForDrain();
    hintReconnect(drainHandover.toMillis());
    timers.startSingleTimer(CloseForDrain.INSTANCE, drainHandover);
    return next();
  }

  /**
   * Stop reading requests; once those in flight are answered, close (after a reconnect hint, unless
   * the client already has one). The second firing of the timer is the deadline: requests still
   * unanswered 2 s later are left to the client's retry (same clientMsgId: no loss, no duplicate).
   */
  private Behavior<Command> onCloseForDrain() {
    if (closingForDrain) {
      closeWithReconnectHint();
    } else {
      closingForDrain = true;
      if (inFlight == 0) closeWithReconnectHint();
      else timers.startSingleTimer(CloseForDrain.INSTANCE, Duration.ofSeconds(2));
    }
    return next();
  }

  /**
   * {@code afterMs}: the hints are already spread over the window; a little jitter on top breaks up
   * clients that act on the same tick. {@code closeInMs}: how long this connection goes on working.
   */
  private void hintReconnect(long closeInMs) {
    if (reconnectHinted || closing) return;
    reconnectHinted = true;
    metrics.connectionDrained();
    // With a handover the client has closeInMs to move; the jitter only breaks up ties.
    long jitterMs = closeInMs == 0 ? 1000 : Math.min(1000, closeInMs / 10);
    push(Frames.reconnect(ThreadLocalRandom.current().nextLong(jitterMs + 1), closeInMs));
  }

  private void closeWithReconnectHint() {
    if (closing) return;
    hintReconnect(0);
    completeOutbound();
  }

  private Behavior<Command> onStop() {
    lifecycle.connectionClosed();
    userLimits.connectionClosed(user);
    getContext().getSystem().eventStream().tell(new EventStream.Unsubscribe<>(drainListener));
    subscriptions.unsubscribeAll();
    outbound.complete();
    return this;
  }
}
