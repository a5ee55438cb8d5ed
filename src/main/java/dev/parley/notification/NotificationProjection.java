package dev.parley.notification;

import dev.parley.conversation.ProjectionTags;
import dev.parley.conversation.TimelineEvent;
import dev.parley.presence.Presence;
import dev.parley.presence.PresenceEntry;
import dev.parley.storage.TaggedProjection;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import org.apache.pekko.Done;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.pattern.Patterns;
import org.apache.pekko.persistence.query.EventEnvelope;
import org.apache.pekko.persistence.query.Sequence;

/**
 * Decides who is notified of which message: a {@link TaggedProjection} (one offset-tracked
 * consumer per projection tag, on one node of the cluster, as the inbox's and the bots'): it
 * applies a batch and moves the offset in one transaction. Each consumer has its tag's
 * {@link NotificationDispatcher} as a child, woken after every batch that added work.
 *
 * <p>It runs behind the inbox projection of the same tag (it waits for the inbox's offset to pass
 * the batch): members, mutes and unread counts come from the inbox read model, so a conversation's
 * first message finds its members there, and the unread count a notification carries includes it.
 */
final class NotificationProjection {

  static final String NAME = "notification-projection";

  /** How often a batch that is ahead of the inbox projection looks again. */
  private static final Duration INBOX_WAIT = Duration.ofMillis(100);

  private NotificationProjection() {}

  static void init(
      ActorSystem<?> system, NotificationStore store, NotificationWebhook webhook, NotificationSettings settings, NotificationMetrics metrics, Executor blocking) {
    Presence presence = Presence.get(system);
    TaggedProjection.init(
        system,
        NAME,
        ProjectionTags.all(),
        new TaggedProjection.Settings(settings.batchSize(), settings.batchWindow(), settings.projectionMinBackoff(), settings.projectionMaxBackoff()),
        blocking,
        (context, tag) ->
            new Consumer(
                tag,
                context.spawn(NotificationDispatcher.create(tag, store, webhook, settings, metrics, blocking), "dispatcher"),
                context.getSystem(),
                store,
                presence,
                settings,
                metrics,
                blocking));
  }

  /** One tag's consumer, with its tag's dispatcher (a child of the consumer's actor), woken after every batch that added work. */
  private record Consumer(
      String tag,
      ActorRef<NotificationDispatcher.Command> dispatcher,
      ActorSystem<?> system,
      NotificationStore store,
      Presence presence,
      NotificationSettings settings,
      NotificationMetrics metrics,
      Executor blocking)
      implements TaggedProjection.Handler<NotificationStore.Applied> {

    @Override
    public long offset() {
      return store.offset(tag);
    }

    @Override
    public CompletionStage<NotificationStore.Applied> apply(List<EventEnvelope> batch) {
      return inboxCaughtUp(system, store, tag, batch, blocking)
          .thenApplyAsync(
              ready ->
                  store.apply(
                      tag, batch, user -> presence.of(user).status() != PresenceEntry.Status.OFFLINE, System.currentTimeMillis(), settings.window()),
              blocking);
    }

    @Override
    public void committed(NotificationStore.Applied applied) {
      metrics.muted.increment(applied.muted());
      metrics.online.increment(applied.online());
      metrics.lag(tag, System.currentTimeMillis() - applied.oldestEventTimestamp());
      if (applied.notified() > 0) dispatcher.tell(NotificationDispatcher.Wake.INSTANCE);
    }

    @Override
    public void stopped() {
      metrics.forget(tag);
    }
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
}
