package dev.parley.conversation;

import dev.parley.ErrorCode;
import dev.parley.cluster.DrainAwareAllocationStrategy;
import dev.parley.cluster.PartitionSide;
import dev.parley.ops.Metrics;
import dev.parley.storage.StorageBreaker;
import io.micrometer.core.instrument.Counter;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.OptionalLong;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.function.Function;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.sharding.typed.javadsl.Entity;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityRef;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The conversations of the cluster, as the gateway and the HTTP API see them: registers the
 * {@link Conversation} entity with Cluster Sharding and turns its asks into answers with a
 * deadline. A conversation that does not answer in time (its node is moving, the database is
 * down) yields {@link ErrorCode#UNAVAILABLE}: the client retries with the same clientMsgId.
 *
 * <p>Commands that are safe to deliver twice are sent again when they have had no answer after
 * {@code resend-after}, or after the node's usual answer time when that is longer ({@link AnswerTimes}:
 * a busy node's sends wait their turn and are not lost) (then after twice as long, at most
 * {@code resend-max-interval} apart, inside the same deadline): Cluster
 * Sharding drops the messages a region buffered for a shard that is being handed off ("Dropping
 * [n] buffered messages to shard [..] during hand off to avoid re-ordering"), so during a rolling
 * restart a few sends in every leaving node's last second would otherwise wait out the whole ask
 * timeout, and five of them in a row would open the {@link StorageBreaker} although the database
 * is fine. The first answer wins; later ones are ignored.
 */
public final class Conversations {

  private static final Logger log = LoggerFactory.getLogger(Conversations.class);

  private final ClusterSharding sharding;
  private final History history;
  private final Duration askTimeout;
  private final Duration resendAfter;
  private final Duration resendMaxInterval;
  private final StorageBreaker writes;
  private final PartitionSide side;
  private final ResendingAsk resending;
  private final Counter resends;
  private final Counter refusedBusy;
  private final SendAdmission admission;
  private final AnswerTimes answerTimes;

  private Conversations(
      ActorSystem<?> system, ClusterSharding sharding, History history, ConversationSettings settings, StorageBreaker writes) {
    this.writes = writes;
    this.side = PartitionSide.get(system);
    this.sharding = sharding;
    this.history = history;
    this.askTimeout = settings.askTimeout();
    this.resendAfter = settings.resendAfter();
    this.resendMaxInterval = settings.resendMaxInterval();
    this.resending = new ResendingAsk(system.scheduler(), system.executionContext());
    this.resends =
        Counter.builder("parley.conversation.resends")
            .description("commands sent to a conversation again because the first had no answer in time (e.g. dropped in a shard handoff)")
            .register(Metrics.get(system).registry());
    this.admission =
        new SendAdmission(
            new SendAdmission.Settings(settings.maxSendsInFlight(), settings.maxSendWait(), SendAdmission.MIN_IN_FLIGHT), System::nanoTime);
    this.answerTimes = new AnswerTimes(resendAfter, resendMaxInterval);
    this.refusedBusy =
        Counter.builder("parley.conversation.sends.refused.busy")
            .description(
                "sends refused at once because the node is overloaded (parley.conversation.max-send-wait or max-sends-in-flight)")
            .register(Metrics.get(system).registry());
    Metrics.get(system).gauge("parley.conversation.sends.in.flight", "sends passed to conversations and not yet answered", admission::inFlight);
  }

  public static Conversations init(ActorSystem<?> system, ConversationSettings settings) {
    return init(system, settings, StorageBreaker.disabled());
  }

  /** Writes (create, invite, leave, send, edit, delete) go through {@code writes}: see {@link StorageBreaker}. */
  public static Conversations init(
      ActorSystem<?> system, ConversationSettings settings, StorageBreaker writes) {
    ClusterSharding sharding = ClusterSharding.get(system);
    Clock clock = Clock.systemUTC();
    sharding.init(
        Entity.of(
            Conversation.ENTITY_TYPE_KEY,
            entity ->
                Conversation.create(
                    entity.getEntityId(),
                    ProjectionTags.of(entity.getEntityId()),
                    settings,
                    clock,
                    self -> entity.getShard().tell(new ClusterSharding.Passivate<>(self))))
            .withStopMessage(Conversation.Stop.INSTANCE)
            .withAllocationStrategy(DrainAwareAllocationStrategy.create(system, Conversation.ENTITY_TYPE_KEY.name())));
    return new Conversations(system, sharding, new History(system), settings, writes);
  }

  public EntityRef<Conversation.Command> entity(String conversationId) {
    return sharding.entityRefFor(Conversation.ENTITY_TYPE_KEY, conversationId);
  }

  /** Idempotent for its creator: a resend answers like the first. */
  public CompletionStage<Conversation.Reply> create(String id, String creator, List<String> members, String title) {
    return write(id, replyTo -> new Conversation.Create(creator, members, title, replyTo), RESEND);
  }

  public CompletionStage<Conversation.Reply> invite(String id, String by, String user) {
    return write(id, replyTo -> new Conversation.Invite(by, user, replyTo), ONCE);
  }

  public CompletionStage<Conversation.Reply> leave(String id, String user) {
    return write(id, replyTo -> new Conversation.Leave(user, replyTo), ONCE);
  }

  /**
   * Idempotent per (sender, clientMsgId): a resend answers the seq of the first. Refused at once
   * with {@link ErrorCode#UNAVAILABLE} and a retry hint ({@link Conversation.Rejected#retryAfterMs()})
   * when the node is overloaded ({@link SendAdmission}: the sends in flight would take longer than
   * {@code max-send-wait} to answer, or {@code max-sends-in-flight} are unanswered). Such a refusal
   * is decided here, before the send costs a trip to its conversation or a persist; the returned
   * stage is then already complete. It is not a storage failure, so it never opens the
   * {@link StorageBreaker}.
   */
  public CompletionStage<Conversation.Reply> send(String id, String sender, String clientMsgId, String text) {
    OptionalLong busy = admission.tryAdmit();
    if (busy.isPresent()) {
      refusedBusy.increment();
      return CompletableFuture.completedFuture(
          new Conversation.Rejected(ErrorCode.UNAVAILABLE, "the node is busy, retry shortly", busy.getAsLong()));
    }
    long deadline = System.currentTimeMillis() + askTimeout.toMillis();
    return write(id, replyTo -> new Conversation.Send(sender, clientMsgId, text, replyTo, deadline), RESEND)
        .whenComplete((answer, failure) -> admission.answered());
  }

  public CompletionStage<Conversation.Reply> edit(String id, String user, long target, String text) {
    return write(id, replyTo -> new Conversation.Edit(user, target, text, replyTo), ONCE);
  }

  public CompletionStage<Conversation.Reply> delete(String id, String user, long target) {
    return write(id, replyTo -> new Conversation.Delete(user, target, replyTo), ONCE);
  }

  /** A bot hands the conversation to people: {@link Conversation.Accepted} with the handoff's seq, or rejected. */
  public CompletionStage<Conversation.Reply> handoff(String id, String user, String key, String reason) {
    if (!side.mayWrite()) return CompletableFuture.completedFuture(cutOff());
    return ask(id, replyTo -> new Conversation.Handoff(user, key, reason, replyTo), RESEND);
  }

  /** A read marker: {@link Conversation.Accepted} with the seq clamped to the conversation's, or rejected. */
  public CompletionStage<Conversation.Reply> markRead(String id, String user, long seq) {
    if (!side.mayWrite()) return CompletableFuture.completedFuture(cutOff());
    return ask(id, replyTo -> new Conversation.MarkRead(user, seq, replyTo), RESEND);
  }

  /**
   * A history page: from the entity's memory when it holds the range, otherwise one bounded
   * journal read after the entity has checked membership. Answers a {@link Conversation.HistoryPage}
   * whose events are filled, or a {@link Conversation.Rejected}.
   */
  public CompletionStage<Conversation.Reply> history(String id, String user, long before, int limit) {
    return ask(id, replyTo -> new Conversation.GetHistory(user, before, limit, replyTo), RESEND)
        .thenComposeAsync(
            reply -> {
              if (reply instanceof Conversation.HistoryPage page && page.needsJournal()) {
                return readJournal(id, page.journalFrom(), page.journalTo())
                    .handleAsync(
                        (events, failure) ->
                            failure == null
                                ? (Conversation.Reply) new Conversation.HistoryPage(events, 1, 0)
                                : unavailable(id, failure),
                        ON_COMPLETING_THREAD);
              }
              return CompletableFuture.completedFuture(reply);
            },
            ON_COMPLETING_THREAD);
  }

  /** A page of members in id order ({@link Conversation.MembersPage}), or rejected (not a member, unavailable). */
  public CompletionStage<Conversation.Reply> members(String id, String user, String after, int limit) {
    return ask(id, replyTo -> new Conversation.GetMembers(user, after, limit, replyTo), RESEND);
  }

  /** A bounded journal range; a failure (database down) fails the stage. */
  public CompletionStage<List<TimelineEvent>> readJournal(String id, long from, long to) {
    return history.read(id, from, to).whenCompleteAsync((events, failure) -> {}, ON_COMPLETING_THREAD);
  }

  private CompletionStage<Conversation.Reply> write(
      String id, Function<ActorRef<Conversation.Reply>, Conversation.Command> command, boolean resend) {
    // A node on the losing side of a partition stops writing before the split brain resolver's
    // decision, so that the conversations it hosts never have a second writer on the other side.
    if (!side.mayWrite()) return CompletableFuture.completedFuture(cutOff());
    return writes.call(
        () -> ask(id, command, resend),
        reply -> reply instanceof Conversation.Rejected rejected && rejected.code() == ErrorCode.UNAVAILABLE,
        () -> new Conversation.Rejected(ErrorCode.UNAVAILABLE, "storage is unavailable, retry shortly"));
  }

  private static final boolean RESEND = true;
  private static final boolean ONCE = false;

  private CompletionStage<Conversation.Reply> ask(
      String id, Function<ActorRef<Conversation.Reply>, Conversation.Command> command, boolean resend) {
    EntityRef<Conversation.Command> entity = entity(id);
    Function<Duration, CompletionStage<Conversation.Reply>> once = timeout -> entity.ask(command::apply, timeout);
    if (!resend) {
      return once.apply(askTimeout)
          .handleAsync((reply, failure) -> failure == null ? reply : unavailable(id, failure), ON_COMPLETING_THREAD);
    }
    long started = System.nanoTime();
    return resending
        .ask(once, askTimeout, answerTimes.resendAfter(), resendMaxInterval, resends::increment)
        .handleAsync(
            (reply, failure) -> {
              if (failure != null) return unavailable(id, failure);
              answerTimes.answered(System.nanoTime() - started);
              return reply;
            },
            ON_COMPLETING_THREAD);
  }

  private static Conversation.Reply cutOff() {
    return new Conversation.Rejected(ErrorCode.UNAVAILABLE, "this node is cut off from the cluster, retry");
  }

  private static Conversation.Reply unavailable(String id, Throwable failure) {
    log.debug("conversation {} did not answer: {}", id, failure.toString());
    return new Conversation.Rejected(ErrorCode.UNAVAILABLE, "conversation is unavailable, retry");
  }

  /**
   * Pekko's Java ask and stream results are Scala's CompletionStage adapter, which runs every
   * plain callback (thenApply, exceptionally, and pipeToSelf's whenComplete) on the JDK's default
   * async executor: a new thread per callback on 2-CPU machines (benchmarks.md, "Where the time
   * goes"). Mapping them with an explicit same-thread executor runs the small mapping on the thread
   * that completed the answer and hands callers a plain CompletableFuture.
   */
  private static final Executor ON_COMPLETING_THREAD = Runnable::run;
}
