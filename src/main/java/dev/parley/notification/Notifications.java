package dev.parley.notification;

import dev.parley.ops.Metrics;
import dev.parley.storage.Storage;
import java.time.Duration;
import java.util.concurrent.Executor;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Offline notifications (issue 21), wired: started by the node when {@code parley.notifications.url}
 * is set, and then on every node (the projection's consumers spread over the cluster). Without a
 * URL nothing of it exists: no pool, no consumer, no meter.
 */
public final class Notifications {

  private static final Logger log = LoggerFactory.getLogger(Notifications.class);

  private Notifications() {}

  /** Starts the feature if {@code settings} enable it; true when it did. */
  public static boolean start(ActorSystem<?> system, NotificationSettings settings, Storage storage, Duration connectionTimeout) {
    if (!settings.enabled()) return false;
    NotificationStore store = NotificationStore.open(storage, settings.poolSize(), connectionTimeout);
    system.getWhenTerminated().thenRun(store::close);
    // Blocking JDBC of the feature runs on Pekko's blocking-io dispatcher, never on actor threads.
    Executor blocking = system.dispatchers().lookup(DispatcherSelector.blocking());
    NotificationMetrics metrics = new NotificationMetrics(Metrics.get(system).registry());
    NotificationProjection.init(system, store, new NotificationWebhook(settings), settings, metrics, blocking);
    log.info(
        "offline notifications on: members without an open connection are notified at {} (window {})",
        settings.url().get().getHost(), settings.window());
    return true;
  }
}
