package dev.parley.notification;

import dev.parley.conversation.Conversation;
import dev.parley.conversation.TimelineEvent;
import dev.parley.presence.Presence;
import dev.parley.presence.PresenceEntry;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import org.apache.pekko.Done;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.sharding.typed.ShardedDaemonProcessSettings;
import org.apache.pekko.cluster.sharding.typed.javadsl.ShardedDaemonProcess;
import org.apache.pekko.pattern.Patterns;
import org.apache.pekko.persistence.jdbc.query.javadsl.JdbcReadJournal;
import org.apache.pekko.persistence.query.EventEnvelope;
import org.apache.pekko.persistence.query.Offset;
import org.apache.pekko.persistence.query.PersistenceQuery;
import org.apache.pekko.persistence.query.Sequence;
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
 * Decides who is notified of which message: one offset-tracked consumer per projection tag, run by
 * ShardedDaemonProcess on one node of the cluster, with the same discipline as the inbox and bot
 * projections (dev.parley.inbox.InboxProjection, dev.parley.bot.BotProjection): it reads its tag
 * from the stored offset, applies a batch and moves the offset in one transaction, and restarts
 * with backoff from the stored offset after any failure. Each consumer has its tag's
 * {@link NotificationDispatcher} as a child, woken after every batch that added work.
 *
 * <p>It runs behind the inbox projection of the same tag (it waits for the inbox's offset to pass
 * the batch): members, mutes and unread counts come from the inbox read model, so a conversation's
 * first message finds its members there, and the unread count a notification carries includes it.
 */
final class NotificationProjection {

  private static final Logger log = LoggerFactory.getLogger(NotificationProjection.class);

  static final String NAME = "notification-projection";

  /** How often a batch that is ahead of the inbox projection looks again. */
  private static final Duration INBOX_WAIT = Duration.ofMillis(100);

  private NotificationProjection() {}

  enum Command {
    STOP
  }

  static void init(
      ActorSystem<?> system, NotificationStore store, NotificationWebhook webhook, NotificationSettings settings, NotificationMetrics metrics, Executor blocking) {
    ShardedDaemonProcess.get(system)
        .init(
            Command.class,
            NAME,
            Conversation.PROJECTION_TAGS,
            i -> consumer(Conversation.projectionTag(i), store, webhook, settings, metrics, blocking),
            ShardedDaemonProcessSettings.create(system),
            Optional.of(Command.STOP));
  }

  private static Behavior<Command> consumer(
      String tag, NotificationStore store, NotificationWebhook webhook, NotificationSettings settings, NotificationMetrics metrics, Executor blocking) {
    return Behaviors.setup(
        ctx -> {
          ActorSystem<?> system = ctx.getSystem();
          ActorRef<NotificationDispatcher.Command> dispatcher =
              ctx.spawn(NotificationDispatcher.create(tag, store, webhook, settings, metrics, blocking), "dispatcher");
          JdbcReadJournal journal =
              PersistenceQuery.get(system).getReadJournalFor(JdbcReadJournal.class, JdbcReadJournal.Identifier());
          Presence presence = Presence.get(system);
          Clock clock = Clock.systemUTC();
          RestartSettings restart = RestartSettings.create(settings.projectionMinBackoff(), settings.projectionMaxBackoff(), 0.2);
          Source<Done, ?> consume =
              RestartSource.onFailuresWithBackoff(
                  restart,
                  () ->
                      // The offset is read again on every (re)start: the stored one is the truth.
                      Source.completionStageSource(
                              CompletableFuture.supplyAsync(() -> store.offset(tag), blocking)
                                  .thenApply(offset -> journal.eventsByTag(tag, Offset.sequence(offset))))
                          .groupedWithin(settings.batchSize(), settings.batchWindow())
                          .mapAsync(
                              1,
                              batch ->
                                  inboxCaughtUp(system, store, tag, batch, blocking)
                                      .thenApplyAsync(
                                          ready ->
                                              applied(
                                                  store, tag, batch,
                                                  user -> presence.of(user).status() != PresenceEntry.Status.OFFLINE,
                                                  clock.millis(), settings),
                                          blocking))
                          .map(
                              applied -> {
                                metrics.muted.increment(applied.muted());
                                metrics.online.increment(applied.online());
                                metrics.lag(tag, clock.millis() - applied.oldestEventTimestamp());
                                if (applied.notified() > 0) dispatcher.tell(NotificationDispatcher.Wake.INSTANCE);
                                return Done.getInstance();
                              }));
          UniqueKillSwitch running =
              consume.viaMat(KillSwitches.single(), Keep.right()).toMat(Sink.ignore(), Keep.left()).run(system);
          log.debug("notification projection of {} started", tag);
          return Behaviors.receive(Command.class)
              .onMessageEquals(Command.STOP, Behaviors::stopped)
              .onSignal(
                  PostStop.class,
                  signal -> {
                    running.shutdown();
                    metrics.forget(tag);
                    return Behaviors.same();
                  })
              .build();
        });
  }

  /**
   * Completes once the inbox projection of {@code tag} has applied the batch's last message (a
   * batch without messages does not wait): until then its members may be missing from the inbox.
   */
  private static CompletionStage<Done> inboxCaughtUp(
      ActorSystem<?> system, NotificationStore store, String tag, List<EventEnvelope> batch, Executor blocking) {
    long needed = -1;
    for (EventEnvelope envelope : batch) {
      if (envelope.event() instanceof TimelineEvent.MessagePosted) needed = ((Sequence) envelope.offset()).value();
    }
    if (needed < 0) return CompletableFuture.completedFuture(Done.getInstance());
    long ordering = needed;
    return CompletableFuture.supplyAsync(() -> store.inboxOffset(tag) >= ordering, blocking)
        .thenCompose(
            caughtUp ->
                caughtUp
                    ? CompletableFuture.completedFuture(Done.getInstance())
                    : Patterns.after(
                        INBOX_WAIT, system.classicSystem().scheduler(), system.executionContext(), () -> inboxCaughtUp(system, store, tag, batch, blocking)));
  }

  private static NotificationStore.Applied applied(
      NotificationStore store, String tag, List<EventEnvelope> batch, java.util.function.Predicate<String> connected, long now, NotificationSettings settings) {
    try {
      return store.apply(tag, batch, connected, now, settings.window());
    } catch (RuntimeException e) {
      log.warn("notification projection of {} failed a batch of {} events, retrying from its offset: {}", tag, batch.size(), e.toString());
      throw e;
    }
  }
}
