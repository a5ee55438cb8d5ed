package dev.parley.gateway;

/**
 * Abuse limits ({@code parley.limits}): per connection, and per user <em>per node</em> (a user
 * connected to three nodes may hold three times the per-user allowance). A rate of 0 switches a
 * bucket off; a count of 0 means no limit.
 */
public record AbuseLimits(
    double sendsPerSecond,
    int sendsBurst,
    double typingPerSecond,
    int typingBurst,
    int subscriptionsPerConnection,
    int connectionsPerUser,
    double conversationsCreatedPerMinute,
    int conversationsCreatedBurst) {
  public AbuseLimits {
    require(sendsPerSecond >= 0 && typingPerSecond >= 0 && conversationsCreatedPerMinute >= 0, "parley.limits rates must not be negative");
    require(sendsBurst >= 1 && typingBurst >= 1 && conversationsCreatedBurst >= 1, "parley.limits bursts must be at least 1");
    require(subscriptionsPerConnection >= 0 && connectionsPerUser >= 0, "parley.limits counts must not be negative");
  }

  /** No limits at all (tests of other features, and the bench's own connections). */
  public static AbuseLimits none() {
    return new AbuseLimits(0, 1, 0, 1, 0, 0, 0, 1);
  }

  private static void require(boolean condition, String message) {
    if (!condition) throw new IllegalArgumentException(message);
  }
}
