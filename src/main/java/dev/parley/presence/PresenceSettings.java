package dev.parley.presence;

import com.typesafe.config.Config;
import java.time.Duration;

/**
 * {@code parley.presence} (configuration.md): read once at start-up.
 *
 * @param batchInterval at most one presence frame per connection per interval
 * @param maxUsersPerFrame users in one frame; more wait for the next interval
 * @param writeInterval how often this node's local changes are sent to the other nodes
 * @param unreachableGrace a node unreachable this long has its users shown offline
 * @param lastSeenRetention how long an offline user's lastSeen is kept (in memory only)
 * @param maxWatchedUsers users one connection may name in a presence_subscribe
 * @param maxPage members in one presence page
 * @param messageBytes estimated bytes ({@link PresenceSync#ofEntry}) of one message between hubs; a round or a snapshot that
 *     holds more is sent as several messages
 */
public record PresenceSettings(
    Duration batchInterval,
    int maxUsersPerFrame,
    Duration writeInterval,
    Duration unreachableGrace,
    Duration lastSeenRetention,
    int maxWatchedUsers,
    int maxPage,
    int messageBytes) {

  /** Artery's default {@code pekko.remote.artery.advanced.maximum-frame-size}. */
  static final long DEFAULT_FRAME_BYTES = 256 * 1024;

  public PresenceSettings {
    if (batchInterval.toMillis() < 10) throw new IllegalArgumentException("parley.presence.batch-interval must be at least 10ms");
    if (writeInterval.toMillis() < 10) throw new IllegalArgumentException("parley.presence.write-interval must be at least 10ms");
    if (maxUsersPerFrame < 1) throw new IllegalArgumentException("parley.presence.max-users-per-frame must be at least 1");
    if (maxWatchedUsers < 1) throw new IllegalArgumentException("parley.presence.max-watched-users must be at least 1");
    if (maxPage < 1) throw new IllegalArgumentException("parley.presence.max-page must be at least 1");
    if (messageBytes < PresenceSync.MESSAGE_BYTES + PresenceSync.MAX_ENTRY_BYTES) {
      throw new IllegalArgumentException(
          "a presence message must fit one entry of the longest user id ("
              + (PresenceSync.MESSAGE_BYTES + PresenceSync.MAX_ENTRY_BYTES)
              + " bytes): raise pekko.remote.artery.advanced.maximum-frame-size or parley.presence.message-share-of-frame");
    }
  }

  public static final PresenceSettings DEFAULTS =
      new PresenceSettings(
          Duration.ofSeconds(1),
          200,
          Duration.ofMillis(100),
          Duration.ofSeconds(2),
          Duration.ofHours(24),
          200,
          500,
          messageBytes(DEFAULT_FRAME_BYTES, 0.5));

  /**
   * The bytes one message between hubs may hold: {@code share} of Artery's maximum frame size
   * (Artery drops a larger message, and the peer would then ask for a snapshot). The other part
   * of the frame is margin for the estimate.
   */
  static int messageBytes(long frameBytes, double share) {
    return (int) Math.min(Integer.MAX_VALUE, (long) (frameBytes * share));
  }

  static long frameBytes(Config root) {
    String path = "pekko.remote.artery.advanced.maximum-frame-size";
    return root.hasPath(path) ? root.getBytes(path) : DEFAULT_FRAME_BYTES;
  }

  /** {@code parley.presence} of {@code root}, or the defaults for a configuration without it (unit tests). */
  public static PresenceSettings from(Config root) {
    if (!root.hasPath("parley.presence")) return DEFAULTS;
    Config c = root.getConfig("parley.presence");
    double share = c.getDouble("message-share-of-frame");
    if (share <= 0 || share > 1) throw new IllegalArgumentException("parley.presence.message-share-of-frame must be in (0, 1]");
    return new PresenceSettings(
        c.getDuration("batch-interval"),
        c.getInt("max-users-per-frame"),
        c.getDuration("write-interval"),
        c.getDuration("unreachable-grace"),
        c.getDuration("last-seen-retention"),
        c.getInt("max-watched-users"),
        c.getInt("max-page"),
        messageBytes(frameBytes(root), share));
  }
}
