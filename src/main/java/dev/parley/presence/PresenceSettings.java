package dev.parley.presence;

import com.typesafe.config.Config;
import java.time.Duration;

/**
 * {@code parley.presence} (configuration.md): read once at start-up.
 *
 * @param batchInterval at most one presence frame per connection per interval
 * @param maxUsersPerFrame users in one frame; more wait for the next interval
 * @param writeInterval how often this node's local changes are written to Distributed Data
 * @param unreachableGrace a node unreachable this long has its users shown offline
 * @param lastSeenRetention how long an offline user's lastSeen is kept (in memory only)
 * @param maxWatchedUsers users one connection may name in a presence_subscribe
 * @param maxPage members in one presence page
 * @param keys Distributed Data keys the cluster's presence is spread over ({@link PresenceKeys}); the same on every node
 */
public record PresenceSettings(
    Duration batchInterval,
    int maxUsersPerFrame,
    Duration writeInterval,
    Duration unreachableGrace,
    Duration lastSeenRetention,
    int maxWatchedUsers,
    int maxPage,
    int keys) {

  public PresenceSettings {
    if (batchInterval.toMillis() < 10) throw new IllegalArgumentException("parley.presence.batch-interval must be at least 10ms");
    if (writeInterval.toMillis() < 10) throw new IllegalArgumentException("parley.presence.write-interval must be at least 10ms");
    if (maxUsersPerFrame < 1) throw new IllegalArgumentException("parley.presence.max-users-per-frame must be at least 1");
    if (maxWatchedUsers < 1) throw new IllegalArgumentException("parley.presence.max-watched-users must be at least 1");
    if (maxPage < 1) throw new IllegalArgumentException("parley.presence.max-page must be at least 1");
    if (keys < 1 || keys > 10_000) throw new IllegalArgumentException("parley.presence.keys must be between 1 and 10000");
  }

  public static final PresenceSettings DEFAULTS =
      new PresenceSettings(Duration.ofSeconds(1), 200, Duration.ofMillis(100), Duration.ofSeconds(2), Duration.ofHours(24), 200, 500, 1000);

  /** {@code parley.presence} of {@code root}, or the defaults for a configuration without it (unit tests). */
  public static PresenceSettings from(Config root) {
    if (!root.hasPath("parley.presence")) return DEFAULTS;
    Config c = root.getConfig("parley.presence");
    return new PresenceSettings(
        c.getDuration("batch-interval"),
        c.getInt("max-users-per-frame"),
        c.getDuration("write-interval"),
        c.getDuration("unreachable-grace"),
        c.getDuration("last-seen-retention"),
        c.getInt("max-watched-users"),
        c.getInt("max-page"),
        c.getInt("keys"));
  }
}
