package dev.parley.gateway;

import dev.parley.cluster.AdmissionControl;
import java.util.OptionalLong;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Per-user limits of this node ({@code parley.limits}): open websocket connections and
 * conversations created per minute. They are counted per node, not cluster-wide: a user connected
 * to several nodes gets each node's allowance (a cluster-wide count would put a shared counter on
 * every connect and create).
 */
public final class UserLimits {

  /** Buckets of users who created nothing lately are forgotten once this many users are tracked. */
  private static final int TRACKED_CREATORS = 10_000;

  private final AbuseLimits limits;
  private final ConcurrentHashMap<String, Integer> connections = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<String, Creator> creators = new ConcurrentHashMap<>();

  public UserLimits(AbuseLimits limits) {
    this.limits = limits;
  }

  public AbuseLimits limits() {
    return limits;
  }

  /** Takes one of the user's connection slots; false when all are in use. Pair with {@link #connectionClosed}. */
  public boolean tryConnect(String user) {
    int max = limits.connectionsPerUser();
    boolean[] admitted = {false};
    connections.compute(
        user,
        (u, open) -> {
          int now = open == null ? 0 : open;
          if (max > 0 && now >= max) return open;
          admitted[0] = true;
          return now + 1;
        });
    return admitted[0];
  }

  public void connectionClosed(String user) {
    connections.computeIfPresent(user, (u, open) -> open <= 1 ? null : open - 1);
  }

  public int openConnections(String user) {
    return connections.getOrDefault(user, 0);
  }

  /** Empty when the user may create a conversation now; otherwise milliseconds to wait. */
  public OptionalLong tryCreateConversation(String user) {
    if (limits.conversationsCreatedPerMinute() <= 0) return OptionalLong.empty();
    if (creators.size() > TRACKED_CREATORS) creators.values().removeIf(Creator::idle);
    Creator creator = creators.computeIfAbsent(user, u -> new Creator(limits));
    creator.lastUsed = System.nanoTime();
    return creator.bucket.tryAdmit();
  }

  private static final class Creator {
    final AdmissionControl bucket;
    final long refillNanos;
    volatile long lastUsed = System.nanoTime();

    Creator(AbuseLimits limits) {
      double perSecond = limits.conversationsCreatedPerMinute() / 60.0;
      bucket = new AdmissionControl(new AdmissionControl.Settings(perSecond, limits.conversationsCreatedBurst()));
      refillNanos = (long) (limits.conversationsCreatedBurst() / perSecond * 1e9);
    }

    /** Unused long enough that its bucket is full again: forgetting it changes nothing. */
    boolean idle() {
      return System.nanoTime() - lastUsed > refillNanos;
    }
  }
}
