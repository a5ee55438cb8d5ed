package dev.parley.inbox;

import dev.parley.conversation.ProjectionTags;
import dev.parley.ops.Metrics;
import dev.parley.storage.TaggedProjection;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Extension;
import org.apache.pekko.actor.typed.ExtensionId;
import org.apache.pekko.actor.typed.pubsub.Topic;
import org.apache.pekko.persistence.query.EventEnvelope;

/**
 * Feeds the inbox read model from the conversation journal, through a {@link TaggedProjection}
 * (one offset-tracked consumer per projection tag, on one node of the cluster): each batch is
 * applied in one transaction with the new offset (exactly once), and then what changed is
 * published to every node ({@link Inbox#TOPIC}).
 *
 * <p>Conversations do not wait for it: fan-out to members is the projection's work, off the
 * conversation's path, and a batch costs a few statements whatever its number of messages,
 * conversations and members ({@link InboxEventWriter}).
 */
public final class InboxProjection {

  public static final String NAME = "inbox-projection";

  private InboxProjection() {}

  public static void init(
      ActorSystem<?> system,
      InboxStore store,
      Executor blocking,
      ActorRef<Topic.Command<Inbox.Change>> changes,
      InboxSettings settings) {
    Gauge.builder("parley.inbox.lag", Progress.get(system), progress -> progress.lagMillis() / 1000.0)
        .description("how far the inbox projection of this node is behind the journal")
        .baseUnit("seconds")
        .register(Metrics.get(system).registry());
    FunctionCounter.builder("parley.inbox.projection.failures", Progress.get(system), Progress::failures)
        .description("inbox projection consumers of this node that failed (database or journal) and restart from their stored offset")
        .register(Metrics.get(system).registry());
    Progress progress = Progress.get(system);
    TaggedProjection.init(
        system,
        NAME,
        ProjectionTags.all(),
        new TaggedProjection.Settings(settings.batchSize(), settings.batchWindow(), settings.minBackoff(), settings.maxBackoff()),
        blocking,
        (context, tag) -> new Consumer(tag, store, blocking, changes, progress));
  }

  /** One tag's consumer: applies a batch to the read model, then publishes what changed to every node. */
  private static final class Consumer implements TaggedProjection.Handler<Consumer.Applied> {
    private record Applied(List<Inbox.Change> changes, long oldestEventTimestamp, long newestEventTimestamp) {}

    private final String tag;
    private final InboxStore store;
    private final Executor blocking;
    private final ActorRef<Topic.Command<Inbox.Change>> changes;
    private final Progress progress;

    Consumer(String tag, InboxStore store, Executor blocking, ActorRef<Topic.Command<Inbox.Change>> changes, Progress progress) {
      this.tag = tag;
      this.store = store;
      this.blocking = blocking;
      this.changes = changes;
      this.progress = progress;
      progress.started(tag);
    }

    @Override
    public long offset() {
      return store.offset(tag);
    }

    @Override
    public void resumed(long offset) {
      progress.resumedFrom(offset);
    }

    @Override
    public CompletionStage<Applied> apply(List<EventEnvelope> batch) {
      return CompletableFuture.supplyAsync(
          () -> new Applied(store.apply(tag, batch), batch.get(0).timestamp(), batch.get(batch.size() - 1).timestamp()), blocking);
    }

    @Override
    public void committed(Applied applied) {
      applied.changes().forEach(change -> changes.tell(Topic.publish(change)));
      progress.record(tag, applied.newestEventTimestamp(), applied.oldestEventTimestamp());
    }

    @Override
    public void failed(Throwable cause) {
      progress.failed();
    }

    @Override
    public void stopped() {
      progress.forget(tag);
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
    void resumedFrom(long offset) {
      starts.increment();
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
