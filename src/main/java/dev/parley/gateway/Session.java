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
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.UUID;
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
import org.apache.pekko.http.javadsl.model.ws.Message;
import org.apache.pekko.http.javadsl.model.ws.TextMessage;
import org.apache.pekko.stream.BoundedSourceQueue;

/**
 * One websocket connection: owns the user's subscriptions on it and everything sent to it.
 *
 * <p>Inbound frames arrive through a back-pressured sink; the session acknowledges a frame only
 * while fewer than {@code max-in-flight} requests are outstanding, so a client cannot queue
 * unbounded work. Outbound frames go into a bounded queue; a client that falls
 * {@code outbound-buffer} frames behind is told so and disconnected, and resumes with
 * {@code subscribe ... since}. Per conversation it delivers every event once, in seq order, with no
 * gap: from the journal and the conversation's memory first, then live.
 */
public final class Session extends AbstractBehavior<Session.Command> {

  public sealed interface Command {}

  public enum StreamAck {
    ACK
  }

  public record StreamStarted(ActorRef<StreamAck> ackTo) implements Command {}

  public record Incoming(ActorRef<StreamAck> ackTo, IncomingFrame frame) implements Command {}

  public enum ClientGone implements Command {
    INSTANCE
  }

  public record ClientFailed(Throwable cause) implements Command {}

  /** A request's answer; {@code reply} is null when the conversation did not answer at all. */
  private record Finished(JsonNode id, Conversation.Reply reply, Function<Conversation.Reply, ObjectNode> onSuccess)
      implements Command {}

  private record FromConversation(Conversation.Update update) implements Command {}

  private record JournalRead(String conversation, long tag, List<TimelineEvent> events, Throwable failure)
      implements Command {}

  private record ConversationStopped(String conversation, ActorRef<Conversation.Command> entity) implements Command {}

  private record Resubscribe(String conversation, long tag) implements Command {}

  private record SubscribeTimedOut(String conversation, long tag) implements Command {}

  private record ReplayMore(String conversation, long tag) implements Command {}

  private record DrainRequested(Drain.DrainConnections drain) implements Command {}

  private enum CloseForDrain implements Command {
    INSTANCE
  }

  /** How many times a lost subscription is re-established before the client is told it failed. */
  private static final int MAX_RESUBSCRIBE_ATTEMPTS = 8;

  /** How long a replay waits for the client to take frames off a half-full outbound buffer. */
  private static final Duration REPLAY_PAUSE = Duration.ofMillis(20);

  public static Behavior<Command> create(
      String user,
      BoundedSourceQueue<Message> outbound,
      Conversations conversations,
      ParleyConfig.GatewaySettings settings,
      Duration askTimeout,
      AdmissionControl resumes) {
    return Behaviors.setup(
        ctx ->
            Behaviors.withTimers(
                timers -> new Session(ctx, timers, user, outbound, conversations, settings, askTimeout, resumes)));
  }

  private final TimerScheduler<Command> timers;
  private final String user;
  private final BoundedSourceQueue<Message> outbound;
  private final Conversations conversations;
  private final ParleyConfig.GatewaySettings settings;
  private final Frames frames;
  private final Duration askTimeout;
  private final ActorRef<Conversation.Update> updates;
  private final Map<String, Subscription> subscriptions = new HashMap<>();
  private int inFlight;
  private ActorRef<StreamAck> waitingForAck;
  private long nextTag;
  private boolean closing;
  private final AdmissionControl resumes;
  private final NodeLifecycle lifecycle;
  private final ActorRef<Drain.DrainConnections> drainListener;
  /** The node is draining and this connection's turn to close has come. */
  private boolean closingForDrain;

  private Session(
      ActorContext<Command> ctx,
      TimerScheduler<Command> timers,
      String user,
      BoundedSourceQueue<Message> outbound,
      Conversations conversations,
      ParleyConfig.GatewaySettings settings,
      Duration askTimeout,
      AdmissionControl resumes) {
    super(ctx);
    this.resumes = resumes;
    this.lifecycle = NodeLifecycle.get(ctx.getSystem());
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
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(StreamStarted.class, m -> acknowledge(m.ackTo()))
        .onMessage(Incoming.class, this::onIncoming)
        .onMessage(Finished.class, this::onFinished)
        .onMessage(FromConversation.class, m -> onUpdate(m.update()))
        .onMessage(JournalRead.class, this::onJournalRead)
        .onMessage(ConversationStopped.class, this::onConversationStopped)
        .onMessage(Resubscribe.class, this::onResubscribe)
        .onMessage(SubscribeTimedOut.class, this::onSubscribeTimedOut)
        .onMessage(ReplayMore.class, this::onReplayMore)
        .onMessage(DrainRequested.class, this::onDrainRequested)
        .onMessageEquals(CloseForDrain.INSTANCE, this::onCloseForDrain)
        .onMessageEquals(ClientGone.INSTANCE, Behaviors::stopped)
        .onMessage(ClientFailed.class, m -> Behaviors.stopped())
        .onSignal(PostStop.class, s -> onStop())
        .build();
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
        push(Frames.error(json == null ? null : Frames.requestId(json), e.code(), e.getMessage()));
      }
    } else if (frame instanceof IncomingFrame.Oversized) {
      push(Frames.error(null, ErrorCode.TOO_LARGE, "frame is larger than " + settings.maxFrameBytes() + " bytes"));
    } else {
      push(Frames.error(null, ErrorCode.BAD_REQUEST, "binary frames are not part of the protocol; send JSON text"));
    }
    acknowledge(incoming.ackTo());
    return next();
  }

  private void handle(ClientFrame frame) {
    if (frame instanceof ClientFrame.Ping ping) {
      push(Frames.reply("pong", ping.id()));
    } else if (frame instanceof ClientFrame.Send send) {
      request(
          conversations.send(send.conversation(), user, send.clientMsgId(), send.text()),
          reply -> {
            Conversation.Sent sent = (Conversation.Sent) reply;
            return Frames.reply("ack", send.id())
                .put("conversation", send.conversation())
                .put("seq", sent.seq())
                .put("clientMsgId", sent.clientMsgId());
          },
          send.id());
    } else if (frame instanceof ClientFrame.Subscribe subscribe) {
      subscribe(subscribe);
    } else if (frame instanceof ClientFrame.Unsubscribe unsubscribe) {
      dropSubscription(unsubscribe.conversation());
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
            dropSubscription(leave.conversation());
            return ok(leave.id(), leave.conversation(), reply);
          },
          leave.id());
    } else if (frame instanceof ClientFrame.Edit edit) {
      request(
          conversations.edit(edit.conversation(), user, edit.seq(), edit.text()),
          reply -> ok(edit.id(), edit.conversation(), reply),
          edit.id());
    } else if (frame instanceof ClientFrame.Delete delete) {
      request(
          conversations.delete(delete.conversation(), user, delete.seq()),
          reply -> ok(delete.id(), delete.conversation(), reply),
          delete.id());
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
    inFlight++;
    getContext().pipeToSelf(answer, (reply, failure) -> new Finished(id, reply, onSuccess));
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
    if (waitingForAck != null && inFlight < settings.maxInFlight()) {
      ActorRef<StreamAck> ackTo = waitingForAck;
      waitingForAck = null;
      ackTo.tell(StreamAck.ACK);
    }
  }

  /** Pulls the next client frame only while there is room for more work. */
  private Behavior<Command> acknowledge(ActorRef<StreamAck> ackTo) {
    if (inFlight < settings.maxInFlight() && !closingForDrain && !closing) ackTo.tell(StreamAck.ACK);
    else waitingForAck = ackTo;
    return next();
  }

  // ---- subscriptions --------------------------------------------------------------------------

  private void subscribe(ClientFrame.Subscribe frame) {
    if (frame.since() >= 0) {
      // A replay is the expensive part of a reconnect herd: admitted at a bounded rate per node.
      OptionalLong retryAfterMs = resumes.tryAdmit();
      if (retryAfterMs.isPresent()) {
        push(
            Frames.error(frame.id(), ErrorCode.RATE_LIMITED, "too many resumes on this node, retry later")
                .put("conversation", frame.conversation())
                .put("retryAfterMs", retryAfterMs.getAsLong()));
        return;
      }
    }
    Subscription sub = subscriptions.computeIfAbsent(frame.conversation(), Subscription::new);
    if (sub.awaitingClient) requestDone(); // an earlier subscribe on this conversation is superseded
    sub.phase = Subscription.Phase.PENDING;
    sub.pendingRequest = frame.id();
    sub.awaitingClient = true;
    sub.lastDelivered = frame.since();
    sub.buffered.clear();
    sub.bufferOverflowed = false;
    sub.failedAttempts = 0;
    inFlight++;
    sendSubscribe(sub);
  }

  private void sendSubscribe(Subscription sub) {
    sub.tag = ++nextTag;
    conversations.entity(sub.conversation).tell(new Conversation.Subscribe(user, sub.lastDelivered, updates, sub.tag));
    timers.startSingleTimer(sub.conversation, new SubscribeTimedOut(sub.conversation, sub.tag), askTimeout);
  }

  private Behavior<Command> onUpdate(Conversation.Update update) {
    Subscription sub = subscriptions.get(update.conversationId());
    if (update instanceof Conversation.Published published) {
      if (sub != null) onPublished(sub, published.event());
    } else if (update instanceof Conversation.Subscribed subscribed) {
      if (sub == null) subscribed.entity().tell(new Conversation.Unsubscribe(updates));
      else if (subscribed.tag() == sub.tag) onSubscribed(sub, subscribed);
    } else if (update instanceof Conversation.SubscribeRejected rejected) {
      if (sub != null && rejected.tag() == sub.tag) {
        push(Frames.error(sub.pendingRequest, rejected.code(), rejected.reason()).put("conversation", sub.conversation));
        forget(sub);
      }
    } else if (update instanceof Conversation.UserTyping typing) {
      if (sub != null && sub.isLive()) push(Frames.typing(typing.conversationId(), typing.user()));
    }
    return next();
  }

  private void onSubscribed(Subscription sub, Conversation.Subscribed subscribed) {
    timers.cancel(sub.conversation);
    if (sub.entity != null && !sub.entity.equals(subscribed.entity())) getContext().unwatch(sub.entity);
    sub.entity = subscribed.entity();
    getContext().watchWith(sub.entity, new ConversationStopped(sub.conversation, sub.entity));
    sub.failedAttempts = 0;

    boolean recovered = true;
    if (sub.lastDelivered < 0 || sub.lastDelivered > subscribed.lastSeq()) {
      // Live only; or the client claims a seq the conversation has not reached: start from now.
      sub.lastDelivered = subscribed.lastSeq();
    } else if (subscribed.lastSeq() - sub.lastDelivered > settings.maxReplay()) {
      // Too far behind to replay: say so, and let the client page history instead.
      recovered = false;
      sub.lastDelivered = subscribed.lastSeq();
    }
    // A resubscription the session made on its own is silent unless the client must act on it.
    if (sub.awaitingClient || !recovered) {
      push(
          Frames.reply("subscribed", sub.pendingRequest)
              .put("conversation", sub.conversation)
              .put("lastSeq", subscribed.lastSeq())
              .put("recovered", recovered));
      if (sub.awaitingClient) requestDone();
      sub.awaitingClient = false;
      sub.pendingRequest = null;
    }
    sub.recent = subscribed.recent();
    if (recovered && subscribed.needsJournal() && subscribed.journalTo() > sub.lastDelivered) {
      sub.phase = Subscription.Phase.CATCHING_UP;
      sub.replayTo = subscribed.journalTo();
      readJournalChunk(sub);
    } else {
      goLive(sub);
    }
  }

  private Behavior<Command> onJournalRead(JournalRead read) {
    Subscription sub = subscriptions.get(read.conversation());
    if (sub == null || sub.tag != read.tag() || sub.phase != Subscription.Phase.CATCHING_UP) return next();
    if (read.failure() != null) {
      retryLater(sub);
      return next();
    }
    read.events().forEach(e -> deliver(sub, e));
    if (sub.lastDelivered < sub.replayTo && !read.events().isEmpty()) readJournalChunk(sub);
    else goLive(sub);
    return next();
  }

  /**
   * Reads the next part of a replay, no more than fits in half the outbound buffer: pushed at
   * once, a replay longer than the buffer would get a client that reads promptly dropped as a
   * slow consumer. While the buffer is over half full, waits for the client to read.
   */
  private void readJournalChunk(Subscription sub) {
    int room = settings.outboundBuffer() / 2 - outbound.size();
    if (room < 1) {
      timers.startSingleTimer(sub.conversation, new ReplayMore(sub.conversation, sub.tag), REPLAY_PAUSE);
      return;
    }
    long from = sub.lastDelivered + 1;
    long to = Math.min(sub.replayTo, from + room - 1);
    long tag = sub.tag;
    getContext()
        .pipeToSelf(
            conversations.readJournal(sub.conversation, from, to),
            (events, failure) -> new JournalRead(sub.conversation, tag, events, failure));
  }

  private Behavior<Command> onReplayMore(ReplayMore more) {
    Subscription sub = subscriptions.get(more.conversation());
    if (sub != null && sub.tag == more.tag() && sub.phase == Subscription.Phase.CATCHING_UP) readJournalChunk(sub);
    return next();
  }

  private void goLive(Subscription sub) {
    sub.recent.forEach(e -> deliver(sub, e));
    sub.recent = List.of();
    sub.phase = Subscription.Phase.LIVE;
    List<TimelineEvent> buffered = List.copyOf(sub.buffered);
    sub.buffered.clear();
    if (sub.bufferOverflowed) {
      // Events were dropped while catching up: fetch them again instead of leaving a gap.
      sub.bufferOverflowed = false;
      sub.phase = Subscription.Phase.PENDING;
      sendSubscribe(sub);
      return;
    }
    buffered.forEach(e -> onPublished(sub, e));
  }

  private void onPublished(Subscription sub, TimelineEvent event) {
    if (!sub.isLive()) {
      if (sub.buffered.size() < settings.outboundBuffer()) sub.buffered.add(event);
      else sub.bufferOverflowed = true;
      return;
    }
    if (event.seq() > sub.lastDelivered + 1) {
      // A gap can only mean an event got lost on the way: resubscribe from what was delivered.
      sub.phase = Subscription.Phase.PENDING;
      sub.buffered.add(event);
      sendSubscribe(sub);
      return;
    }
    deliver(sub, event);
    if (event instanceof TimelineEvent.MemberLeft left && left.user().equals(user)) {
      // This user left (perhaps from another device): the conversation has dropped every
      // subscription of theirs, so this one ends here instead of being re-established later.
      forget(sub);
    }
  }

  /** The one place events reach the client: never twice, never out of order. */
  private void deliver(Subscription sub, TimelineEvent event) {
    if (event.seq() != sub.lastDelivered + 1) return;
    sub.lastDelivered = event.seq();
    push(Frames.event(sub.conversation, event));
  }

  private Behavior<Command> onConversationStopped(ConversationStopped stopped) {
    Subscription sub = subscriptions.get(stopped.conversation());
    if (sub != null && stopped.entity().equals(sub.entity)) {
      // The conversation passivated, moved to another node or failed: subscribe again from
      // where this client is, after a jittered pause so its subscribers do not return at once.
      sub.entity = null;
      retryLater(sub);
    }
    return next();
  }

  private void retryLater(Subscription sub) {
    sub.phase = Subscription.Phase.PENDING;
    sub.failedAttempts++;
    if (sub.failedAttempts > MAX_RESUBSCRIBE_ATTEMPTS) {
      push(
          Frames.error(sub.pendingRequest, ErrorCode.UNAVAILABLE, "conversation is unavailable; subscribe again later")
              .put("conversation", sub.conversation));
      forget(sub);
      return;
    }
    sub.tag = ++nextTag;
    long capMs = Math.min(5_000, 50L << Math.min(sub.failedAttempts, 10));
    long delayMs = ThreadLocalRandom.current().nextLong(capMs + 1);
    timers.startSingleTimer(sub.conversation, new Resubscribe(sub.conversation, sub.tag), Duration.ofMillis(delayMs));
  }

  private Behavior<Command> onResubscribe(Resubscribe resubscribe) {
    Subscription sub = subscriptions.get(resubscribe.conversation());
    if (sub == null || sub.tag != resubscribe.tag()) return next();
    OptionalLong retryAfterMs = sub.lastDelivered >= 0 ? resumes.tryAdmit() : OptionalLong.empty();
    if (retryAfterMs.isPresent()) {
      // Over the node's resume rate: wait the bucket's time (jittered), without counting a failure.
      timers.startSingleTimer(sub.conversation, resubscribe, Duration.ofMillis(retryAfterMs.getAsLong()));
    } else {
      sendSubscribe(sub);
    }
    return next();
  }

  private Behavior<Command> onSubscribeTimedOut(SubscribeTimedOut timeout) {
    Subscription sub = subscriptions.get(timeout.conversation());
    if (sub == null || sub.tag != timeout.tag() || sub.phase != Subscription.Phase.PENDING) return next();
    if (sub.awaitingClient) {
      // The client is waiting: answer now and let it retry, rather than hold its request.
      push(
          Frames.error(sub.pendingRequest, ErrorCode.UNAVAILABLE, "conversation did not answer in time, retry")
              .put("conversation", sub.conversation));
      dropSubscription(sub.conversation);
    } else {
      retryLater(sub);
    }
    return next();
  }

  private void dropSubscription(String conversation) {
    Subscription sub = subscriptions.get(conversation);
    if (sub == null) return;
    conversations.entity(conversation).tell(new Conversation.Unsubscribe(updates));
    forget(sub);
  }

  private void forget(Subscription sub) {
    subscriptions.remove(sub.conversation);
    timers.cancel(sub.conversation);
    if (sub.entity != null) getContext().unwatch(sub.entity);
    if (sub.awaitingClient) requestDone();
  }

  // ---- outbound -------------------------------------------------------------------------------

  /**
   * Queues a frame for the client. The queue holds {@code outbound-buffer} frames plus room for a
   * last word: a client that falls that far behind gets an error frame and is disconnected.
   */
  private void push(ObjectNode frame) {
    if (closing) return;
    if (outbound.size() >= settings.outboundBuffer()) {
      outbound.offer(
          TextMessage.create(
              Frames.write(
                  Frames.error(null, ErrorCode.UNAVAILABLE, "slow consumer: too many frames queued; reconnect and subscribe with since"))));
      completeOutbound();
      return;
    }
    outbound.offer(TextMessage.create(Frames.write(frame)));
  }

  /**
   * A session never stops itself: when it closes a connection (slow consumer, drain) it completes
   * the outbound queue and stays until its client has read what was queued (ClientGone). Stopping
   * at once would cancel the coupled stream and drop the last frames, the reason included.
   */
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

  // ---- drain ----------------------------------------------------------------------------------

  /** This connection closes at its own random moment in the window, so reconnects form a ramp. */
  private Behavior<Command> onDrainRequested(DrainRequested request) {
    long windowMs = Math.max(1, request.drain().window().toMillis());
    timers.startSingleTimer(CloseForDrain.INSTANCE, Duration.ofMillis(ThreadLocalRandom.current().nextLong(windowMs)));
    return next();
  }

  /**
   * Stop reading requests; once those in flight are answered, hint a reconnect and close. The
   * second firing of the timer is the deadline: requests still unanswered 2 s later are left to
   * the client's retry (same clientMsgId: no loss, no duplicate).
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

  private void closeWithReconnectHint() {
    // The close itself is already spread over the window; a little jitter on top breaks up
    // clients that reconnect on the same tick.
    if (closing) return;
    push(Frames.reconnect(ThreadLocalRandom.current().nextLong(1000)));
    completeOutbound();
  }

  private Behavior<Command> onStop() {
    lifecycle.connectionClosed();
    getContext().getSystem().eventStream().tell(new EventStream.Unsubscribe<>(drainListener));
    subscriptions.keySet().forEach(c -> conversations.entity(c).tell(new Conversation.Unsubscribe(updates)));
    // When the client went first, its side of the stream already completed the queue, and a
    // second complete() throws: that is a normal disconnect, not an error to log.
    try {
      outbound.complete();
    } catch (IllegalStateException alreadyCompleted) {
      // nothing left to close
    }
    return this;
  }
}
