package dev.parley.gateway;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.parley.cluster.AdmissionControl;
import dev.parley.cluster.Drain;
import dev.parley.conversation.Conversation;
import dev.parley.conversation.Conversations;
import dev.parley.conversation.TimelineEvent;
import dev.parley.inbox.Inbox;
import dev.parley.ops.Metrics;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.function.Function;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.Signal;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

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
 * <p>All of a connection's state lives here, in one actor; this class holds its protocol and sends
 * each message to the part it is about, each part confined to this actor: {@link Requests} (client
 * requests by kind), {@link Replies} (their answers), {@link RequestWindow} (max in flight),
 * {@link ClientOutbound} (the bounded queue and the slow-consumer rule), {@link Subscriptions}
 * (event delivery), {@link ConnectionLimits} (rate and count limits), {@link ConnectionDrain} (its
 * part in a drain or a rebalancing move), {@link ConnectionPresence} (presence),
 * {@link WritesResumedHint} (after a storage outage) and {@link ConnectionLifecycle} (registration,
 * token expiry and revocation, release on stop). The wire end is {@link SessionStream}, one stage in
 * the connection's own stream.
 */
public final class Session extends AbstractBehavior<Session.Command> implements Subscriptions.Connection {

  /**
   * The session's own lines (DEBUG, but for a connection the server closes: {@link ClientOutbound}),
   * with the user in the MDC while they are on ({@link SessionMdc}).
   * Not {@code getContext().getLog()}: its first use in an actor walks the call stack to name the
   * logger and renders the actor's path, and every use puts Pekko's three MDC entries and clears
   * them after the message, whatever the level; a session used it at every open and close
   * (benchmarks.md, issue 19, 2026-12-06 (second session)).
   */
  private static final Logger log = LoggerFactory.getLogger(Session.class);

  public sealed interface Command {}

  /**
   * A client frame, sent only when the session has room for it: the first because every session has
   * room for one when it starts ({@link SessionStream} pulls it), each later one only once the session
   * asked for it ({@link OutboundQueue#demand()}).
   */
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

  record DrainRequested(Drain.DrainConnections drain) implements Command {}

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
  enum TellWritesResumed implements Command {
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

  enum TokenExpired implements Command {
    INSTANCE
  }

  /**
   * What a session needs of the node's settings: the gateway's, how long it waits for a
   * conversation ({@code parley.conversation.ask-timeout}), the largest inbox page, and over how
   * long the "writes work again" hint is spread ({@code parley.storage-breaker.resume-spread}).
   */
  public record Settings(GatewaySettings gateway, Duration askTimeout, int inboxMaxPage, Duration writesResumedSpread) {}

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
      ConnectedSessions connectedSessions,
      Settings settings,
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
                    timers ->
                        new Session(
                            ctx, timers, user, tokenValidUntil, outbound, conversations, inbox, connectedSessions, settings, resumes, userLimits))));
  }

  private static String conversationOf(Command message) {
    if (message instanceof JournalRead m) return m.conversation();
    if (message instanceof ConversationStopped m) return m.conversation();
    if (message instanceof Resubscribe m) return m.conversation();
    if (message instanceof SubscribeTimedOut m) return m.conversation();
    if (message instanceof ReplayMore m) return m.conversation();
    return null;
  }

  private final ClientOutbound outbound;
  private final ConnectionDrain drain;
  private final RequestWindow window;
  private final WritesResumedHint writesResumed;
  private final Replies replies;
  private final Subscriptions subscriptions;
  private final ConnectionPresence presence;
  private final Requests requests;
  private final ConnectionLifecycle lifecycle;

  private Session(
      ActorContext<Command> ctx,
      TimerScheduler<Command> timers,
      String user,
      Instant tokenValidUntil,
      OutboundQueue queue,
      Conversations conversations,
      Inbox inbox,
      ConnectedSessions connectedSessions,
      Settings sessionSettings,
      AdmissionControl resumes,
      UserLimits userLimits) {
    super(ctx);
    GatewaySettings settings = sessionSettings.gateway();
    Metrics metrics = Metrics.get(ctx.getSystem());
    this.outbound = new ClientOutbound(queue, settings.outboundBuffer(), timers, log, user);
    this.lifecycle = new ConnectionLifecycle(ctx, timers, user, tokenValidUntil, outbound, connectedSessions, userLimits);
    this.drain = new ConnectionDrain(this, timers, metrics);
    this.window = new RequestWindow(settings.maxInFlight(), outbound, drain);
    this.writesResumed = new WritesResumedHint(outbound, timers, sessionSettings.writesResumedSpread());
    this.replies = new Replies(ctx, outbound, window, writesResumed);
    this.subscriptions =
        new Subscriptions(
            ctx,
            timers,
            this,
            user,
            conversations,
            settings,
            sessionSettings.askTimeout(),
            resumes,
            ctx.messageAdapter(Conversation.Update.class, FromConversation::new));
    this.presence = new ConnectionPresence(this, ctx, user, conversations, subscriptions);
    this.requests =
        new Requests(
            this,
            ctx,
            user,
            conversations,
            inbox,
            sessionSettings.inboxMaxPage(),
            subscriptions,
            new ConnectionLimits(this, user, userLimits, subscriptions),
            metrics,
            replies,
            new Frames(settings),
            settings.maxFrameBytes());
    // The first client frame needs no demand: the stream pulled it when it started the session.
    log.debug("connection opened");
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

  /**
   * A session never stops itself but for {@link ClientGone} and {@link ClientFailed}: when it closes
   * a connection it waits for its client to read the last frames ({@link ClientOutbound#close}).
   */
  private Behavior<Command> onCommand(Command message) {
    if (message instanceof Incoming m) {
      requests.receive(m.frame());
      window.acknowledge();
    } else if (message instanceof Finished m) {
      replies.finish(m.id(), m.reply(), m.onSuccess());
    } else if (message instanceof Answered m) {
      replies.answered(m.frame());
    } else if (message instanceof FromConversation m) {
      subscriptions.onUpdate(m.update());
      presence.onUpdate(m.update());
    } else if (message instanceof PresenceChanged m) {
      push(PresenceFrames.batch(m.batch()));
    } else if (message instanceof JournalRead m) {
      subscriptions.onJournalRead(m);
    } else if (message instanceof ConversationStopped m) {
      subscriptions.onConversationStopped(m);
    } else if (message instanceof Resubscribe m) {
      subscriptions.onResubscribe(m);
    } else if (message instanceof SubscribeTimedOut m) {
      subscriptions.onSubscribeTimedOut(m);
    } else if (message instanceof ReplayMore m) {
      subscriptions.onReplayMore(m);
    } else if (message instanceof InboxUpdated m) {
      onInboxUpdated(m);
    } else if (message == WritesResumed.INSTANCE) {
      writesResumed.onWritesResumed();
    } else if (message == TellWritesResumed.INSTANCE) {
      writesResumed.onMomentCome();
    } else if (message instanceof DrainRequested m) {
      drain.onDrainRequested(m.drain());
    } else if (message instanceof MoveAway m) {
      onMoveAway(m);
    } else if (message == HintReconnect.INSTANCE) {
      drain.onHintReconnect();
    } else if (message == CloseForDrain.INSTANCE) {
      drain.onCloseForDrain();
    } else if (message == TokenExpired.INSTANCE) {
      lifecycle.onTokenExpired();
    } else if (message == Revoke.INSTANCE) {
      lifecycle.onRevoked();
    } else if (message == ClientGone.INSTANCE) {
      outbound.clientGone();
      log.debug("connection closed");
      return Behaviors.stopped();
    } else if (message instanceof ClientFailed m) {
      log.debug("connection failed: {}", m.cause().getClass().getSimpleName());
      return Behaviors.stopped();
    } else {
      return Behaviors.unhandled();
    }
    return this;
  }

  private void onInboxUpdated(InboxUpdated update) {
    push(update.item() != null ? Frames.inboxUpdate(update.item()) : Frames.inboxRemoved(update.removedConversation()));
    if (update.item() != null) subscriptions.onActivity(update.item().conversation(), update.item().summary().lastSeq());
  }

  /** A connection mid-resume stays: moving it would restart the replay it is in on another node. */
  private void onMoveAway(MoveAway move) {
    if (!drain.onMoveRequested(move.hintIn(), move.handover(), subscriptions.resuming())) {
      ConnectionRebalancer.get(getContext().getSystem()).declined(getContext().getSelf());
    }
  }

  private Behavior<Command> onStop() {
    lifecycle.stopped();
    subscriptions.unsubscribeAll();
    presence.stop();
    outbound.sessionStopped();
    return this;
  }

  // ---- what the parts share (Subscriptions.Connection, ConnectionDrain, ConnectionLimits, ConnectionPresence, Requests)

  @Override
  public void push(ObjectNode frame) {
    outbound.push(frame);
  }

  @Override
  public void requestStarted() {
    window.started();
  }

  @Override
  public void requestDone() {
    window.done();
  }

  @Override
  public int queuedFrames() {
    return outbound.queued();
  }

  int inFlight() {
    return window.inFlight();
  }

  boolean isClosing() {
    return outbound.isClosing();
  }

  /** Ends the connection after a reconnect hint (drain, move). */
  void completeOutbound() {
    outbound.close(ClientOutbound.CloseReason.RECONNECT_HINTED);
  }

  ConnectionPresence presence() {
    return presence;
  }
}
