package dev.parley.storage;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.BiConsumer;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Extension;
import org.apache.pekko.actor.typed.ExtensionId;

/**
 * How often the read side asks the journal whether anything new was written (issue 18, target 6:
 * an idle node does next to nothing).
 *
 * <p>Every projection (inbox, bots) reads by tag through Pekko Persistence JDBC's read journal,
 * whose journal-sequence actor asks the database for new orderings every {@code query-delay}
 * (100 ms here), forever, and whose tag streams each query their tag every {@code
 * refresh-interval}: 82 statements/s on a node with nothing to do. The tag streams only query
 * when the journal-sequence actor found new orderings ({@link IdleAwareReadJournalDao}), so this
 * class paces the one query that is left: after each query that found nothing new the next waits
 * twice as long, from {@code query-delay} up to {@code idle-query-delay}; a query that finds rows
 * brings the pace back to {@code query-delay}, so a loaded node polls as fast as before.
 *
 * <p>A write on this node ({@link #written()}, called by the conversation after each persisted
 * write, as the bots' push wake-up) ends a wait at once: a node's own writes reach its
 * projections as fast as on a busy node. Writes of another node of the cluster are seen within
 * {@code idle-query-delay} at worst, and only after the journal was quiet for a while.
 */
public final class JournalPolling implements Extension {

  private final Duration queryDelay;
  private final Duration idleQueryDelay;
  private final BiConsumer<Duration, Runnable> scheduleOnce;
  private final Executor executor;
  /** Queries in a row that found nothing new; 0 while the journal is being written. */
  private volatile int emptyQueries;
  /** The wait of the next query, while there is one; a write completes it. */
  private final AtomicReference<CompletableFuture<Void>> waiting = new AtomicReference<>();
  /** While the journal is idle: completes when it is not (rows found, a write here) or after idle-query-delay. */
  private final AtomicReference<CompletableFuture<Void>> quiet = new AtomicReference<>();
  private final LongAdder queries = new LongAdder();
  private final LongAdder tagQueries = new LongAdder();
  /** The extra wait of the query now waiting, 0 when none waits. */
  private volatile long pendingWaitMillis;

  private static final CompletableFuture<Void> NOW = CompletableFuture.completedFuture(null);

  /**
   * @param scheduleOnce runs a task once after a delay (the actor system's scheduler)
   * @param executor where a write's wake-up completes the wait, so the query never starts on the
   *     conversation's thread
   */
  public JournalPolling(Duration queryDelay, Duration idleQueryDelay, BiConsumer<Duration, Runnable> scheduleOnce, Executor executor) {
    if (queryDelay.isNegative() || queryDelay.isZero()) {
      throw new IllegalArgumentException("jdbc-read-journal.journal-sequence-retrieval.query-delay must be positive, is " + queryDelay);
    }
    if (idleQueryDelay.compareTo(queryDelay) < 0) {
      throw new IllegalArgumentException(
          "jdbc-read-journal.idle-query-delay (" + idleQueryDelay + ") must be at least journal-sequence-retrieval.query-delay (" + queryDelay + ")");
    }
    this.queryDelay = queryDelay;
    this.idleQueryDelay = idleQueryDelay;
    this.scheduleOnce = scheduleOnce;
    this.executor = executor;
  }

  public static JournalPolling get(ActorSystem<?> system) {
    return Id.INSTANCE.apply(system);
  }

  /** Events were just persisted on this node: the next query runs now, and at full pace after it. */
  public void written() {
    // Under load these are volatile reads: there is no wait and the count is already 0.
    if (emptyQueries != 0) emptyQueries = 0;
    CompletableFuture<Void> wait = waiting.get();
    if (wait != null && waiting.compareAndSet(wait, null)) executor.execute(() -> wait.complete(null));
    activityResumed();
  }

  /**
   * Completes at once while the journal is written; once it has been idle long enough for the
   * pace to reach {@code idle-query-delay}, when it no longer is (a query found rows, a write on
   * this node) or after {@code idle-query-delay} at the latest. A tag stream with nothing to ask
   * waits for it: instead of waking 5 times a second to learn that nothing changed, it sleeps
   * while the node is idle. Under load it never waits.
   */
  CompletionStage<Void> activity() {
    if (!idle()) return NOW;
    CompletableFuture<Void> mine = new CompletableFuture<>();
    CompletableFuture<Void> shared = quiet.compareAndExchange(null, mine);
    if (shared != null) return shared;
    scheduleOnce.accept(idleQueryDelay, () -> {
      quiet.compareAndSet(mine, null);
      mine.complete(null);
    });
    // Activity between the check and publishing the future found nothing to complete: look again.
    if (!idle()) activityResumed();
    return mine;
  }

  private void activityResumed() {
    CompletableFuture<Void> idleWait = quiet.get();
    if (idleWait != null && quiet.compareAndSet(idleWait, null)) executor.execute(() -> idleWait.complete(null));
  }

  /** Completes when the next query for new orderings may run. */
  CompletionStage<Void> nextQuery() {
    Duration extra = extraWait(emptyQueries);
    if (extra.isZero()) return NOW;
    CompletableFuture<Void> wait = new CompletableFuture<>();
    wait.thenRun(() -> pendingWaitMillis = 0);
    pendingWaitMillis = extra.toMillis();
    waiting.set(wait);
    // A write between reading the count and publishing the wait found nothing to complete: look again.
    if (emptyQueries == 0 && waiting.compareAndSet(wait, null)) {
      wait.complete(null);
      return NOW;
    }
    scheduleOnce.accept(
        extra,
        () -> {
          waiting.compareAndSet(wait, null);
          wait.complete(null);
        });
    return wait;
  }

  /** A query ran; {@code foundNew}: it returned orderings (or failed: the journal's own backoff applies). */
  void queried(boolean foundNew) {
    queries.increment();
    emptyQueries = foundNew ? 0 : Math.min(emptyQueries + 1, 30);
    if (foundNew) activityResumed();
  }

  /**
   * The wait added before a query, beyond the journal-sequence actor's own {@code query-delay}:
   * the period doubles with each query that found nothing, up to {@code idle-query-delay}.
   */
  Duration extraWait(int emptyQueries) {
    if (emptyQueries == 0) return Duration.ZERO;
    long periodMillis = Math.min(idleQueryDelay.toMillis(), queryDelay.toMillis() << Math.min(emptyQueries, 20));
    return Duration.ofMillis(Math.max(0, periodMillis - queryDelay.toMillis()));
  }

  /** Queries for new orderings run since start (a test's and an operator's view of the pace). */
  public long queries() {
    return queries.sum();
  }

  /** A tag stream sent its query (there could be new events of its tag). */
  void tagQuerySent() {
    tagQueries.increment();
  }

  /** Tag queries sent to the database since start; none while the journal is quiet. */
  public long tagQueries() {
    return tagQueries.sum();
  }

  /** The read side's statements as meters: what an idle node still asks the database. */
  public void bindMetrics(MeterRegistry registry) {
    FunctionCounter.builder("parley.read.journal.queries", this, JournalPolling::queries)
        .description("queries of the read journal for new orderings (the pace backs off while the journal is quiet)")
        .register(registry);
    FunctionCounter.builder("parley.read.journal.tag.queries", this, JournalPolling::tagQueries)
        .description("queries of the projections' tag streams sent to the database (none while nothing new was written)")
        .register(registry);
  }

  /** How long the query now waiting waits beyond the journal's query-delay (zero when none waits). */
  public Duration pendingWait() {
    return Duration.ofMillis(pendingWaitMillis);
  }

  /** Whether the journal was quiet long enough for the pace to reach {@code idle-query-delay}. */
  public boolean idle() {
    int empty = emptyQueries;
    return empty > 0 && extraWait(empty).plus(queryDelay).compareTo(idleQueryDelay) >= 0;
  }

  private static final class Id extends ExtensionId<JournalPolling> {
    static final Id INSTANCE = new Id();

    @Override
    public JournalPolling createExtension(ActorSystem<?> system) {
      var config = system.settings().config().getConfig("jdbc-read-journal");
      Duration queryDelay = config.getDuration("journal-sequence-retrieval.query-delay");
      Duration idleQueryDelay = config.hasPath("idle-query-delay") ? config.getDuration("idle-query-delay") : queryDelay;
      return new JournalPolling(
          queryDelay,
          idleQueryDelay,
          (delay, task) -> system.scheduler().scheduleOnce(delay, task, system.executionContext()),
          system.executionContext());
    }
  }
}
