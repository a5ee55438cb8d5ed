package dev.parley.gateway;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.parley.ErrorCode;
import dev.parley.cluster.AdmissionControl;
import dev.parley.conversation.Conversation;
import dev.parley.conversation.Conversations;
import dev.parley.conversation.TimelineEvent;
import dev.parley.gateway.Session.ConversationStopped;
import dev.parley.gateway.Session.JournalRead;
import dev.parley.gateway.Session.ReplayMore;
import dev.parley.gateway.Session.Resubscribe;
import dev.parley.gateway.Session.SubscribeTimedOut;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.concurrent.ThreadLocalRandom;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The conversations one {@link Session} is subscribed to, and the part of the session that keeps
 * their events flowing: per conversation, every event exactly once and in seq order, with no gap:
 * missed events from the journal (in chunks that fit the outbound buffer) and from the
 * conversation's memory, then live ones; and, when a conversation stops or moves, a jittered,
 * rate-admitted resubscription from the last delivered seq. Confined to the session's actor: every
 * method runs on its thread.
 */
final class Subscriptions {

  private static final Logger log = LoggerFactory.getLogger(Subscriptions.class);

  /** What the subscriptions need from their connection. */
  interface Connection {
    void push(ObjectNode frame);

    /** A client request (a subscribe) has started: it counts towards max-in-flight until answered. */
    void requestStarted();

    void requestDone();

    int queuedFrames();
  }

  /** How many times a lost subscription is re-established before the client is told it failed. */
  private static final int MAX_RESUBSCRIBE_ATTEMPTS = 8;

  /** How long a replay waits for the client to take frames off a half-full outbound buffer. */
  private static final Duration REPLAY_PAUSE = Duration.ofMillis(20);

  private final ActorContext<Session.Command> ctx;
  private final TimerScheduler<Session.Command> timers;
  private final Connection connection;
  private final String user;
  private final Conversations conversations;
  private final GatewaySettings settings;
  private final Duration askTimeout;
  private final AdmissionControl resumes;
  private final ActorRef<Conversation.Update> updates;
  private final Map<String, Subscription> active = new HashMap<>();
  private long nextTag;

  Subscriptions(
      ActorContext<Session.Command> ctx,
      TimerScheduler<Session.Command> timers,
      Connection connection,
      String user,
      Conversations conversations,
      GatewaySettings settings,
      Duration askTimeout,
      AdmissionControl resumes,
      ActorRef<Conversation.Update> updates) {
    this.ctx = ctx;
    this.timers = timers;
    this.connection = connection;
    this.user = user;
    this.conversations = conversations;
    this.settings = settings;
    this.askTimeout = askTimeout;
    this.resumes = resumes;
    this.updates = updates;
  }

  /** The connection is closing: the conversations forget this subscriber now, not at their next event. */
  void unsubscribeAll() {
    active.keySet().forEach(c -> conversations.entity(c).tell(new Conversation.Unsubscribe(updates, Conversation.Unsubscribe.ALL)));
  }

  int count() {
    return active.size();
  }

  /** Some subscription is not live yet: waiting for its conversation, replaying, or about to resubscribe. */
  boolean resuming() {
    for (Subscription sub : active.values()) if (!sub.isLive() || sub.waitingToResubscribe) return true;
    return false;
  }

  boolean has(String conversation) {
    return active.containsKey(conversation);
  }

  void subscribe(ClientFrame.Subscribe frame) {
    if (frame.since() >= 0) {
      // A replay is the expensive part of a reconnect herd: admitted at a bounded rate per node.
      OptionalLong retryAfterMs = resumes.tryAdmit();
      if (retryAfterMs.isPresent()) {
        connection.push(
            Frames.error(frame.id(), ErrorCode.RATE_LIMITED, "too many resumes on this node, retry later")
                .put("conversation", frame.conversation())
                .put("retryAfterMs", retryAfterMs.getAsLong()));
        return;
      }
    }
    Subscription sub = active.computeIfAbsent(frame.conversation(), Subscription::new);
    if (sub.awaitingClient) connection.requestDone(); // an earlier subscribe on this conversation is superseded
    sub.phase = Subscription.Phase.PENDING;
    sub.pendingRequest = frame.id();
    sub.awaitingClient = true;
    sub.lastDelivered = frame.since();
    sub.buffered.clear();
    sub.bufferOverflowed = false;
    sub.failedAttempts = 0;
    connection.requestStarted();
    sendSubscribe(sub);
  }

  private void sendSubscribe(Subscription sub) {
    sub.tag = ++nextTag;
    sub.waitingToResubscribe = false;
    conversations.entity(sub.conversation).tell(new Conversation.Subscribe(user, sub.lastDelivered, updates, sub.tag));
    timers.startSingleTimer(sub.conversation, new SubscribeTimedOut(sub.conversation, sub.tag), askTimeout);
  }

  void onUpdate(Conversation.Update update) {
    Subscription sub = active.get(update.conversationId());
    if (update instanceof Conversation.Published published) {
      if (sub != null) onPublished(sub, published.event());
    } else if (update instanceof Conversation.Subscribed subscribed) {
      // An answer to an attempt given up: undo that attempt only, not a newer subscribe that the
      // entity may already have (or may yet) register under the same subscriber ref.
      if (sub == null) subscribed.entity().tell(new Conversation.Unsubscribe(updates, subscribed.tag()));
      else if (subscribed.tag() == sub.tag) onSubscribed(sub, subscribed);
    } else if (update instanceof Conversation.SubscribeRejected rejected) {
      if (sub != null && rejected.tag() == sub.tag) {
        connection.push(Frames.error(sub.pendingRequest, rejected.code(), rejected.reason()).put("conversation", sub.conversation));
        forget(sub);
      }
    } else if (update instanceof Conversation.UserTyping typing) {
      if (sub != null && sub.isLive()) connection.push(Frames.typing(typing.conversationId(), typing.user()));
    } else if (update instanceof Conversation.UserRead read) {
      if (sub != null && sub.isLive()) connection.push(Frames.readReceipt(read.conversationId(), read.user(), read.seq()));
    }
  }

  private void onSubscribed(Subscription sub, Conversation.Subscribed subscribed) {
    timers.cancel(sub.conversation);
    if (sub.entity != null && !sub.entity.equals(subscribed.entity())) ctx.unwatch(sub.entity);
    sub.entity = subscribed.entity();
    ctx.watchWith(sub.entity, new ConversationStopped(sub.conversation, sub.entity));
    sub.failedAttempts = 0;

    boolean recovered = true;
    if (sub.lastDelivered < 0 || (sub.awaitingClient && sub.lastDelivered > subscribed.lastSeq())) {
      // Live only; or the client claims a seq the conversation has not reached: start from now.
      sub.lastDelivered = subscribed.lastSeq();
    } else if (sub.lastDelivered > subscribed.lastSeq()) {
      // Our own resubscription reached an incarnation that has not (yet) seen events this client
      // already got: possible for a moment while a shard moves. Never rewind what was delivered:
      // rewinding would send those seqs again once the conversation catches up.
      log.debug("conversation {} answered lastSeq {} below delivered {}", sub.conversation, subscribed.lastSeq(), sub.lastDelivered);
    } else if (subscribed.lastSeq() - sub.lastDelivered > settings.maxReplay()) {
      // Too far behind to replay: say so, and let the client page history instead.
      recovered = false;
      sub.lastDelivered = subscribed.lastSeq();
    }
    // A resubscription the session made on its own is silent unless the client must act on it.
    if (sub.awaitingClient || !recovered) {
      connection.push(
          Frames.reply("subscribed", sub.pendingRequest)
              .put("conversation", sub.conversation)
              .put("lastSeq", subscribed.lastSeq())
              .put("recovered", recovered));
      if (sub.awaitingClient) connection.requestDone();
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

  void onJournalRead(JournalRead read) {
    Subscription sub = active.get(read.conversation());
    if (sub == null || sub.tag != read.tag() || sub.phase != Subscription.Phase.CATCHING_UP) return;
    if (read.failure() != null) {
      retryLater(sub);
      return;
    }
    read.events().forEach(e -> deliver(sub, e));
    if (sub.lastDelivered < sub.replayTo && !read.events().isEmpty()) readJournalChunk(sub);
    else goLive(sub);
  }

  /**
   * Reads the next part of a replay, no more than fits in half the outbound buffer: pushed at
   * once, a replay longer than the buffer would get a client that reads promptly dropped as a
   * slow consumer. While the buffer is over half full, waits for the client to read.
   */
  private void readJournalChunk(Subscription sub) {
    int room = settings.outboundBuffer() / 2 - connection.queuedFrames();
    if (room < 1) {
      timers.startSingleTimer(sub.conversation, new ReplayMore(sub.conversation, sub.tag), REPLAY_PAUSE);
      return;
    }
    long from = sub.lastDelivered + 1;
    long to = Math.min(sub.replayTo, from + room - 1);
    long tag = sub.tag;
    ctx
        .pipeToSelf(
            conversations.readJournal(sub.conversation, from, to),
            (events, failure) -> new JournalRead(sub.conversation, tag, events, failure));
  }

  void onReplayMore(ReplayMore more) {
    Subscription sub = active.get(more.conversation());
    if (sub != null && sub.tag == more.tag() && sub.phase == Subscription.Phase.CATCHING_UP) readJournalChunk(sub);
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
    connection.push(Frames.event(sub.conversation, event));
  }

  void onConversationStopped(ConversationStopped stopped) {
    Subscription sub = active.get(stopped.conversation());
    if (sub != null && stopped.entity().equals(sub.entity)) {
      // The conversation passivated, moved to another node or failed: subscribe again from
      // where this client is, at a random moment of the spread. A handoff stops all conversations
      // of a shard together; resubscribed at once, they would all queue for recovery on their new
      // node (max-concurrent-recoveries), and a send to any of them would wait behind all.
      sub.entity = null;
      sub.phase = Subscription.Phase.PENDING;
      sub.tag = ++nextTag;
      sub.waitingToResubscribe = true;
      // Unless the conversation is known to have moved on already (the inbox reported newer
      // events: whoever wrote them restarted it): then at once, as nothing is left to spread.
      long spreadMs = sub.newestKnownSeq > sub.lastDelivered ? 0 : settings.resubscribeSpread().toMillis();
      long delayMs = ThreadLocalRandom.current().nextLong(spreadMs + 1);
      timers.startSingleTimer(sub.conversation, new Resubscribe(sub.conversation, sub.tag), Duration.ofMillis(delayMs));
    }
  }

  private void retryLater(Subscription sub) {
    sub.phase = Subscription.Phase.PENDING;
    sub.failedAttempts++;
    if (sub.failedAttempts > MAX_RESUBSCRIBE_ATTEMPTS) {
      connection.push(
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

  /**
   * The inbox says {@code conversation} has events up to {@code lastSeq}. A subscription waiting
   * out the resubscribe spread comes back now if that is news: the conversation is live again
   * (whoever wrote to it started it), so resubscribing costs no recovery, and its subscriber
   * gets the message within the inbox's lag instead of at a random moment of the spread. Quiet
   * conversations keep their place in the spread. The inbox's update travels apart from the
   * conversation's own events: on a live subscription it is usually late news and changes nothing.
   */
  void onActivity(String conversation, long lastSeq) {
    Subscription sub = active.get(conversation);
    if (sub == null) return;
    // Remembered also while the subscription still looks live: the news that its conversation
    // stopped (a remote watch) can arrive after the first message of its next incarnation.
    sub.newestKnownSeq = Math.max(sub.newestKnownSeq, lastSeq);
    if (!sub.waitingToResubscribe || lastSeq <= sub.lastDelivered) return;
    onResubscribe(new Resubscribe(conversation, sub.tag));
  }

  void onResubscribe(Resubscribe resubscribe) {
    Subscription sub = active.get(resubscribe.conversation());
    if (sub == null || sub.tag != resubscribe.tag()) return;
    sub.waitingToResubscribe = false;
    OptionalLong retryAfterMs = sub.lastDelivered >= 0 ? resumes.tryAdmit() : OptionalLong.empty();
    if (retryAfterMs.isPresent()) {
      // Over the node's resume rate: wait the bucket's time (jittered), without counting a failure.
      timers.startSingleTimer(sub.conversation, resubscribe, Duration.ofMillis(retryAfterMs.getAsLong()));
    } else {
      sendSubscribe(sub);
    }
  }

  void onSubscribeTimedOut(SubscribeTimedOut timeout) {
    Subscription sub = active.get(timeout.conversation());
    if (sub == null || sub.tag != timeout.tag() || sub.phase != Subscription.Phase.PENDING) return;
    if (sub.awaitingClient) {
      // The client is waiting: answer now and let it retry, rather than hold its request.
      connection.push(
          Frames.error(sub.pendingRequest, ErrorCode.UNAVAILABLE, "conversation did not answer in time, retry")
              .put("conversation", sub.conversation));
      drop(sub.conversation);
    } else {
      retryLater(sub);
    }
  }

  void drop(String conversation) {
    Subscription sub = active.get(conversation);
    if (sub == null) return;
    conversations.entity(conversation).tell(new Conversation.Unsubscribe(updates, sub.tag));
    forget(sub);
  }

  private void forget(Subscription sub) {
    active.remove(sub.conversation);
    timers.cancel(sub.conversation);
    if (sub.entity != null) ctx.unwatch(sub.entity);
    if (sub.awaitingClient) connection.requestDone();
  }
}
