package dev.parley.bot;

import dev.parley.CborSerializable;
import dev.parley.ErrorCode;
import dev.parley.conversation.Conversation;
import dev.parley.conversation.Conversations;
import dev.parley.conversation.TimelineEvent;
import dev.parley.gateway.Frames;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.SupervisorStrategy;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityTypeKey;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One bot in one conversation: a sharded entity (id {@code <bot>|<conversation>}) that moves with
 * rolling deploys. Not event-sourced: its durable offset (the last seq it handled) and the bot's
 * state are the bot_progress row, read when it starts and written after each event.
 *
 * <p>Guarantees: events reach the bot one at a time, strictly in seq order, with no gap, read from
 * the journal from the offset on. An event counts as handled only after the bot returned, its
 * replies were acknowledged by the conversation and the offset was stored; a crash in between
 * hands the same event again, and its replies, sent with clientMsgId {@code r<seq>-<n>}, are
 * deduplicated by the conversation: no missed and no duplicated reply. The bot runs on its own
 * threads with a processing timeout; a failed attempt is retried with exponential backoff, and
 * after the bot's last attempt the event goes to bot_dead_letter and the bot moves on. Failures
 * that are not the bot's (database or conversation unavailable) are retried without a bound.
 *
 * <p>Bounded: a runner holds at most one chunk of events; wakes carry only a seq and coalesce.
 * The conversation never waits for it: it is woken by a tell right after the conversation persisted
 * (BotWakeUps, at-most-once) and by the projection and the sweeper (the durable backstop), and its
 * replies are ordinary sends, paced by the bot's cluster-wide budget and a per-conversation limit.
 * Any number of wakes, duplicates included, produce one handling per seq.
 *
 * <p>Handed off (a drain, a rebalance): it finishes the step under way, and when it has work left
 * wakes itself on its new node after {@code handoff-rewake} instead of waiting for the next message.
 */
public final class BotRunner extends AbstractBehavior<BotRunner.Command> {

  private static final Logger log = LoggerFactory.getLogger(BotRunner.class);

  // ---- protocol -------------------------------------------------------------------------------

  public sealed interface Command extends CborSerializable {}

  /** Events up to {@code lastSeen} exist in the conversation; sent by the projection and the sweeper. */
  public record Wake(long lastSeen) implements Command {}

  private record Loaded(Optional<BotStore.Progress> progress, Throwable failure) implements Command {}

  private record Read(List<TimelineEvent> events, Throwable failure) implements Command {}

  /** An attempt at event {@code seq} ended; {@code moved}: the offset was stored past it. */
  private record Attempted(long seq, Map<String, String> state, boolean moved, boolean deadLettered, Throwable failure)
      implements Command {}

  private enum Retry implements Command {
    INSTANCE
  }

  /** Cluster Sharding's stop message for this entity (handoff, passivation). */
  enum HandOff implements Command {
    INSTANCE
  }

  private enum IdleCheck implements Command {
    INSTANCE
  }

  /** The bot itself failed (threw, timed out): counts towards its attempts, unlike infrastructure failures. */
  private static final class BotFailure extends RuntimeException {
    BotFailure(Throwable cause) {
      super(cause);
    }
  }

  // ---- wiring ---------------------------------------------------------------------------------

  public static final EntityTypeKey<Command> ENTITY_TYPE_KEY = EntityTypeKey.create(Command.class, "BotRunner");

  public static String entityId(String bot, String conversation) {
    return bot + "|" + conversation;
  }

  static Behavior<Command> create(
      String entityId,
      Bots bots,
      BotStore store,
      Executor blocking,
      Conversations conversations,
      BotRunnerSettings settings,
      ActorRef<ClusterSharding.ShardCommand> shard) {
    int bar = entityId.indexOf('|');
    String bot = entityId.substring(0, bar);
    String conversation = entityId.substring(bar + 1);
    Optional<Bots.Registered> registered = bots.enabled(bot);
    if (registered.isEmpty()) return Behaviors.stopped();
    Behavior<Command> runner =
        Behaviors.setup(
            ctx ->
                Behaviors.withTimers(
                    timers ->
                        new BotRunner(
                            ctx, timers, registered.get(), conversation, store, blocking, conversations, settings, shard, bots)));
    // Anything unexpected in the runner itself: start again (from the stored offset) after a pause.
    return Behaviors.supervise(runner)
        .onFailure(SupervisorStrategy.restartWithBackoff(settings.minBackoff(), settings.maxBackoff(), 0.2));
  }

  private final TimerScheduler<Command> timers;
  private final Bots.Registered bot;
  private final String conversation;
  private final BotStore store;
  private final Executor blocking;
  private final Conversations conversations;
  private final BotRunnerSettings settings;
  private final ActorRef<ClusterSharding.ShardCommand> shard;
  private final BotMetrics metrics;
  private final Bots bots;
  /** The conversation's reply limit and this node's share of the bot's budget. */
  private final ReplyPacing pacing;

  // ---- state ----------------------------------------------------------------------------------

  /** Null until loaded from bot_progress. */
  private BotStore.Progress progress;
  /** The newest seq known to exist. */
  private long target;
  /** Read from the journal, not handled yet: seqs lastHandled+1, +2, ... without gap. */
  private final Deque<TimelineEvent> pending = new ArrayDeque<>();
  /** An asynchronous step (load, read, attempt) is under way; its answer continues the work. */
  private boolean busy;
  /** Failed attempts of the bot at the current event. */
  private int attempts;
  /** Consecutive failures that are not the bot's (database, conversation): they only space retries. */
  private int stalls;
  private long lastActivity = System.currentTimeMillis();
  /** Handed off while a step was under way: stop when it answers. */
  private boolean stopping;
  /** The pending Retry waits out a failure that was not the bot's (database, conversation): a wake ends it. */
  private boolean waitingOutStall;
  /**
   * A wake came while a step was under way. Should that step fail for a reason that is not the
   * bot's, the wake has already been spent, and the next one may never come (the message that
   * sent it was the last): the step is retried at once instead of after the stall's backoff,
   * exactly as if the wake had come a moment later.
   */
  private boolean wokenDuringStep;

  private BotRunner(
      ActorContext<Command> ctx,
      TimerScheduler<Command> timers,
      Bots.Registered bot,
      String conversation,
      BotStore store,
      Executor blocking,
      Conversations conversations,
      BotRunnerSettings settings,
      ActorRef<ClusterSharding.ShardCommand> shard,
      Bots bots) {
    super(ctx);
    this.timers = timers;
    this.bot = bot;
    this.conversation = conversation;
    this.store = store;
    this.blocking = blocking;
    this.conversations = conversations;
    this.settings = settings;
    this.shard = shard;
    this.metrics = BotMetrics.get(ctx.getSystem());
    this.bots = bots;
    this.pacing = new ReplyPacing(bot, conversation);
    timers.startTimerWithFixedDelay(IdleCheck.INSTANCE, settings.idleTimeout().dividedBy(2));
    load();
  }

  // ---- behaviour ------------------------------------------------------------------------------

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(Wake.class, this::onWake)
        .onMessage(Loaded.class, this::onLoaded)
        .onMessage(Read.class, this::onRead)
        .onMessage(Attempted.class, this::onAttempted)
        .onMessageEquals(Retry.INSTANCE, this::onRetry)
        .onMessageEquals(IdleCheck.INSTANCE, this::onIdleCheck)
        .onMessageEquals(HandOff.INSTANCE, this::onHandOff)
        .onSignal(PostStop.class, signal -> {
          metrics.forget(bot.name(), conversation);
          return this;
        })
        .build();
  }

  private Behavior<Command> onWake(Wake wake) {
    lastActivity = System.currentTimeMillis();
    target = Math.max(target, wake.lastSeen());
    if (waitingOutStall && timers.isTimerActive(Retry.INSTANCE)) {
      // Whoever woke us just wrote or read the database (a persisted message, the projection, the
      // sweeper's query): what stalled us is likely over. Waiting out a backoff that grew during a
      // database outage left bots silent for up to max-backoff (30 s) after the database was back
      // (issue 23's fault benchmark); a bot's own failures keep their backoff.
      timers.cancel(Retry.INSTANCE);
      waitingOutStall = false;
      return onRetry();
    }
    if (busy) wokenDuringStep = true;
    step();
    return this;
  }

  private void load() {
    busy = true;
    getContext().pipeToSelf(CompletableFuture.supplyAsync(() -> store.progress(bot.name(), conversation), blocking), Loaded::new);
  }

  private Behavior<Command> onLoaded(Loaded loaded) {
    busy = false;
    if (stopping) return handedOff();
    if (loaded.failure() != null) {
      log.warn("bot {} in {}: cannot read its progress: {}", bot.name(), conversation, loaded.failure().toString());
      retryLater(false);
      return this;
    }
    wokenDuringStep = false; // the load succeeded: its wakes raised the target, step() goes on from there
    if (loaded.progress().isEmpty()) return Behaviors.stopped(); // not (or no longer) a member
    progress = loaded.progress().get();
    target = Math.max(target, progress.lastSeen());
    step();
    return this;
  }

  /** Does the next thing, unless something is under way: handle a read event, or read more. */
  private void step() {
    if (busy || progress == null || timers.isTimerActive(Retry.INSTANCE)) return;
    metrics.lag(bot.name(), conversation, target - progress.lastHandled());
    if (!pending.isEmpty()) {
      attempt(pending.peek());
    } else if (progress.lastHandled() < target) {
      long from = progress.lastHandled() + 1;
      long to = Math.min(target, progress.lastHandled() + settings.chunk());
      busy = true;
      getContext().pipeToSelf(conversations.readJournal(conversation, from, to), Read::new);
    }
  }

  private Behavior<Command> onRead(Read read) {
    busy = false;
    if (stopping) return handedOff();
    if (read.failure() != null) {
      log.warn("bot {} in {}: cannot read the journal: {}", bot.name(), conversation, read.failure().toString());
      retryLater(false);
      return this;
    }
    wokenDuringStep = false;
    long expected = progress.lastHandled() + 1;
    for (TimelineEvent event : read.events()) {
      if (event.seq() == expected) {
        pending.add(event);
        expected++;
      }
    }
    if (pending.isEmpty()) {
      // Not readable yet (a wake can come before the write is visible to this node's reads): never skip ahead.
      log.debug("bot {} in {}: seq {} not readable yet, reading again shortly", bot.name(), conversation, expected);
      retryLater(false);
    } else {
      step();
    }
    return this;
  }

  // ---- one attempt at one event ----------------------------------------------------------------

  private void attempt(TimelineEvent event) {
    busy = true;
    lastActivity = System.currentTimeMillis();
    long seq = event.seq();
    BotContext context = new BotContext(conversation, bot.user(), seq, settings.maxReplyLength(), progress.state());
    CompletionStage<Attempted> attempt =
        callBot(context, event)
            .thenCompose(this::perform)
            .thenApplyAsync(done -> store.handled(bot.name(), conversation, seq, context.state()), blocking)
            .handle((moved, failure) -> new Attempted(seq, context.state(), moved != null && moved, false, unwrap(failure)));
    getContext().pipeToSelf(attempt, (attempted, impossible) -> attempted);
  }

  /**
   * The bot, on its own threads, within its processing timeout; anything it does wrong is a
   * {@link BotFailure}. A call that times out is interrupted, so that a bot waiting on I/O or a lock
   * gives its thread back instead of holding one of its few threads forever.
   */
  private CompletableFuture<BotContext> callBot(BotContext context, TimelineEvent event) {
    CompletableFuture<BotContext> call = new CompletableFuture<>();
    Future<?> task;
    try {
      task =
          bot.executor()
              .submit(
                  () -> {
                    try {
                      bot.bot().onEvent(context, event);
                      call.complete(context);
                    } catch (Throwable e) {
                      call.completeExceptionally(new BotFailure(e));
                    }
                  });
    } catch (RuntimeException rejected) {
      return CompletableFuture.failedFuture(rejected);
    }
    return call.orTimeout(bot.processingTimeout().toMillis(), TimeUnit.MILLISECONDS)
        .handle(
            (done, failure) -> {
              if (failure == null) return done;
              task.cancel(true);
              Throwable cause = unwrap(failure);
              throw cause instanceof BotFailure f ? f : new BotFailure(cause);
            });
  }

  /** Carries out the bot's actions one after the other; each is idempotent when the event is handled again. */
  private CompletableFuture<Void> perform(BotContext context) {
    CompletableFuture<Void> chain = CompletableFuture.completedFuture(null);
    long seq = context.seq();
    int replies = 0;
    int handoffs = 0;
    for (BotContext.Action action : context.actions()) {
      if (action instanceof BotContext.Action.Reply reply) {
        String clientMsgId = "r" + seq + "-" + replies++;
        chain =
            chain.thenCompose(v -> pacing.permit())
                .thenCompose(v -> conversations.send(conversation, bot.user(), clientMsgId, reply.text()))
                .thenAccept(answer -> {
                  if (accepted(answer, "reply")) metrics.replied(bot.name());
                });
      } else if (action instanceof BotContext.Action.Handoff handoff) {
        String key = "h" + seq + "-" + handoffs++;
        chain = chain.thenCompose(v -> conversations.handoff(conversation, bot.user(), key, handoff.reason()))
            .thenAccept(answer -> accepted(answer, "handoff"));
      } else if (action instanceof BotContext.Action.Invite invite) {
        chain = chain.thenCompose(v -> conversations.invite(conversation, bot.user(), invite.user()))
            .thenAccept(answer -> accepted(answer, "invite"));
      }
    }
    return chain;
  }

  /**
   * True when the conversation took it. Unavailable is thrown (the event is attempted again, the
   * action deduplicated); any other refusal (the bot was removed, the text is refused) is final:
   * logged and not retried, or the bot would be stuck on it.
   */
  private boolean accepted(Conversation.Reply answer, String what) {
    if (answer instanceof Conversation.Rejected rejected) {
      if (rejected.code() == ErrorCode.UNAVAILABLE) throw new IllegalStateException("conversation unavailable for a bot " + what);
      log.warn("bot {} in {}: {} refused: {} {}", bot.name(), conversation, what, rejected.code(), rejected.reason());
      return false;
    }
    return true;
  }

  private Behavior<Command> onAttempted(Attempted attempted) {
    busy = false;
    if (attempted.failure() == null) {
      if (!attempted.moved()) {
        // The row is gone (the bot left) or another runner already moved it: this one is stale.
        return Behaviors.stopped();
      }
      wokenDuringStep = false;
      TimelineEvent handled = pending.poll();
      if (handled instanceof TimelineEvent.MessagePosted message && !Bot.isBot(message.sender())) {
        metrics.replyGap(bot.name(), System.currentTimeMillis() - message.ts());
      }
      attempts = 0;
      stalls = 0;
      if (attempted.deadLettered()) metrics.deadLettered(bot.name());
      else metrics.handled(bot.name());
      progress =
          new BotStore.Progress(bot.name(), conversation, Math.max(progress.lastSeen(), target), attempted.seq(), attempted.state());
      if (stopping) return handedOff();
      step();
      return this;
    }
    if (stopping) return handedOff();
    boolean botsFault = attempted.failure() instanceof BotFailure;
    attempts++;
    metrics.failed(bot.name());
    Throwable cause = botsFault ? attempted.failure().getCause() : attempted.failure();
    log.warn(
        "bot {} in {}: attempt {} at seq {} failed: {}",
        bot.name(), conversation, attempts, attempted.seq(), cause == null ? "?" : cause.toString());
    if (botsFault && attempts >= bot.maxAttempts()) {
      deadLetter(pending.peek(), String.valueOf(cause));
    } else {
      retryLater(botsFault);
    }
    return this;
  }

  /** The bot gave up on this event for the last time: record it and move past it, in one transaction. */
  private void deadLetter(TimelineEvent event, String error) {
    busy = true;
    BotStore.DeadLetter letter =
        new BotStore.DeadLetter(bot.name(), conversation, event.seq(), attempts, error, Frames.write(Frames.event(conversation, event)));
    Map<String, String> state = progress.state();
    getContext()
        .pipeToSelf(
            CompletableFuture.supplyAsync(() -> store.deadLetter(letter, state, System.currentTimeMillis()), blocking),
            (moved, failure) -> new Attempted(event.seq(), state, moved != null && moved, true, unwrap(failure)));
  }

  private void retryLater(boolean botsFault) {
    boolean woken = wokenDuringStep;
    wokenDuringStep = false;
    if (!botsFault) stalls++;
    waitingOutStall = !botsFault;
    if (woken && !botsFault) {
      // Someone wrote to the conversation while this step was failing (a database coming back, a
      // conversation recovering): the wake that said so arrived while we were busy, so it is
      // honoured now. One retry per wake: an outage cannot turn this into a loop, as nothing is
      // written (and nobody wakes us) while the database is away.
      log.debug("bot {} in {}: woken while the failed step was under way, retrying at once", bot.name(), conversation);
      timers.startSingleTimer(Retry.INSTANCE, Retry.INSTANCE, Duration.ofMillis(1));
      return;
    }
    int exponent = Math.min(Math.max(botsFault ? attempts : stalls, 1) - 1, 20);
    long cap = Math.min(bot.maxBackoff().toMillis(), bot.minBackoff().toMillis() << exponent);
    // Jitter: runners that failed together (a database outage) do not retry together.
    long delay = cap / 2 + ThreadLocalRandom.current().nextLong(cap / 2 + 1);
    timers.startSingleTimer(Retry.INSTANCE, Retry.INSTANCE, Duration.ofMillis(Math.max(1, delay)));
  }

  private Behavior<Command> onRetry() {
    if (progress == null) load();
    else step();
    return this;
  }

  private Behavior<Command> onHandOff() {
    if (busy) {
      // Finish the step under way (its answer would otherwise be lost and the new runner redo it).
      stopping = true;
      return this;
    }
    return handedOff();
  }

  /**
   * Stops; with work left, wakes itself after {@code handoff-rewake} through Cluster Sharding, which
   * by then routes to the runner's new node: it resumes at once instead of at the next message or
   * sweep. At-most-once like every wake (lost when this node is gone by then: the sweeper remains).
   */
  private Behavior<Command> handedOff() {
    if (progress != null && progress.lastHandled() < target) {
      BotStore.Wake wake = new BotStore.Wake(bot.name(), conversation, target);
      log.debug("bot {} in {}: handed off at seq {} of {}, waking on its new node", bot.name(), conversation, progress.lastHandled(), target);
      getContext().getSystem().scheduler()
          .scheduleOnce(settings.handoffRewake(), () -> bots.wake(wake), getContext().getSystem().executionContext());
    }
    return Behaviors.stopped();
  }

  private Behavior<Command> onIdleCheck() {
    boolean idle =
        !busy && progress != null && pending.isEmpty() && progress.lastHandled() >= target
            && System.currentTimeMillis() - lastActivity >= settings.idleTimeout().toMillis();
    if (idle) shard.tell(new ClusterSharding.Passivate<>(getContext().getSelf()));
    return this;
  }

  private static Throwable unwrap(Throwable failure) {
    Throwable t = failure;
    while ((t instanceof CompletionException || t instanceof ExecutionException) && t.getCause() != null) t = t.getCause();
    return t;
  }
}
