package dev.parley.conversation;

import dev.parley.storage.Storage;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.Props;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.persistence.typed.RecoveryCompleted;
import org.apache.pekko.persistence.typed.RecoveryFailed;
import org.apache.pekko.persistence.typed.SnapshotAdapter;
import org.apache.pekko.persistence.typed.javadsl.CommandHandler;
import org.apache.pekko.persistence.typed.javadsl.EventHandler;
import org.apache.pekko.persistence.typed.javadsl.EventSourcedBehavior;
import org.apache.pekko.persistence.typed.javadsl.SignalHandler;
import org.apache.pekko.stream.javadsl.Source;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Before a node joins the cluster, it recovers a few recently active conversations without hosting
 * them, so that what every recovery runs (the journal's and the snapshot store's reads, the
 * deserializers, rebuilding the state, Pekko's recovery) is compiled before the node is given
 * shards: a member gets shards as soon as it is Up (a draining node's, a balancing round's), before
 * it is ready.
 *
 * <p>Why: in a rolling deploy the node restarted just before takes the next draining node's
 * shards 15 to 30 s after it started. With a cold JVM its first recoveries ran interpreted on a
 * machine busy handing over connections: in the rolling-restart test the youngest node held 60 to
 * 106 conversations recovering at once while the older receiver of the same drain held under 5,
 * and the sends waiting on them made the tail (benchmarks.md, sixth series).
 *
 * <p>Read-only: a replica recovers a conversation's state from the journal as its entity would,
 * then stops; it has no command that persists, so it never writes, and it runs beside the entity
 * (wherever that lives) as any reader of the journal does. The conversations are the ones with the
 * newest events; a failure or the timeout ends the warm-up early, never the node's start.
 */
public final class RecoveryWarmUp {

  private static final Logger log = LoggerFactory.getLogger(RecoveryWarmUp.class);

  /**
   * {@code conversations} 0 switches the warm-up off. {@code perSecond} paces the recoveries: each
   * costs the database three reads, and a node that recovered 200 as fast as it could added some
   * 220 transactions a second for 3 s to a database doing 285 (rolling-restart test); at 40 a
   * second the warm-up still made the 1 s peak of a rolling deploy (issue 20), hence 15.
   */
  public record Settings(int conversations, int parallelism, int perSecond, Duration timeout) {
    public Settings {
      if (conversations < 0) throw new IllegalArgumentException("parley.warm-up.conversations must not be negative");
      if (parallelism < 1) throw new IllegalArgumentException("parley.warm-up.parallelism must be at least 1");
      if (perSecond < 1) throw new IllegalArgumentException("parley.warm-up.per-second must be at least 1");
    }
  }

  /** What a warm-up did: conversations recovered, ones that failed to, and how long it took. */
  public record Result(int recovered, int failed, Duration took) {}

  private RecoveryWarmUp() {}

  /** Recovers up to {@code conversations} recent conversations, {@code perSecond} and at most {@code parallelism} at once. */
  public static CompletionStage<Result> run(
      ActorSystem<?> system, Storage storage, Settings settings, ConversationSettings conversation) {
    long started = System.nanoTime();
    if (settings.conversations() == 0) return CompletableFuture.completedFuture(new Result(0, 0, Duration.ZERO));
    ConversationState.Limits limits = new ConversationState.Limits(conversation.recentWindow(), conversation.idempotencyWindow());
    Executor blocking = system.dispatchers().lookup(DispatcherSelector.blocking());
    return CompletableFuture.supplyAsync(() -> recentConversations(storage, settings.conversations()), blocking)
        .thenCompose(
            ids ->
                Source.from(ids)
                    .throttle(settings.perSecond(), Duration.ofSeconds(1))
                    .mapAsyncUnordered(settings.parallelism(), id -> recover(system, id, limits).handle((state, failed) -> failed == null))
                    .takeWithin(settings.timeout())
                    .runFold(new int[2], (counts, recovered) -> {
                      counts[recovered ? 0 : 1]++;
                      return counts;
                    }, system))
        .handle(
            (counts, failure) -> {
              Duration took = Duration.ofNanos(System.nanoTime() - started);
              if (failure != null) {
                log.warn("recovery warm-up stopped after {} ms: {}", took.toMillis(), failure.toString());
                return new Result(0, 0, took);
              }
              log.info("recovery warm-up: {} conversations recovered, {} failed, in {} ms", counts[0], counts[1], took.toMillis());
              return new Result(counts[0], counts[1], took);
            });
  }

  /** The conversations with the newest events, newest first: one index range scan at the journal's end. */
  static List<String> recentConversations(Storage storage, int limit) {
    String prefix = Conversation.ENTITY_TYPE_KEY.name() + "|";
    List<String> ids = new ArrayList<>();
    try (Connection c = storage.connect();
        PreparedStatement s =
            c.prepareStatement(
                "SELECT \"persistence_id\" FROM \"event_journal\""
                    + " WHERE \"ordering\" > (SELECT COALESCE(MAX(\"ordering\"), 0) FROM \"event_journal\") - ?"
                    + " GROUP BY \"persistence_id\" ORDER BY MAX(\"ordering\") DESC")) {
      // Conversations of the last events: enough of them to find `limit` distinct ones when a few
      // conversations are busy, without reading the journal.
      s.setLong(1, 50L * limit);
      try (ResultSet rows = s.executeQuery()) {
        while (rows.next() && ids.size() < limit) {
          String persistenceId = rows.getString(1);
          if (persistenceId.startsWith(prefix)) ids.add(persistenceId.substring(prefix.length()));
        }
      }
    } catch (SQLException e) {
      throw new IllegalStateException("cannot list recent conversations: " + e.getMessage(), e);
    }
    return ids;
  }

  /** The state a replica of {@code conversationId} recovered; failed when its recovery failed. */
  static CompletionStage<ConversationState> recover(ActorSystem<?> system, String conversationId, ConversationState.Limits limits) {
    CompletableFuture<ConversationState> recovered = new CompletableFuture<>();
    system.systemActorOf(replica(conversationId, limits, recovered), "recovery-warm-up-" + UUID.randomUUID(), Props.empty());
    return recovered;
  }

  /** A conversation's state, recovered and thrown away. */
  static final class Replica extends EventSourcedBehavior<Replica.Stop, TimelineEvent, ConversationState> {

    enum Stop { INSTANCE }

    private final ActorContext<Stop> ctx;
    private final ConversationState.Limits limits;
    private final CompletableFuture<ConversationState> recovered;

    Replica(
        ActorContext<Stop> ctx, String conversationId, ConversationState.Limits limits, CompletableFuture<ConversationState> recovered) {
      super(Conversation.persistenceId(conversationId));
      this.ctx = ctx;
      this.limits = limits;
      this.recovered = recovered;
    }

    @Override
    public ConversationState emptyState() {
      return ConversationState.EMPTY;
    }

    @Override
    public CommandHandler<Stop, TimelineEvent, ConversationState> commandHandler() {
      return newCommandHandlerBuilder().forAnyState().onCommand(Stop.class, stop -> Effect().stop()).build();
    }

    /** The entity's own event handler: the state is rebuilt exactly as a recovery rebuilds it. */
    @Override
    public EventHandler<ConversationState, TimelineEvent> eventHandler() {
      return (state, event) -> state.apply(event, limits);
    }

    @Override
    public SnapshotAdapter<ConversationState> snapshotAdapter() {
      return Conversation.SNAPSHOTS;
    }

    @Override
    public SignalHandler<ConversationState> signalHandler() {
      return newSignalHandlerBuilder()
          .onSignal(
              RecoveryCompleted.instance(),
              state -> {
                recovered.complete(state);
                ctx.getSelf().tell(Stop.INSTANCE);
              })
          .onSignal(RecoveryFailed.class, (state, failed) -> recovered.completeExceptionally(failed.getFailure()))
          .onSignal(PostStop.instance(), state -> recovered.completeExceptionally(new IllegalStateException("stopped before recovering")))
          .build();
    }
  }

  /** One replica: completes {@code recovered} with the state it recovered, or with its failure. */
  private static Behavior<Replica.Stop> replica(
      String conversationId, ConversationState.Limits limits, CompletableFuture<ConversationState> recovered) {
    return Behaviors.setup(ctx -> new Replica(ctx, conversationId, limits, recovered));
  }
}
