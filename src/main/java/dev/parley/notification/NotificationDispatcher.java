package dev.parley.notification;

import dev.parley.presence.PresenceEntry;
import dev.parley.presence.Presence;
import java.time.Clock;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.concurrent.ThreadLocalRandom;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Sends one projection tag's due notifications: one actor per tag, next to that tag's projection
 * consumer (so exactly one node sends a row). A round reads the due rows, sends them (at most
 * {@code parallelism} at once), and records each outcome; then the actor sleeps until the next row
 * is due (a timer) or the projection adds rows (a {@link Wake}). Nothing here is on a
 * conversation's path: sends were acknowledged long before.
 *
 * <p>A due row is sent only if the member is still offline, still a member and not muted; else
 * its messages are discarded. A failed attempt is retried with exponential backoff until
 * {@code give-up-after} from its first message; the row keeps collecting messages meanwhile, so
 * the notification that finally goes out carries them all.
 */
final class NotificationDispatcher {

  private static final Logger log = LoggerFactory.getLogger(NotificationDispatcher.class);

  sealed interface Command {}

  /** Rows may be due: run a round now (or right after the running one). */
  enum Wake implements Command {
    INSTANCE
  }

  private record RoundDone(Optional<Long> nextDue, boolean full, Throwable failure) implements Command {}

  private record RoundResult(Optional<Long> nextDue, boolean full) {}

  private enum Outcome {
    SENT,
    FAILED,
    DROPPED,
    DISCARDED
  }

  private final ActorContext<Command> ctx;
  private final TimerScheduler<Command> timers;
  private final String tag;
  private final NotificationStore store;
  private final NotificationWebhook webhook;
  private final NotificationSettings settings;
  private final NotificationMetrics metrics;
  private final Executor blocking;
  private final Clock clock = Clock.systemUTC();
  /** Used from the round's stream threads: captured here, not looked up through the (actor-confined) context. */
  private final Presence presence;
  private final ActorSystem<?> system;
  private boolean running;
  private boolean again;

  private NotificationDispatcher(
      ActorContext<Command> ctx,
      TimerScheduler<Command> timers,
      String tag,
      NotificationStore store,
      NotificationWebhook webhook,
      NotificationSettings settings,
      NotificationMetrics metrics,
      Executor blocking) {
    this.ctx = ctx;
    this.timers = timers;
    this.tag = tag;
    this.store = store;
    this.webhook = webhook;
    this.settings = settings;
    this.metrics = metrics;
    this.blocking = blocking;
    this.presence = Presence.get(ctx.getSystem());
    this.system = ctx.getSystem();
  }

  /** Starts with a round: rows left due by a stopped node (a restart, a moved tag) go out at once. */
  static Behavior<Command> create(
      String tag, NotificationStore store, NotificationWebhook webhook, NotificationSettings settings, NotificationMetrics metrics, Executor blocking) {
    return Behaviors.setup(
        ctx ->
            Behaviors.withTimers(
                timers -> {
                  NotificationDispatcher dispatcher = new NotificationDispatcher(ctx, timers, tag, store, webhook, settings, metrics, blocking);
                  dispatcher.startRound();
                  return dispatcher.behavior();
                }));
  }

  private Behavior<Command> behavior() {
    return Behaviors.receive(Command.class)
        .onMessageEquals(Wake.INSTANCE, this::onWake)
        .onMessage(RoundDone.class, this::onRoundDone)
        .build();
  }

  private Behavior<Command> onWake() {
    if (running) again = true;
    else startRound();
    return Behaviors.same();
  }

  private Behavior<Command> onRoundDone(RoundDone done) {
    running = false;
    if (done.failure() != null) {
      // The database is away: try again later; the rows are safe where they are.
      log.warn("notification round of {} failed, retrying in {}: {}", tag, settings.projectionMinBackoff(), done.failure().toString());
      timers.startSingleTimer(Wake.INSTANCE, Wake.INSTANCE, settings.projectionMinBackoff());
    } else if (again || done.full()) {
      startRound();
    } else if (done.nextDue().isPresent()) {
      long delay = Math.max(0, done.nextDue().get() - clock.millis());
      timers.startSingleTimer(Wake.INSTANCE, Wake.INSTANCE, Duration.ofMillis(delay));
    }
    return Behaviors.same();
  }

  private void startRound() {
    running = true;
    again = false;
    ctx.pipeToSelf(round(), (result, failure) -> failure == null ? new RoundDone(result.nextDue(), result.full(), null) : new RoundDone(Optional.empty(), false, failure));
  }

  private CompletionStage<RoundResult> round() {
    return CompletableFuture.supplyAsync(
            () -> {
              long now = clock.millis();
              store.forgetQuiet(tag, now, settings.window());
              return store.due(tag, now, settings.roundSize());
            },
            blocking)
        .thenCompose(
            rows ->
                Source.from(rows)
                    .mapAsyncUnordered(settings.parallelism(), this::deliver)
                    .runWith(Sink.<Outcome>ignore(), system)
                    .thenApplyAsync(done -> new RoundResult(store.nextDue(tag), rows.size() == settings.roundSize()), blocking));
  }

  /** One due row: discarded, sent, or failed (retried later, or dropped when too old). */
  private CompletionStage<Outcome> deliver(NotificationStore.Due due) {
    if (!due.member() || due.muted() || connected(due.user())) {
      return CompletableFuture.supplyAsync(
          () -> {
            store.settled(due, null, clock.millis(), settings.window());
            if (due.muted()) metrics.muted.increment(due.messages());
            else if (due.member()) metrics.online.increment(due.messages());
            return Outcome.DISCARDED;
          },
          blocking);
    }
    return webhook
        .post(due)
        .thenApplyAsync(
            accepted -> {
              long now = clock.millis();
              if (accepted) {
                store.settled(due, now, now, settings.window());
                metrics.sent.increment();
                metrics.coalesced.increment(due.messages() - 1);
                return Outcome.SENT;
              }
              metrics.failed.increment();
              if (now - due.firstAt() >= settings.giveUpAfter().toMillis()) {
                store.settled(due, null, now, settings.window());
                metrics.dropped.increment();
                log.warn(
                    "notification of user {} for conversation {} dropped after {} failed attempts",
                    due.user(), due.conversation(), due.attempts() + 1);
                return Outcome.DROPPED;
              }
              Duration backoff = settings.backoff(due.attempts() + 1, ThreadLocalRandom.current().nextDouble());
              store.failed(due, now + backoff.toMillis());
              return Outcome.FAILED;
            },
            blocking);
  }

  private boolean connected(String user) {
    return presence.of(user).status() != PresenceEntry.Status.OFFLINE;
  }
}
