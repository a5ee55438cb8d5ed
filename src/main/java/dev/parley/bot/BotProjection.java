package dev.parley.bot;

import dev.parley.ParleyConfig;
import dev.parley.conversation.Conversation;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import org.apache.pekko.Done;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.PostStop;
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
 * Records which bot has work in which conversation, and wakes its runner: one offset-tracked
 * consumer per projection tag (as dev.parley.inbox.InboxProjection), run by ShardedDaemonProcess.
 *
 * <p>Sharded entities only run when messaged and remember-entities is off (a moved shard would
 * restart all of them at once), so something durable must wake runners: this projection after
 * every batch, and {@link BotSweeper} for a wake lost with a node. The conversation's own push
 * ({@link BotWakeUps}) is usually first; this is what makes the wake durable. A batch's progress rows and the
 * tag's offset are written in one transaction; wakes are sent after the commit.
 */
public final class BotProjection {

  private static final Logger log = LoggerFactory.getLogger(BotProjection.class);

  public static final String NAME = "bot-projection";

  private BotProjection() {}

  enum Command {
    STOP
  }

  /** The offsets are kept apart from the inbox's: "bots/conversations-3". */
  static String offsetTag(String tag) {
    return "bots/" + tag;
  }

  static void init(ActorSystem<?> system, BotStore store, Executor blocking, Bots bots, ParleyConfig.BotRunnerSettings settings) {
    ShardedDaemonProcess.get(system)
        .init(
            Command.class,
            NAME,
            Conversation.PROJECTION_TAGS,
            i -> consumer(Conversation.projectionTag(i), store, blocking, bots, settings),
            // Checked every keep-alive-interval: a consumer moved off a leaving node starts on its new
            // node within it (Pekko's 10 s default was a large part of a deploy's bot silence, issue 17).
            ShardedDaemonProcessSettings.create(system).withKeepAliveInterval(settings.projectionKeepAlive()),
            Optional.of(Command.STOP));
  }

  private static Behavior<Command> consumer(
      String tag, BotStore store, Executor blocking, Bots bots, ParleyConfig.BotRunnerSettings settings) {
    return Behaviors.setup(
        ctx -> {
          ActorSystem<?> system = ctx.getSystem();
          JdbcReadJournal journal =
              PersistenceQuery.get(system).getReadJournalFor(JdbcReadJournal.class, JdbcReadJournal.Identifier());
          String offsetTag = offsetTag(tag);
          RestartSettings restart = RestartSettings.create(settings.minBackoff(), settings.maxBackoff(), 0.2);
          Source<Done, ?> consume =
              RestartSource.onFailuresWithBackoff(
                  restart,
                  () ->
                      Source.completionStageSource(
                              CompletableFuture.supplyAsync(() -> store.offset(offsetTag), blocking)
                                  .thenApply(offset -> journal.eventsByTag(tag, Offset.sequence(offset))))
                          .groupedWithin(settings.batchSize(), settings.batchWindow())
                          .mapAsync(1, batch -> CompletableFuture.supplyAsync(() -> applied(store, offsetTag, batch, bots), blocking))
                          .map(
                              wakes -> {
                                wakes.forEach(bots::wake);
                                return Done.getInstance();
                              }));
          UniqueKillSwitch running =
              consume.viaMat(KillSwitches.single(), Keep.right()).toMat(Sink.ignore(), Keep.left()).run(system);
          log.debug("bot projection of {} started", tag);
          return Behaviors.receive(Command.class)
              .onMessageEquals(Command.STOP, Behaviors::stopped)
              .onSignal(
                  PostStop.class,
                  signal -> {
                    running.shutdown();
                    return Behaviors.same();
                  })
              .build();
        });
  }

  private static List<BotStore.Wake> applied(BotStore store, String offsetTag, List<EventEnvelope> batch, Bots bots) {
    try {
      return store.apply(offsetTag, batch, bots.registeredNames());
    } catch (RuntimeException e) {
      log.warn("bot projection of {} failed a batch of {} events, retrying from its offset: {}", offsetTag, batch.size(), e.toString());
      throw e;
    }
  }
}
