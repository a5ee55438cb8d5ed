package dev.parley.inbox;

import java.time.Duration;

/**
 * The inbox read model: its own connection pool, page size bound, and how its projection batches
 * journal events and backs off after a failure.
 */
public record InboxSettings(
    int poolSize, int maxPage, int batchSize, Duration batchWindow, Duration minBackoff, Duration maxBackoff) {
  public InboxSettings {
    require(poolSize >= 1, "parley.inbox.pool-size must be at least 1");
    require(maxPage >= 1, "parley.inbox.max-page must be at least 1");
    require(batchSize >= 1, "parley.inbox.projection.batch-size must be at least 1");
  }

  private static void require(boolean condition, String message) {
    if (!condition) throw new IllegalArgumentException(message);
  }
}
