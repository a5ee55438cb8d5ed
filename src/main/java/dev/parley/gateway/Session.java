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
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Function;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.Signal;
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
 *
 * <p>All of a connection's state lives here, in one actor; its parts, each confined to this actor:
 * {@link Requests} (client requests by kind), {@link Subscriptions} (event delivery),
 * {@link ConnectionLimits} (rate and count limits), {@link ConnectionDrain} (its part in a drain).
 * The wire end is {@link SessionStream}, one stage in the connection's own stream.
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
  record Finished(JsonNode id, Conversation.Reply reply, Function<Conversation.Reply, ObjectNode> onSuccess)
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

  /** From {@link ConnectedUsers}: this node's storage breaker closed, writes work again. */
  public enum WritesResumed implements Command {
    INSTANCE
  }

  /** This connection's random moment of the resume spread has come: tell the client, if it still waits. */
  private enum TellWritesResumed implements Command {
    INSTANCE
  }
  /** A batch of presence changes for this connection (issue 21), at most one per batch interval. */
  record PresenceChanged(dev.parley.presence.PresenceHub.Batch batch) implements Command {}

  /** A request not answered by a conversation (inbox pages, read markers): its reply frame, built. */
  record Answered(ObjectNode frame) implements Command {}

  /** The node is draining and this connection's moment to hint a reconnect has come. */
  enum HintReconnect implements Command {
    INSTANCE
  }

  enum CloseForDrain implements Command {
    INSTANCE
  }

  /**
   * From {@link ConnectionRebalancer}: this node holds more than its share; hint a reconnect in
   * {@code hintIn} and keep working for {@code handover} after it (make before break, as in a drain).
   */
  record MoveAway(Duration hintIn, Duration handover) implements Command {}

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
    // conversation when the message is about one; filled only while those lines are on (SessionMdc).
    return SessionMdc.wrap(
        Command.class,
        user,
        Session::conversationOf,
        SessionMdc.SESSION_LINES_ON,
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

  private static String conversationOf(Command message) {
    if (message instanceof JournalRead m) return m.conversation();
    if (message instanceof ConversationStopped m) return m.conversation();
    if (message instanceof Resubscribe m) return m.conversation();
    if (message instanceof SubscribeTimedOut m) return m.conversation();
    if (message instanceof ReplayMore m) return m.conversation();
    return null;
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
  /** A request was answered {@code unavailable} since the last accepted one: tell the client when writes resume. */
  private boolean toldUnavailable;
  private final Duration resumeSpread;
  private final AdmissionControl resumes;
  private final NodeLifecycle lifecycle;
  private final Metrics metrics;
  private final ActorRef<Drain.DrainConnections> drainListener;
  private final UserLimits userLimits;
  private final Requests requests;
  private final ConnectionDrain drain;
  private final ConnectionPresence presence;

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
    this.resumeSpread = config.storageBreaker().resumeSpread();
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
                Session.this.requestStarted();
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
    this.requests =
        new Requests(
            this,
            ctx,
            user,
            conversations,
            inbox,
            config.inbox().maxPage(),
            subscriptions,
            new ConnectionLimits(this, user, userLimits, subscriptions),
            metrics);
    this.drain = new ConnectionDrain(this, timers, metrics);
    ConnectionRebalancer.get(ctx.getSystem()).opened(ctx.getSelf());
    this.presence = new ConnectionPresence(this, ctx, user, conversations, subscriptions);
  }

  ConnectionPresence presence() {
    return presence;
  }

  /**
   * One dispatch method, not a {@code ReceiveBuilder}: a built receive is 23 cases with their
   * arrays and lambdas in every session (~1.3 KB of each idle connection; benchmarks.md, issue 19).
   */
  @Override
  public Receive<Command> createReceive() {
    return new Receive<>() {
      @Override
      public Behavior<Command> receiveMessage(Command message) {
        return onCommand(message);
      }

      @Override
      public Behavior<Command> receiveSignal(Signal signal) {
        return signal instanceof PostStop ? onStop() : Behaviors.unhandled();
      }
    };
  }

  private Behavior<Command> onCommand(Command message) {
    if (message == StreamStarted.INSTANCE) return onStreamStarted();
    if (message instanceof Incoming m) return onIncoming(m);
    if (message instanceof Finished m) return onFinished(m);
    if (message instanceof FromConversation m) {
      return handled(() -> {
        subscriptions.onUpdate(m.update());
        presence.onUpdate(m.update());
      });
    }
    if (message instanceof PresenceChanged m) return handled(() -> push(PresenceFrames.batch(m.batch())));
    if (message instanceof JournalRead m) return handled(() -> subscriptions.onJournalRead(m));
    if (message instanceof ConversationStopped m) return handled(() -> subscriptions.onConversationStopped(m));
    if (message instanceof Resubscribe m) return handled(() -> subscriptions.onResubscribe(m));
    if (message instanceof SubscribeTimedOut m) return handled(() -> subscriptions.onSubscribeTimedOut(m));
    if (message instanceof ReplayMore m) return handled(() -> subscriptions.onReplayMore(m));
    if (message instanceof InboxUpdated m) return onInboxUpdated(m);
    if (message == Revoke.INSTANCE) return onRevoke();
    if (message instanceof Answered m) return onAnswered(m);
    if (message == WritesResumed.INSTANCE) return onWritesResumed();
    if (message == TellWritesResumed.INSTANCE) return onTellWritesResumed();
    if (message instanceof DrainRequested m) return handled(() -> drain.onDrainRequested(m.drain()));
    if (message instanceof MoveAway m) return onMoveAway(m);
    if (message == HintReconnect.INSTANCE) return handled(drain::onHintReconnect);
    if (message == CloseForDrain.INSTANCE) return handled(drain::onCloseForDrain);
    if (message == TokenExpired.INSTANCE) return onTokenExpired();
    if (message == ClientGone.INSTANCE) return onClientGone();
    if (message instanceof ClientFailed m) return onClientFailed(m);
    return Behaviors.unhandled();
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
        requests.handle(frames.decode(json));
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

  private Behavior<Command> onAnswered(Answered answered) {
    push(answered.frame());
    requestDone();
    return next();
  }

  /** A connection mid-resume stays: moving it would restart the replay it is in on another node. */
  private Behavior<Command> onMoveAway(MoveAway move) {
    if (!drain.onMoveRequested(move.hintIn(), move.handover(), subscriptions.resuming())) {
      ConnectionRebalancer.get(getContext().getSystem()).declined(getContext().getSelf());
    }
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
    finish(finished.id(), finished.reply(), finished.onSuccess());
    return next();
  }

  /** Answers a finished request: its reply frame, or its error frame (with the retry hint of an overloaded node). */
  void finish(JsonNode id, Conversation.Reply reply, Function<Conversation.Reply, ObjectNode> onSuccess) {
    if (reply instanceof Conversation.Rejected rejected) {
      if (rejected.code() == ErrorCode.UNAVAILABLE) toldUnavailable = true;
      ObjectNode error = Frames.error(id, rejected.code(), rejected.reason());
      if (rejected.retryAfterMs() > 0) error.put("retryAfterMs", rejected.retryAfterMs());
      push(error);
    } else if (reply == null) {
      toldUnavailable = true;
      push(Frames.error(id, ErrorCode.UNAVAILABLE, "conversation is unavailable, retry"));
    } else {
      toldUnavailable = false;
      push(onSuccess.apply(reply));
    }
    requestDone();
  }

  /**
   * At-most-once and only a hint: a client that was answered {@code unavailable} may retry now
   * rather than after its backoff. Clients that got no refusal are not disturbed.
   */
  private Behavior<Command> onWritesResumed() {
    if (!toldUnavailable || closing) return next();
    long spread = resumeSpread.toMillis();
    if (spread <= 0) return onTellWritesResumed();
    // Each refused client at its own moment: its retries (the backlog of the outage) come as a ramp.
    timers.startSingleTimer(TellWritesResumed.INSTANCE, Duration.ofMillis(ThreadLocalRandom.current().nextLong(spread)));
    return next();
  }

  private Behavior<Command> onTellWritesResumed() {
    if (toldUnavailable && !closing) {
      toldUnavailable = false;
      push(Frames.writesResumed());
    }
    return next();
  }

  void requestStarted() {
    inFlight++;
  }

  int inFlight() {
    return inFlight;
  }

  boolean isClosing() {
    return closing;
  }

  void requestDone() {
    inFlight--;
    if (drain.isClosing()) {
      if (inFlight == 0) drain.closeWithReconnectHint();
      return;
    }
    if (demandWaiting && inFlight < settings.maxInFlight()) {
      demandWaiting = false;
      outbound.demand();
    }
  }

  /** Pulls the next client frame only while there is room for more work. */
  private Behavior<Command> acknowledge() {
    if (inFlight < settings.maxInFlight() && !drain.isClosing() && !closing) outbound.demand();
    else demandWaiting = true;
    return next();
  }

  // ---- outbound -------------------------------------------------------------------------------

  /**
   * Queues a frame for the client. The queue holds {@code outbound-buffer} frames plus room for a
   * last word: a client that falls that far behind gets an error frame and is disconnected.
   */
  void push(ObjectNode frame) {
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
  void completeOutbound() {
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

  private Behavior<Command> onStop() {
    lifecycle.connectionClosed();
    userLimits.connectionClosed(user);
    getContext().getSystem().eventStream().tell(new EventStream.Unsubscribe<>(drainListener));
    subscriptions.unsubscribeAll();
    presence.stop();
    outbound.complete();
    return this;
  }
}
