package dev.parley.inbox;

import dev.parley.ParleyConfig;
import dev.parley.conversation.Conversation;
import dev.parley.ops.Metrics;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import org.apache.pekko.Done;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.Extension;
import org.apache.pekko.actor.typed.ExtensionId;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.pubsub.Topic;
import org.apache.pekko.cluster.sharding.typed.ShardedDaemonProcessSettings;
import org.apache.pekko.cluster.sharding.typed.javadsl.ShardedDaemonProcess;
import org.apache.pekko.persistence.jdbc.query.javadsl.JdbcReadJournal;
import org.apache.pekko.persistence.query.EventEnvelope;
import org.apache.pekko.persistence.query.Offset;
import org.apache.pekko.persistence.query.PersistenceQuery;
import org.apache.pekko.stream.KillSwitches;
import org.apache.pekko.stream.RestartSettings;
import org.apache.pekko.stream.UniqueKillSwitch;
import org.apache.pekko.stream.javadsl.Keep;
import org.apache.pekko.stream.javadsl.RestartSource;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Feeds the inbox read model from the conversation journal: one offset-tracked consumer per
 * projection tag ({@link Conversation#PROJECTION_TAGS}), each run by Cluster Sharding's
 * ShardedDaemonProcess on exactly one node of the cluster and moved with rolling deploys.
 *
 * <p>A consumer reads its tag from the stored offset, applies events in batches, each batch in one
 * transaction with the new offset (exactly once), and then publishes what changed to every node
 * ({@link Inbox#TOPIC}). Any failure (the database gone, a bad batch) restarts the consumer with
 * backoff from the stored offset: it never rescans the journal from the start and never skips.
 *
 * <p>Conversations do not wait for it: fan-out to members is the projection's work, bounded per
 * message (three statements whatever the number of members), off the conversation's path.
 */
public final class InboxProjection {

  private static final Logger log = LoggerFactory.getLogger(InboxProjection.class);

  public static final String NAME = "inbox-projection";

  private InboxProjection() {}

  public enum Command {
    STOP
  }

  public static void init(
      ActorSystem<?> system,
      InboxStore store,
      Executor blocking,
      ActorRef<Topic.Command<Inbox.Change>> changes,
      ParleyConfig.InboxSettings settings) {
    Gauge.builder("parley.inbox.lag", Progress.get(system), progress -> progress.lagMillis() / 1000.0)
        .description("how far the inbox projection of this node is behind the journal")
        .baseUnit("seconds")
        .register(Metrics.get(system).registry());
    FunctionCounter.builder("parley.inbox.projection.failures", Progress.get(system), Progress::failures)
        .description("inbox projection consumers of this node that failed (database or journal) and restart from their stored offset")
        .register(Metrics.get(system).registry());
    ShardedDaemonProcess.get(system)
        .init(
            Command.class,
            NAME,
            Conversation.PROJECTION_TAGS,
            i -> consumer(Conversation.projectionTag(i), store, blocking, changes, settings),
            ShardedDaemonProcessSettings.create(system),
            Optional.of(Command.STOP));
  }

  private static Behavior<Command> consumer(
      String tag,
      InboxStore store,
      Executor blocking,
      ActorRef<Topic.Command<Inbox.Change>> changes,
      ParleyConfig.InboxSettings settings) {
    return Behaviors.setup(
        ctx -> {
          ActorSystem<?> system = ctx.getSystem();
          JdbcReadJournal journal =
              PersistenceQuery.get(system).getReadJournalFor(JdbcReadJournal.class, JdbcReadJournal.Identifier());
          Progress progress = Progress.get(system);
          RestartSettings restart =
              RestartSettings.create(settings.minBackoff(), settings.maxBackoff(), 0.2);
          Source<Done, ?> consume =
              RestartSource.onFailuresWithBackoff(
                  restart,
                  () ->
                      // The offset is read again on every (re)start: the stored one is the truth.
                      Source.completionStageSource(
                              CompletableFuture.supplyAsync(() -> progress.resumedFrom(store.offset(tag)), blocking)
                                  .thenApply(offset -> journal.eventsByTag(tag, Offset.sequence(offset))))
                          .groupedWithin(settings.batchSize(), settings.batchWindow())
                          .mapAsync(1, batch -> CompletableFuture.supplyAsync(() -> applied(store, tag, batch), blocking))
                          .map(
                              applied -> {
                                applied.changes().forEach(change -> changes.tell(Topic.publish(change)));
                                progress.record(tag, applied.newestEventTimestamp(), applied.oldestEventTimestamp());
                                return Done.getInstance();
                              })
                          .watchTermination(
                              (mat, terminated) -> {
                                terminated.whenComplete(
                                    (done, failure) -> {
                                      if (failure != null) progress.failed();
                                    });
                                return mat;
                              }));
          UniqueKillSwitch running =
              consume
                  .viaMat(KillSwitches.single(), Keep.right())
                  .toMat(Sink.ignore(), Keep.left())
                  .run(system);
          progress.started(tag);
          log.debug("inbox projection of {} started", tag);
          return Behaviors.receive(Command.class)
              .onMessageEquals(Command.STOP, Behaviors::stopped)
              .onSignal(
                  PostStop.class,
                  signal -> {
                    running.shutdown();
                    progress.forget(tag);
                    return Behaviors.same();
                  })
              .build();
        });
  }

  private record Applied(List<Inbox.Change> changes, long oldestEventTimestamp, long newestEventTimestamp) {}

  private static Applied applied(InboxStore store, String tag, List<EventEnvelope> batch) {
    try {
      List<Inbox.Change> changes = store.apply(tag, batch);
      return new Applied(changes, batch.get(0).timestamp(), batch.get(batch.size() - 1).timestamp());
    } catch (RuntimeException e) {
      log.warn("inbox projection of {} failed a batch of {} events, retrying from its offset: {}", tag, batch.size(), e.toString());
      throw e;
    }
  }

  /**
   * How far behind the journal the projections running on this node are: for each tag, the time
   * from the oldest event of its last batch being written to that batch being committed. A metric
   * (issue: lag observable) and a readiness signal for tests that wait for the read model.
   */
  public static final class Progress implements Extension {
    private final Map<String, long[]> byTag = new ConcurrentHashMap<>();
    private final Clock clock = Clock.systemUTC();
    private final java.util.concurrent.atomic.LongAdder starts = new java.util.concurrent.atomic.LongAdder();
    private final java.util.concurrent.atomic.LongAdder failures = new java.util.concurrent.atomic.LongAdder();

    public static Progress get(ActorSystem<?> system) {
      return Id.INSTANCE.apply(system);
    }

    void record(String tag, long newestEventTimestamp, long oldestEventTimestamp) {
      byTag.put(tag, new long[] {clock.millis() - oldestEventTimestamp, newestEventTimestamp});
    }

    void started(String tag) {
      byTag.putIfAbsent(tag, new long[] {0, 0});
    }

    /** A consumer (re)started reading from {@code offset}, its stored offset. */
    long resumedFrom(long offset) {
      starts.increment();
      return offset;
    }

    /** A consumer's stream failed (the database or the journal); it restarts from its stored offset after a backoff. */
    void failed() {
      failures.increment();
    }

    /** How many times consumers on this node failed and were restarted (a metric: the database or the journal failed). */
    public long failures() {
      return failures.sum();
    }

    /**
     * How many times consumers on this node started reading from their stored offset: one per
     * running tag, plus one per restart after a failure (a metric: restarts mean the database or
     * the journal failed).
     */
    public long starts() {
      return starts.sum();
    }

    void forget(String tag) {
      byTag.remove(tag);
    }

    /** The largest lag of the last batches of this node's projections, in milliseconds (0 when none ran). */
    public long lagMillis() {
      return byTag.values().stream().mapToLong(v -> v[0]).max().orElse(0);
    }

    /** How many projection consumers (tags) run on this node. */
    public int runningTags() {
      return byTag.size();
    }

    private static final class Id extends ExtensionId<Progress> {
      static final Id INSTANCE = new Id();

      @Override
      public Progress createExtension(ActorSystem<?> system) {
        return new Progress();
      }
    }
  }
}
