package dev.parley.storage;

import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.function.BiFunction;
import org.apache.pekko.Done;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
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
 * The one way Parley reads the conversation journal into a read model (the inbox, the bots' work,
 * offline notifications): one offset-tracked consumer per projection tag
 * (the conversation journal's projection tags, given by the caller), each run by Cluster Sharding's ShardedDaemonProcess on
 * exactly one node of the cluster and moved with rolling deploys.
 *
 * <p>A consumer reads its stored offset, reads its tag from there, groups events into batches and
 * hands each batch to its {@link Handler}, which applies it and moves the offset in one transaction
 * (exactly once), then acts on what the batch changed once it is committed (publishes inbox
 * changes, wakes bot runners). Any failure (the database gone, a bad batch) restarts the consumer
 * with backoff from the stored offset, read again: it never rescans the journal and never skips.
 * Batches of one consumer are applied one at a time, in order.
 *
 * <p>What each feature owned a copy of before (restart, kill switch, the offset read on the
 * blocking pool, the failure log) lives here, so the read side's cost and behaviour are tuned in
 * one place.
 */
public final class TaggedProjection {

  private static final Logger log = LoggerFactory.getLogger(TaggedProjection.class);

  private TaggedProjection() {}

  public enum Command {
    STOP
  }

  /**
   * @param batchSize events per batch at most
   * @param batchWindow how long a batch waits for more events once it has one
   * @param minBackoff first restart delay after a failure
   * @param maxBackoff longest restart delay
   * @param keepAlive how often ShardedDaemonProcess checks that every consumer runs: a consumer
   *     moved off a leaving node starts on its new node within it (empty: Pekko's default, 10 s)
   */
  public record Settings(int batchSize, Duration batchWindow, Duration minBackoff, Duration maxBackoff, Optional<Duration> keepAlive) {

    public Settings(int batchSize, Duration batchWindow, Duration minBackoff, Duration maxBackoff) {
      this(batchSize, batchWindow, minBackoff, maxBackoff, Optional.empty());
    }
  }

  /**
   * One feature's consumer of one tag, created by the consumer's actor when it starts (on the node
   * ShardedDaemonProcess chose). {@link #offset} and {@link #apply} may block: they run on the
   * feature's blocking executor; {@link #committed} runs on a stream thread and must not.
   *
   * @param <R> what a committed batch leaves to do
   */
  public interface Handler<R> {

    /** The stored offset of this consumer (a journal ordering; 0 before the first batch). */
    long offset();

    /** Applies a batch and stores its last offset, in one transaction; throws when it cannot. */
    CompletionStage<R> apply(List<EventEnvelope> batch);

    /** After a batch committed: tell others what changed. */
    default void committed(R result) {}

    /** The consumer (re)started reading from its stored {@code offset}. */
    default void resumed(long offset) {}

    /** The consumer's stream failed; it restarts from its stored offset after a backoff. */
    default void failed(Throwable cause) {}

    /** The consumer stops (moved to another node, or the node stops). */
    default void stopped() {}
  }

  /**
   * Runs {@code name}'s consumers on the cluster, one per tag of {@code tags}.
   *
   * @param tags the journal's projection tags ({@code dev.parley.conversation.ProjectionTags#all})
   * @param handlers the handler of a tag, given the consumer actor's context (for children) and the tag
   */
  public static void init(
      ActorSystem<?> system,
      String name,
      List<String> tags,
      Settings settings,
      Executor blocking,
      BiFunction<ActorContext<Command>, String, Handler<?>> handlers) {
    ShardedDaemonProcessSettings processSettings = ShardedDaemonProcessSettings.create(system);
    if (settings.keepAlive().isPresent()) processSettings = processSettings.withKeepAliveInterval(settings.keepAlive().get());
    ShardedDaemonProcess.get(system)
        .init(
            Command.class,
            name,
            tags.size(),
            i -> consumer(name, tags.get(i), settings, blocking, handlers),
            processSettings,
            Optional.of(Command.STOP));
  }

  private static Behavior<Command> consumer(
      String name, String tag, Settings settings, Executor blocking, BiFunction<ActorContext<Command>, String, Handler<?>> handlers) {
    return Behaviors.setup(
        context -> {
          Handler<?> handler = handlers.apply(context, tag);
          UniqueKillSwitch running =
              source(context.getSystem(), name, tag, settings, blocking, handler)
                  .viaMat(KillSwitches.single(), Keep.right())
                  .toMat(Sink.ignore(), Keep.left())
                  .run(context.getSystem());
          log.debug("{} of {} started", name, tag);
          return Behaviors.receive(Command.class)
              .onMessageEquals(Command.STOP, Behaviors::stopped)
              .onSignal(
                  PostStop.class,
                  signal -> {
                    running.shutdown();
                    handler.stopped();
                    return Behaviors.same();
                  })
              .build();
        });
  }

  private static <R> Source<Done, ?> source(
      ActorSystem<?> system, String name, String tag, Settings settings, Executor blocking, Handler<R> handler) {
    JdbcReadJournal journal = PersistenceQuery.get(system).getReadJournalFor(JdbcReadJournal.class, JdbcReadJournal.Identifier());
    RestartSettings restart = RestartSettings.create(settings.minBackoff(), settings.maxBackoff(), 0.2);
    return RestartSource.onFailuresWithBackoff(
        restart,
        () ->
            // The offset is read again on every (re)start: the stored one is the truth.
            Source.completionStageSource(
                    CompletableFuture.supplyAsync(handler::offset, blocking)
                        .thenApply(
                            offset -> {
                              handler.resumed(offset);
                              return journal.eventsByTag(tag, Offset.sequence(offset));
                            }))
                .groupedWithin(settings.batchSize(), settings.batchWindow())
                .mapAsync(1, batch -> applied(name, tag, handler, batch))
                .map(
                    result -> {
                      handler.committed(result);
                      return Done.getInstance();
                    })
                .watchTermination(
                    (materialized, terminated) -> {
                      terminated.whenComplete(
                          (done, failure) -> {
                            if (failure != null) handler.failed(failure);
                          });
                      return materialized;
                    }));
  }

  private static <R> CompletionStage<R> applied(String name, String tag, Handler<R> handler, List<EventEnvelope> batch) {
    CompletionStage<R> applying;
    try {
      applying = handler.apply(batch);
    } catch (RuntimeException e) {
      applying = CompletableFuture.failedFuture(e);
    }
    return applying.whenComplete(
        (result, failure) -> {
          if (failure != null) {
            log.warn("{} of {} failed a batch of {} events, retrying from its offset: {}", name, tag, batch.size(), failure.toString());
          }
        });
  }
}
