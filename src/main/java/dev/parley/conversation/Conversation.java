package dev.parley.conversation;

import dev.parley.CborSerializable;
import dev.parley.ErrorCode;
import dev.parley.conversation.ConversationState.Limits;
import dev.parley.conversation.TimelineEvent.Created;
import dev.parley.conversation.TimelineEvent.MemberLeft;
import dev.parley.conversation.TimelineEvent.MessagePosted;
import dev.parley.ops.Metrics;
import java.time.Clock;
import java.time.Duration;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Consumer;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityTypeKey;
import org.apache.pekko.persistence.typed.PersistenceId;
import org.apache.pekko.persistence.typed.RecoveryCompleted;
import org.apache.pekko.persistence.typed.RecoveryFailed;
import org.apache.pekko.persistence.typed.SnapshotAdapter;
import org.apache.pekko.persistence.typed.SnapshotCompleted;
import org.apache.pekko.persistence.typed.javadsl.CommandHandlerWithReply;
import org.apache.pekko.persistence.typed.javadsl.CommandHandlerWithReplyBuilder;
import org.apache.pekko.persistence.typed.javadsl.EventHandler;
import org.apache.pekko.persistence.typed.javadsl.EventSourcedBehaviorWithEnforcedReplies;
import org.apache.pekko.persistence.typed.javadsl.ReplyEffect;
import org.apache.pekko.persistence.typed.javadsl.RetentionCriteria;
import org.apache.pekko.persistence.typed.javadsl.SignalHandler;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;

/**
 * One conversation: a sharded, event-sourced entity that owns its timeline.
 *
 * <p>Guarantees: a send is acknowledged only after its event is persisted (persist, then reply);
 * every timeline event gets the next seq with no gap; a send retried with the same
 * {@code clientMsgId} by the same sender, within the idempotency window, answers the original seq
 * and writes nothing. Subscribers get every event after it is persisted, in seq order; typing
 * notices are at-most-once and never persisted. Only members may read, subscribe or send.
 *
 * <p>Subscribers are not part of the persistent state: a subscriber watches this entity and
 * subscribes again (with {@code since}) when it stops, moves to another node or passivates.
 */
public final class Conversation
    extends EventSourcedBehaviorWithEnforcedReplies<Conversation.Command, TimelineEvent, ConversationState> {

  // ---- protocol -------------------------------------------------------------------------------

  public sealed interface Command extends CborSerializable {}

  public record Create(String creator, List<String> members, String title, ActorRef<Reply> replyTo)
      implements Command {}

  public record Invite(String by, String user, ActorRef<Reply> replyTo) implements Command {}

  public record Leave(String user, ActorRef<Reply> replyTo) implements Command {}

  /**
   * Persisted before {@link Sent} is answered; idempotent per (sender, clientMsgId). A send still
   * waiting (in a shard's buffer during a move, or behind a recovery) when its asker has given up
   * at {@code deadline} (epoch ms) is refused, not persisted: after a restart nothing stale is
   * executed just because it was queued; the client's retry (same clientMsgId) is the one that counts.
   */
  public record Send(String sender, String clientMsgId, String text, ActorRef<Reply> replyTo, long deadline)
      implements Command {
    public Send(String sender, String clientMsgId, String text, ActorRef<Reply> replyTo) {
      this(sender, clientMsgId, text, replyTo, Long.MAX_VALUE);
    }
  }

  public record Edit(String user, long target, String text, ActorRef<Reply> replyTo) implements Command {}

  public record Delete(String user, long target, ActorRef<Reply> replyTo) implements Command {}

  /**
   * A member (a bot) hands the conversation over to people: persists {@link TimelineEvent.HandedOff}
   * and answers {@link Accepted} with its seq. Idempotent per (user, key) like a send.
   */
  public record Handoff(String user, String key, String reason, ActorRef<Reply> replyTo) implements Command {}

  /**
   * Registers {@code subscriber} for live events. The answer ({@link Subscribed} or
   * {@link SubscribeRejected}) goes to the subscriber itself, so it always arrives before the first
   * live event. {@code since < 0} means live events only. {@code tag} is echoed in the answer, so a
   * subscriber that subscribed twice knows which answer is which.
   */
  public record Subscribe(String user, long since, ActorRef<Update> subscriber, long tag) implements Command {}

  /**
   * Ends {@code subscriber}'s subscription if it was made with a tag up to {@code upToTag}. A session
   * reuses one subscriber ref for every subscribe it sends (tags grow per session), and an
   * unsubscribe for an abandoned attempt can overtake a newer subscribe (one goes to the entity's
   * ref, the other through the shard region): the tag keeps it from ending the newer one.
   * {@link #ALL}: whatever the tag (the session is closing).
   */
  public record Unsubscribe(ActorRef<Update> subscriber, long upToTag) implements Command {
    public static final long ALL = Long.MAX_VALUE;
  }

  /** A page of at most {@code limit} events with seq below {@code before} (0: the newest page). */
  public record GetHistory(String user, long before, int limit, ActorRef<Reply> replyTo) implements Command {}

  /** Ephemeral, at-most-once, relayed to the other subscribers; never persisted. */
  public record Typing(String user) implements Command {}

  /**
   * A member has read up to {@code seq}: answered {@link Accepted} with the seq clamped to
   * [0, last seq] (the read model keeps the position), and relayed to the other members'
   * subscribers as a read receipt. Not persisted: read positions live in the inbox read model.
   */
  public record MarkRead(String user, long seq, ActorRef<Reply> replyTo) implements Command {}

  /**
   * A page of the members (issue 21, presence): at most {@code limit} user ids after {@code after}
   * (exclusive; null: from the first) in id order, answered {@link MembersPage}; members only.
   */
  public record GetMembers(String user, String after, int limit, ActorRef<Reply> replyTo) implements Command {}

  private record SubscriberGone(ActorRef<Update> subscriber) implements Command {}

  /**
   * What Cluster Sharding sends to stop the entity for a handoff (a rolling deploy, a rebalance) or
   * a passivation. Without it the entity is stopped at once and the commands already in its
   * mailbox (sends in flight) are dropped, each costing its client an ask timeout and a retry; with
   * it they are processed first, in order, and new ones wait in the shard's buffer for the next
   * incarnation.
   */
  public enum Stop implements Command {
    INSTANCE
  }

  private enum IdleCheck implements Command {
    INSTANCE
  }

  /** Sent to itself after each write: persist what was collected meanwhile (see {@link WriteBatch}). */
  enum Flush implements Command {
    INSTANCE
  }

  public sealed interface Reply extends CborSerializable {}

  /** A membership change or creation was accepted; {@code seq} is its event's seq (or the current last seq when nothing changed). */
  public record Accepted(long seq) implements Reply {}

  public record Sent(long seq, String clientMsgId) implements Reply {}

  /**
   * {@code events} come from the recent window; when the page reaches below it, {@code events} is
   * empty and {@code journalFrom..journalTo} (inclusive) is the seq range to read from the journal.
   */
  public record HistoryPage(List<TimelineEvent> events, long journalFrom, long journalTo) implements Reply {
    public boolean needsJournal() {
      return journalFrom <= journalTo;
    }
  }

  /**
   * {@code retryAfterMs} > 0: when the client should retry (the node refused the send because it is
   * overloaded, {@link SendAdmission}); 0: no hint.
   */
  public record Rejected(ErrorCode code, String reason, long retryAfterMs) implements Reply {
    public Rejected(ErrorCode code, String reason) {
      this(code, reason, 0);
    }
  }

  /** {@code members} in id order; {@code total} the conversation's member count; {@code more}: a next page exists. */
  public record MembersPage(List<String> members, int total, boolean more) implements Reply {}

  /** What a subscriber receives. */
  public sealed interface Update extends CborSerializable {
    String conversationId();
  }

  /**
   * The subscription is live. Events after {@code since} up to {@code lastSeq} are {@code recent}
   * (from memory) preceded, when the gap reaches below the window, by the journal range
   * {@code journalFrom..journalTo} (inclusive; empty when from > to).
   */
  public record Subscribed(
      String conversationId,
      long tag,
      long lastSeq,
      List<TimelineEvent> recent,
      long journalFrom,
      long journalTo,
      ActorRef<Command> entity)
      implements Update {
    public boolean needsJournal() {
      return journalFrom <= journalTo;
    }
  }

  public record SubscribeRejected(String conversationId, long tag, ErrorCode code, String reason) implements Update {}

  public record Published(String conversationId, TimelineEvent event) implements Update {}

  public record UserTyping(String conversationId, String user) implements Update {}

  public record UserRead(String conversationId, String user, long seq) implements Update {}

  // ---- wiring ---------------------------------------------------------------------------------

  private static final Logger LOG = LoggerFactory.getLogger(Conversation.class);

  public static final EntityTypeKey<Command> ENTITY_TYPE_KEY =
      EntityTypeKey.create(Command.class, "Conversation");

  public static final int MAX_MEMBERS_AT_CREATE = 1000;

  public static final int MAX_TITLE_LENGTH = 200;

  /**
   * The entity; every event it persists carries {@code projectionTag} ({@link ProjectionTags}, given
   * by the wiring); {@code passivate} is given its own ref when it has been idle with no subscriber.
   */
  public static Behavior<Command> create(
      String conversationId,
      String projectionTag,
      ConversationSettings settings,
      Clock clock,
      Consumer<ActorRef<Command>> passivate) {
    // No Behaviors.withMdc: it filled and cleared the MDC for every message the entity handles
    // (each send, journal answer, flush, subscriber and timer message; Logback allocates a map
    // for the first put after a clear) and added an interceptor to walk on each of them, for one
    // DEBUG line. That line puts its conversation id itself (logPersisted); Pekko Persistence's
    // own lines carry the persistence id in their MDC.
    return Behaviors.setup(
            ctx ->
                Behaviors.withTimers(
                    timers -> {
                      Duration tick = settings.idleTimeout().dividedBy(2);
                      timers.startTimerWithFixedDelay(IdleCheck.INSTANCE, tick);
                      return new Conversation(ctx, conversationId, projectionTag, settings, clock, passivate);
                    }));
  }

  private Metrics metrics() {
    if (metrics == null) metrics = Metrics.get(ctx.getSystem());
    return metrics;
  }

  public static PersistenceId persistenceId(String conversationId) {
    return PersistenceId.of(ENTITY_TYPE_KEY.name(), conversationId);
  }

  private final ActorContext<Command> ctx;
  private final String conversationId;
  private final ConversationSettings settings;
  private final Limits limits;
  private final Clock clock;
  private final Consumer<ActorRef<Command>> passivate;
  /** Live subscribers; transient, rebuilt by re-subscription. */
  private final Subscribers subscribers;
  /** Writes collected while one is in flight; transient like the subscribers. */
  private final WriteBatch batch = new WriteBatch();
  private long lastActivity;
  /** Looked up on the first persist: creating the registry is not on the path of a first command. */
  private Metrics metrics;
  private final Set<String> projectionTags;
  private final RecoveryTracking recovery;
  /** Where this conversation's snapshots fall (a phased grid) and which old ones go. */
  private final Snapshots snapshots;
  /** Looked up on the first snapshot. */
  private org.apache.pekko.actor.ActorRef snapshotStore;

  private Conversation(
      ActorContext<Command> ctx,
      String conversationId,
      String projectionTag,
      ConversationSettings settings,
      Clock clock,
      Consumer<ActorRef<Command>> passivate) {
    super(persistenceId(conversationId));
    this.ctx = ctx;
    this.subscribers = new Subscribers(ctx, SubscriberGone::new);
    this.conversationId = conversationId;
    this.settings = settings;
    this.limits = new Limits(settings.recentWindow(), settings.idempotencyWindow());
    this.clock = clock;
    this.passivate = passivate;
    this.lastActivity = clock.millis();
    this.projectionTags = Set.of(projectionTag);
    this.recovery = new RecoveryTracking(ctx.getSystem());
    this.snapshots = new Snapshots(settings.snapshotEvery(), Snapshots.phaseOf(conversationId, settings.snapshotEvery()));
  }

  @Override
  public ConversationState emptyState() {
    return ConversationState.EMPTY;
  }

  // ---- commands -------------------------------------------------------------------------------

  @Override
  public CommandHandlerWithReply<Command, TimelineEvent, ConversationState> commandHandler() {
    CommandHandlerWithReplyBuilder<Command, TimelineEvent, ConversationState> builder =
        newCommandHandlerWithReplyBuilder();
    // Not yet created: only Create does something; every request is answered "not found".
    builder
        .forState(state -> !state.exists())
        .onCommand(Create.class, this::onCreate)
        .onCommand(Subscribe.class, (state, cmd) -> Effect().reply(cmd.subscriber(), notFound(cmd)))
        .onCommand(Typing.class, (state, cmd) -> Effect().noReply())
        .onCommand(Conversation::isRequest, (state, cmd) -> Effect().reply(requester(cmd), rejectNotFound()));
    // Active.
    builder
        .forAnyState()
        .onCommand(Create.class, this::onCreateExisting)
        .onCommand(Invite.class, this::onWrite)
        .onCommand(Leave.class, this::onWrite)
        .onCommand(Send.class, this::onWrite)
        .onCommand(Edit.class, this::onWrite)
        .onCommand(Delete.class, this::onWrite)
        .onCommand(Handoff.class, this::onWrite)
        .onCommand(Subscribe.class, this::onSubscribe)
        .onCommand(GetHistory.class, this::onGetHistory)
        .onCommand(Typing.class, this::onTyping)
        .onCommand(MarkRead.class, this::onMarkRead)
        .onCommand(GetMembers.class, this::onGetMembers);
    builder
        .forAnyState()
        .onCommand(Unsubscribe.class, (state, cmd) -> unsubscribe(cmd))
        .onCommand(SubscriberGone.class, (state, cmd) -> removeSubscriber(cmd.subscriber()))
        .onCommand(IdleCheck.class, (state, cmd) -> onIdleCheck())
        .onCommand(Flush.class, (state, cmd) -> onFlush(state))
        .onCommand(Stop.class, (state, cmd) -> onStop(state));
    CommandHandlerWithReply<Command, TimelineEvent, ConversationState> handlers = builder.build();
    return (state, command) -> {
      if (!(command instanceof IdleCheck) && !(command instanceof Flush)) {
        lastActivity = clock.millis();
      }
      return handlers.apply(state, command);
    };
  }

  private ReplyEffect<TimelineEvent, ConversationState> onCreate(ConversationState state, Create cmd) {
    if (cmd.title() != null && cmd.title().length() > MAX_TITLE_LENGTH) {
      return Effect().reply(cmd.replyTo(), new Rejected(ErrorCode.TOO_LARGE, "title is too long"));
    }
    LinkedHashSet<String> members = new LinkedHashSet<>();
    members.add(cmd.creator());
    members.addAll(cmd.members());
    if (members.size() > MAX_MEMBERS_AT_CREATE) {
      return Effect().reply(cmd.replyTo(), new Rejected(ErrorCode.TOO_LARGE, "too many members"));
    }
    Created created = new Created(1, clock.millis(), cmd.creator(), cmd.title(), List.copyOf(members));
    return Effect()
        .persist(created)
        .thenRun(this::publishLast)
        .thenReply(cmd.replyTo(), s -> new Accepted(1));
  }

  /** A retried create by its creator succeeds again; anyone else's create of a taken id fails. */
  private ReplyEffect<TimelineEvent, ConversationState> onCreateExisting(ConversationState state, Create cmd) {
    if (cmd.creator().equals(state.createdBy())) return Effect().reply(cmd.replyTo(), new Accepted(1));
    return Effect().reply(cmd.replyTo(), new Rejected(ErrorCode.BAD_REQUEST, "conversation id is taken"));
  }

  /**
   * Every write of an existing conversation: persisted at once when the entity is idle, otherwise
   * collected into the next batch ({@link WriteBatch}).
   */
  private ReplyEffect<TimelineEvent, ConversationState> onWrite(ConversationState state, Command write) {
    if (batch.isCollecting()) {
      batch.collect(write);
      return Effect().noReply();
    }
    return persistBatch(state, List.of(write), false);
  }

  private ReplyEffect<TimelineEvent, ConversationState> onFlush(ConversationState state) {
    batch.flushArrived();
    if (!batch.hasCollected()) return Effect().noReply();
    return persistBatch(state, batch.take(WriteBatch.MAX_WRITES), false);
  }

  /** Sharding stops the entity (handoff, passivation): what was collected is written first. */
  private ReplyEffect<TimelineEvent, ConversationState> onStop(ConversationState state) {
    if (!batch.hasCollected()) return Effect().stop().thenNoReply();
    return persistBatch(state, batch.take(Integer.MAX_VALUE), true);
  }

  /** Decides {@code writes} against {@code state} and persists their events as one atomic write. */
  private ReplyEffect<TimelineEvent, ConversationState> persistBatch(
      ConversationState state, List<Command> writes, boolean thenStop) {
    WriteBatch.Decided decided = WriteBatch.decide(state, writes, clock.millis(), limits);
    if (decided.events().isEmpty()) {
      // Nothing to write: every answer refers to durable state already.
      decided.decisions().forEach(d -> d.replyTo().tell(d.reply()));
      if (thenStop) return Effect().stop().thenNoReply();
      if (batch.hasCollected()) requestFlush();
      return Effect().noReply();
    }
    batch.started(decided.decisions());
    long persistStarted = System.nanoTime();
    var effect =
        Effect()
            .persist(decided.events())
            .thenRun(s -> batchWritten(decided, persistStarted))
            .thenRun(this::wakeBots);
    return (thenStop ? effect.thenStop() : effect).thenNoReply();
  }

  /** The batch is durable: publish its events, then answer its senders, then collect the next one. */
  private void batchWritten(WriteBatch.Decided decided, long persistStarted) {
    batch.completed();
    metrics().writeBatch(decided.events().size());
    for (TimelineEvent event : decided.events()) {
      if (event instanceof MessagePosted posted) {
        metrics().persisted(persistStarted);
        if (LOG.isDebugEnabled()) logPersisted(posted);
      }
      subscribers.tellAll(new Published(conversationId, event));
      if (event instanceof MemberLeft left) subscribers.removeUser(left.user());
    }
    for (WriteRules.Decision decision : decided.decisions()) decision.replyTo().tell(decision.reply());
    // The commands stashed during the write are handed back before this message arrives.
    requestFlush();
  }

  private void logPersisted(MessagePosted posted) {
    MDC.put("conversation", conversationId);
    try {
      LOG.debug("persisted seq {} from {}", posted.seq(), posted.sender());
    } finally {
      MDC.remove("conversation");
    }
  }

  private void requestFlush() {
    if (batch.requestFlush()) ctx.getSelf().tell(Flush.INSTANCE);
  }

  private ReplyEffect<TimelineEvent, ConversationState> onSubscribe(ConversationState state, Subscribe cmd) {
    if (!state.isMember(cmd.user())) {
      return Effect()
          .reply(cmd.subscriber(), new SubscribeRejected(conversationId, cmd.tag(), ErrorCode.FORBIDDEN, "not a member"));
    }
    subscribers.add(cmd.subscriber(), cmd.user(), cmd.tag());
    long lastSeq = state.lastSeq();
    if (cmd.since() < 0 || cmd.since() >= lastSeq) {
      return Effect()
          .reply(cmd.subscriber(), new Subscribed(conversationId, cmd.tag(), lastSeq, List.of(), 1, 0, ctx.getSelf()));
    }
    long from = cmd.since() + 1;
    long windowStart = state.windowStart();
    List<TimelineEvent> recent = state.recentBetween(Math.max(from, windowStart), lastSeq);
    long journalTo = from < windowStart ? windowStart - 1 : from - 1;
    return Effect()
        .reply(cmd.subscriber(), new Subscribed(conversationId, cmd.tag(), lastSeq, recent, from, journalTo, ctx.getSelf()));
  }

  private ReplyEffect<TimelineEvent, ConversationState> onGetHistory(ConversationState state, GetHistory cmd) {
    if (!state.isMember(cmd.user())) return Effect().reply(cmd.replyTo(), WriteRules.nonMember());
    long to = cmd.before() <= 0 ? state.lastSeq() : Math.min(cmd.before() - 1, state.lastSeq());
    long from = Math.max(1, to - cmd.limit() + 1);
    if (to < 1) return Effect().reply(cmd.replyTo(), new HistoryPage(List.of(), 1, 0));
    if (from >= state.windowStart()) {
      return Effect().reply(cmd.replyTo(), new HistoryPage(state.recentBetween(from, to), 1, 0));
    }
    return Effect().reply(cmd.replyTo(), new HistoryPage(List.of(), from, to));
  }

  private ReplyEffect<TimelineEvent, ConversationState> onTyping(ConversationState state, Typing cmd) {
    if (state.isMember(cmd.user())) {
      subscribers.tellOthers(cmd.user(), new UserTyping(conversationId, cmd.user()));
    }
    return Effect().noReply();
  }

  private ReplyEffect<TimelineEvent, ConversationState> onMarkRead(ConversationState state, MarkRead cmd) {
    if (!state.isMember(cmd.user())) return Effect().reply(cmd.replyTo(), WriteRules.nonMember());
    long seq = Math.max(0, Math.min(cmd.seq(), state.lastSeq()));
    subscribers.tellOthers(cmd.user(), new UserRead(conversationId, cmd.user(), seq));
    return Effect().reply(cmd.replyTo(), new Accepted(seq));
  }

  /** Sorted per request: O(members log members), paid only by presence pages and a presence watch's first load. */
  private ReplyEffect<TimelineEvent, ConversationState> onGetMembers(ConversationState state, GetMembers cmd) {
    if (!state.isMember(cmd.user())) return Effect().reply(cmd.replyTo(), WriteRules.nonMember());
    List<String> after =
        state.members().stream().filter(m -> cmd.after() == null || m.compareTo(cmd.after()) > 0).sorted().toList();
    int limit = Math.max(1, cmd.limit());
    return Effect()
        .reply(cmd.replyTo(), new MembersPage(List.copyOf(after.subList(0, Math.min(limit, after.size()))), state.members().size(), after.size() > limit));
  }

  private ReplyEffect<TimelineEvent, ConversationState> unsubscribe(Unsubscribe cmd) {
    subscribers.unsubscribe(cmd.subscriber(), cmd.upToTag());
    return Effect().noReply();
  }

  private ReplyEffect<TimelineEvent, ConversationState> removeSubscriber(ActorRef<Update> subscriber) {
    subscribers.remove(subscriber);
    return Effect().noReply();
  }

  /** Idle means: no command for the idle timeout and nobody subscribed. */
  private ReplyEffect<TimelineEvent, ConversationState> onIdleCheck() {
    boolean idle = clock.millis() - lastActivity >= settings.idleTimeout().toMillis();
    if (idle && subscribers.isEmpty()) passivate.accept(ctx.getSelf());
    return Effect().noReply();
  }

  private void publishLast(ConversationState state) {
    subscribers.tellAll(new Published(conversationId, state.recent().get(state.recent().size() - 1)));
    wakeBots(state);
  }

  /** Push wake-up of the bots among the members (issue 17), once per write: at-most-once; the journal is the backstop. */
  private void wakeBots(ConversationState state) {
    PersistedEvents.get(ctx.getSystem()).persisted(conversationId, state.members(), state.recent().get(state.recent().size() - 1));
  }

  /** A command someone waits for an answer to (other than Create and Subscribe). */
  private static boolean isRequest(Command command) {
    return WriteRules.isWrite(command) || command instanceof MarkRead || command instanceof GetHistory || command instanceof GetMembers;
  }

  private static ActorRef<Reply> requester(Command request) {
    if (request instanceof MarkRead c) return c.replyTo();
    if (request instanceof GetHistory c) return c.replyTo();
    if (request instanceof GetMembers c) return c.replyTo();
    return WriteRules.replyTo(request);
  }

  private SubscribeRejected notFound(Subscribe cmd) {
    return new SubscribeRejected(conversationId, cmd.tag(), ErrorCode.NOT_FOUND, "no such conversation");
  }

  private static Rejected rejectNotFound() {
    return new Rejected(ErrorCode.NOT_FOUND, "no such conversation");
  }


  // ---- events ---------------------------------------------------------------------------------

  @Override
  public EventHandler<ConversationState, TimelineEvent> eventHandler() {
    return (state, event) -> state.apply(event, limits);
  }

  /** One projection tag per conversation (given by the wiring): its events reach read models in seq order. */
  @Override
  public Set<String> tagsFor(TimelineEvent event) {
    return projectionTags;
  }

  // ---- recovery -------------------------------------------------------------------------------

  /** Recovery bookkeeping ({@link RecoveryTracking}); a stop answers the writes it leaves behind. */
  @Override
  public SignalHandler<ConversationState> signalHandler() {
    return newSignalHandlerBuilder()
        .onSignal(
            RecoveryCompleted.instance(),
            state -> recovery.completed(metrics()))
        .onSignal(RecoveryFailed.class, (state, failed) -> recovery.ended())
        .onSignal(SnapshotCompleted.class, (state, done) -> retireSnapshots(done.metadata().sequenceNr()))
        .onSignal(
            PostStop.instance(),
            state -> {
              recovery.ended();
              // Stopped by a failed write (or abruptly): nobody waits out a timeout for it.
              batch.abandon();
            })
        .build();
  }

  // ---- retention and snapshots ----------------------------------------------------------------

  /**
   * Snapshots bound recovery (every {@code snapshot-every} events, the two newest kept); events are
   * never deleted, they are the conversation's history. Taken at this conversation's phased points
   * ({@link #shouldSnapshot}), and the old ones retired on {@link SnapshotCompleted}, instead of
   * Pekko's {@code snapshotEvery}, whose points are the multiples of the interval for every
   * conversation alike ({@link Snapshots}).
   */
  @Override
  public RetentionCriteria retentionCriteria() {
    return RetentionCriteria.disabled();
  }

  /** A write whose events reach a point of this conversation's grid is followed by a snapshot ({@link Snapshots}). */
  @Override
  public boolean shouldSnapshot(ConversationState state, TimelineEvent event, long sequenceNr) {
    return snapshots.isPoint(sequenceNr);
  }

  /** A stored snapshot retires the ones two intervals older (as {@code snapshotEvery(n, 2)} did). */
  private void retireSnapshots(long savedSeq) {
    if (snapshotStore == null) snapshotStore = Snapshots.store(ctx.getSystem());
    Snapshots.deleteUpTo(snapshotStore, persistenceId(conversationId).id(), snapshots.deleteUpTo(savedSeq));
  }

  @Override
  public SnapshotAdapter<ConversationState> snapshotAdapter() {
    return SNAPSHOTS;
  }

  /** Snapshots are {@link ConversationState.Snapshot} records; the warm-up's replicas read them too. */
  static final SnapshotAdapter<ConversationState> SNAPSHOTS =
      new SnapshotAdapter<>() {
        @Override
        public Object toJournal(ConversationState state) {
          return state.toSnapshot();
        }

        @Override
        public ConversationState fromJournal(Object from) {
          return ConversationState.fromSnapshot((ConversationState.Snapshot) from);
        }
      };
}
