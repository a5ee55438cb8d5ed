package dev.parley.notification;

import com.typesafe.config.Config;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Optional;

/**
 * {@code parley.notifications} (configuration.md, "Offline notifications"): read once at start-up.
 * No URL: the feature is off and nothing of it runs.
 *
 * @param url where notifications are POSTed (empty: off)
 * @param secret the HMAC-SHA256 key of the signature header (at least 16 bytes when on)
 * @param window at most one notification per member per conversation per window
 * @param includeText whether the payload carries the newest message's text (else sender and seq only)
 * @param requestTimeout longest wait for the receiver's answer (and for the connection)
 * @param minBackoff first retry delay after a failed attempt; doubles per attempt, with jitter...
 * @param maxBackoff ...up to this
 * @param giveUpAfter a notification still failing this long after its first message is dropped
 * @param parallelism notifications in flight at once per projection tag
 * @param roundSize due notifications read per query
 * @param poolSize connections of the feature's own database pool
 * @param batchSize journal events applied per projection transaction
 * @param batchWindow how long a projection batch waits to fill
 * @param projectionMinBackoff a failed projection restarts from its stored offset after this...
 * @param projectionMaxBackoff ...growing to this
 */
public record NotificationSettings(
    Optional<URI> url,
    String secret,
    Duration window,
    boolean includeText,
    Duration requestTimeout,
    Duration minBackoff,
    Duration maxBackoff,
    Duration giveUpAfter,
    int parallelism,
    int roundSize,
    int poolSize,
    int batchSize,
    Duration batchWindow,
    Duration projectionMinBackoff,
    Duration projectionMaxBackoff) {

  public NotificationSettings {
    if (url.isPresent()) {
      String scheme = url.get().getScheme();
      if (!"http".equals(scheme) && !"https".equals(scheme)) {
        throw new IllegalArgumentException("parley.notifications.url must be an http:// or https:// URL");
      }
      if (secret.getBytes(StandardCharsets.UTF_8).length < 16) {
        throw new IllegalArgumentException("parley.notifications.secret (PARLEY_NOTIFICATIONS_SECRET) must be at least 16 bytes when a url is set");
      }
    }
    if (window.isNegative()) throw new IllegalArgumentException("parley.notifications.window must not be negative");
    if (minBackoff.toMillis() < 1 || maxBackoff.compareTo(minBackoff) < 0) {
      throw new IllegalArgumentException("parley.notifications: min-backoff must be positive and at most max-backoff");
    }
    if (parallelism < 1) throw new IllegalArgumentException("parley.notifications.parallelism must be at least 1");
    if (roundSize < 1) throw new IllegalArgumentException("parley.notifications.round-size must be at least 1");
    if (poolSize < 1) throw new IllegalArgumentException("parley.notifications.pool-size must be at least 1");
    if (batchSize < 1) throw new IllegalArgumentException("parley.notifications.projection.batch-size must be at least 1");
  }

  public boolean enabled() {
    return url.isPresent();
  }

  /** {@code parley.notifications} of {@code root}; off for a configuration without it (unit tests). */
  public static NotificationSettings from(Config root) {
    if (!root.hasPath("parley.notifications")) return OFF;
    Config c = root.getConfig("parley.notifications");
    String url = c.getString("url").trim();
    URI uri;
    try {
      uri = url.isEmpty() ? null : URI.create(url);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("parley.notifications.url (PARLEY_NOTIFICATIONS_URL) is not a URL");
    }
    return new NotificationSettings(
        Optional.ofNullable(uri),
        c.getString("secret"),
        c.getDuration("window"),
        c.getBoolean("include-text"),
        c.getDuration("request-timeout"),
        c.getDuration("min-backoff"),
        c.getDuration("max-backoff"),
        c.getDuration("give-up-after"),
        c.getInt("parallelism"),
        c.getInt("round-size"),
        c.getInt("pool-size"),
        c.getInt("projection.batch-size"),
        c.getDuration("projection.batch-window"),
        c.getDuration("projection.min-backoff"),
        c.getDuration("projection.max-backoff"));
  }

  static final NotificationSettings OFF =
      new NotificationSettings(
          Optional.empty(), "", Duration.ofSeconds(30), true, Duration.ofSeconds(5), Duration.ofSeconds(1), Duration.ofMinutes(5),
          Duration.ofHours(1), 4, 100, 2, 200, Duration.ofMillis(20), Duration.ofMillis(500), Duration.ofSeconds(10));

  /** The delay before retry number {@code attempts} (1: the first retry): doubling, capped, with up to 20 % jitter. */
  Duration backoff(int attempts, double random) {
    long min = minBackoff.toMillis();
    long capped = Math.min(maxBackoff.toMillis(), min << Math.min(Math.max(attempts - 1, 0), 30));
    return Duration.ofMillis((long) (capped * (1 + 0.2 * random)));
  }
}
