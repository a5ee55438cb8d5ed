package dev.parley.bot;

import java.time.Duration;

/**
 * How bots are driven (dev.parley.bot): defaults every registered bot may override in its own
 * block of {@code parley.bots}, and the bot projection's batching.
 */
public record BotRunnerSettings(
    int poolSize,
    int threadsPerBot,
    Duration processingTimeout,
    Duration minBackoff,
    Duration maxBackoff,
    int maxAttempts,
    double repliesPerSecond,
    int repliesBurst,
    double conversationRepliesPerSecond,
    int conversationRepliesBurst,
    int chunk,
    Duration idleTimeout,
    Duration sweepInterval,
    int maxReplyLength,
    int batchSize,
    Duration batchWindow,
    Duration projectionKeepAlive,
    Duration handoffRewake) {
  public BotRunnerSettings {
    require(poolSize >= 1, "parley.bot-runner.pool-size must be at least 1");
    require(threadsPerBot >= 1, "parley.bot-runner.threads-per-bot must be at least 1");
    require(maxAttempts >= 1, "parley.bot-runner.max-attempts must be at least 1");
    require(repliesPerSecond > 0, "parley.bot-runner.replies-per-second must be positive");
    require(repliesBurst >= 1, "parley.bot-runner.replies-burst must be at least 1");
    require(conversationRepliesPerSecond > 0, "parley.bot-runner.conversation-replies-per-second must be positive");
    require(conversationRepliesBurst >= 1, "parley.bot-runner.conversation-replies-burst must be at least 1");
    require(projectionKeepAlive.toMillis() >= 100, "parley.bot-runner.projection.keep-alive-interval must be at least 100ms");
    require(chunk >= 1, "parley.bot-runner.chunk must be at least 1");
    require(batchSize >= 1, "parley.bot-runner.projection.batch-size must be at least 1");
  }

  private static void require(boolean condition, String message) {
    if (!condition) throw new IllegalArgumentException(message);
  }
}
