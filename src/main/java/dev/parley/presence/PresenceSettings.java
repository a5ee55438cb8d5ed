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
 * @param writeRoundBytes estimated delta bytes ({@link DeltaSize}) one write round may produce; the rest waits for the next round
 */
public record PresenceSettings(
    Duration batchInterval,
    int maxUsersPerFrame,
    Duration writeInterval,
    Duration unreachableGrace,
    Duration lastSeenRetention,
    int maxWatchedUsers,
    int maxPage,
    int keys,
    int writeRoundBytes) {

  /** Artery's default {@code pekko.remote.artery.advanced.maximum-frame-size}. */
  static final long DEFAULT_FRAME_BYTES = 256 * 1024;

  /** Distributed Data's default delta propagation interval: its default gossip-interval (2 s) / 5. */
  static final Duration DEFAULT_DELTA_INTERVAL = Duration.ofMillis(400);

  public PresenceSettings {
    if (batchInterval.toMillis() < 10) throw new IllegalArgumentException("parley.presence.batch-interval must be at least 10ms");
    if (writeInterval.toMillis() < 10) throw new IllegalArgumentException("parley.presence.write-interval must be at least 10ms");
    if (maxUsersPerFrame < 1) throw new IllegalArgumentException("parley.presence.max-users-per-frame must be at least 1");
    if (maxWatchedUsers < 1) throw new IllegalArgumentException("parley.presence.max-watched-users must be at least 1");
    if (maxPage < 1) throw new IllegalArgumentException("parley.presence.max-page must be at least 1");
    if (keys < 1 || keys > 10_000) throw new IllegalArgumentException("parley.presence.keys must be between 1 and 10000");
    if (writeRoundBytes < DeltaSize.MAX_ENTRY_BYTES) {
      throw new IllegalArgumentException(
          "a presence write round must fit one entry of the longest user id ("
              + DeltaSize.MAX_ENTRY_BYTES
              + " bytes): raise pekko.remote.artery.advanced.maximum-frame-size or parley.presence.delta-share-of-frame");
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
          1000,
          writeRoundBytes(DEFAULT_FRAME_BYTES, 0.5, DEFAULT_DELTA_INTERVAL, Duration.ofMillis(100)));

  /**
   * The bytes of deltas one write round may produce so that every delta tick's message stays
   * under {@code share} of the frame. Pekko 1.2.1's Replicator sends a peer the deltas of every key
   * changed since its last delta tick in ONE {@code DeltaPropagation}, with no size cap
   * (Replicator.receiveDeltaPropagationTick: "TODO split it to several DeltaPropagation if too
   * many entries"); Artery drops a message over its maximum frame size, and the receiver then
   * skips that peer's later deltas of the same keys (causal delivery) until gossip repairs them.
   * A tick collects up to ceil(tick / write-interval) rounds, so each gets that part of the share.
   */
  static int writeRoundBytes(long frameBytes, double share, Duration deltaInterval, Duration writeInterval) {
    long roundsPerTick = Math.max(1, (deltaInterval.toMillis() + writeInterval.toMillis() - 1) / writeInterval.toMillis());
    return (int) Math.min(Integer.MAX_VALUE, (long) (frameBytes * share) / roundsPerTick);
  }

  /**
   * Distributed Data's delta propagation interval as its Replicator derives it: gossip-interval / 5,
   * at least 200 ms (Pekko 1.2.1, Replicator: {@code (gossipInterval / gossipIntervalDivisor).max(200.millis)}).
   */
  static Duration deltaInterval(Config root) {
    if (!root.hasPath("pekko.cluster.distributed-data.gossip-interval")) return DEFAULT_DELTA_INTERVAL;
    Duration gossip = root.getDuration("pekko.cluster.distributed-data.gossip-interval");
    Duration tick = gossip.dividedBy(5);
    return tick.compareTo(Duration.ofMillis(200)) < 0 ? Duration.ofMillis(200) : tick;
  }

  static long frameBytes(Config root) {
    String path = "pekko.remote.artery.advanced.maximum-frame-size";
    return root.hasPath(path) ? root.getBytes(path) : DEFAULT_FRAME_BYTES;
  }

  /** {@code parley.presence} of {@code root}, or the defaults for a configuration without it (unit tests). */
  public static PresenceSettings from(Config root) {
    if (!root.hasPath("parley.presence")) return DEFAULTS;
    Config c = root.getConfig("parley.presence");
    double share = c.getDouble("delta-share-of-frame");
    if (share <= 0 || share > 1) throw new IllegalArgumentException("parley.presence.delta-share-of-frame must be in (0, 1]");
    Duration writeInterval = c.getDuration("write-interval");
    return new PresenceSettings(
        c.getDuration("batch-interval"),
        c.getInt("max-users-per-frame"),
        writeInterval,
        c.getDuration("unreachable-grace"),
        c.getDuration("last-seen-retention"),
        c.getInt("max-watched-users"),
        c.getInt("max-page"),
        c.getInt("keys"),
        writeRoundBytes(frameBytes(root), share, deltaInterval(root), writeInterval));
  }
}
