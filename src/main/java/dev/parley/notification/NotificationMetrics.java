package dev.parley.notification;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The feature's meters (operations.md, "Offline notifications"), registered only when it is on.
 * Message counts tell what happened to each (member, message) pair the projection saw; {@code sent}
 * and {@code failed} count HTTP attempts.
 */
final class NotificationMetrics {

  final Counter sent;
  final Counter failed;
  final Counter dropped;
  final Counter coalesced;
  final Counter muted;
  final Counter online;
  /** Per tag running here: now minus the journal timestamp of the oldest event of its last batch. */
  private final Map<String, Long> lagByTag = new ConcurrentHashMap<>();

  NotificationMetrics(MeterRegistry registry) {
    sent = Counter.builder("parley.notifications.sent").description("notifications the receiver accepted (2xx)").register(registry);
    failed =
        Counter.builder("parley.notifications.failed")
            .description("notification attempts that failed (error status, timeout, no connection); each is retried with backoff")
            .register(registry);
    dropped =
        Counter.builder("parley.notifications.dropped")
            .description("notifications given up after give-up-after of failed attempts")
            .register(registry);
    coalesced =
        Counter.builder("parley.notifications.coalesced")
            .description("messages that rode in another message's notification (one notification per member per window)")
            .register(registry);
    muted =
        Counter.builder("parley.notifications.muted")
            .description("messages not notified to a member because the member muted the conversation")
            .register(registry);
    online =
        Counter.builder("parley.notifications.online")
            .description("messages not notified to a member because the member had an open connection")
            .register(registry);
    Gauge.builder("parley.notifications.lag", this, m -> m.lagMillis() / 1000.0)
        .description("how far the notification projection of this node is behind the journal")
        .baseUnit("seconds")
        .register(registry);
  }

  void lag(String tag, long millis) {
    lagByTag.put(tag, Math.max(0, millis));
  }

  void forget(String tag) {
    lagByTag.remove(tag);
  }

  long lagMillis() {
    return lagByTag.values().stream().mapToLong(Long::longValue).max().orElse(0);
  }
}
