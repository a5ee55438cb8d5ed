package dev.parley.bot;

import io.github.bucket4j.Bandwidth;
import io.github.bucket4j.Bucket;
import io.github.bucket4j.ConsumptionProbe;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The pace of one runner's replies (issue 17): first the conversation's own limit (what protects
 * its people from a flooding bot), then this node's share of the bot's cluster-wide budget
 * ({@link ReplyBudget}). Over either, a reply waits; none is dropped. A wait of a second or more is
 * logged, at most once per 10 s per runner, so that an operator sees why a bot is behind.
 * Used from the runner's reply chain (any thread).
 */
final class ReplyPacing {

  private static final Logger log = LoggerFactory.getLogger(ReplyPacing.class);

  private final Bots.Registered bot;
  private final String conversation;
  private final Bucket conversationReplies;
  private volatile long lastWaitLogged;

  ReplyPacing(Bots.Registered bot, String conversation) {
    this.bot = bot;
    this.conversation = conversation;
    this.conversationReplies =
        Bucket.builder()
            .addLimit(
                Bandwidth.builder()
                    .capacity(bot.conversationRepliesBurst())
                    .refillGreedy(1, Duration.ofNanos(Math.max(1, (long) (1_000_000_000L / bot.conversationRepliesPerSecond()))))
                    .build())
            .build();
  }

  /** Completes when the next reply may be sent. */
  CompletableFuture<Void> permit() {
    ConsumptionProbe probe = conversationReplies.tryConsumeAndReturnRemaining(1);
    if (!probe.isConsumed()) return waitFor(probe, "the conversation's reply limit").thenCompose(v -> permit());
    return budgetPermit();
  }

  private CompletableFuture<Void> budgetPermit() {
    ConsumptionProbe probe = bot.replies().tryConsume();
    if (probe.isConsumed()) return CompletableFuture.completedFuture(null);
    return waitFor(probe, "the bot's reply budget").thenCompose(v -> budgetPermit());
  }

  private CompletableFuture<Void> waitFor(ConsumptionProbe probe, String what) {
    long waitNanos = probe.getNanosToWaitForRefill();
    long now = System.currentTimeMillis();
    if (waitNanos >= 1_000_000_000L && now - lastWaitLogged >= 10_000) {
      lastWaitLogged = now;
      log.info(
          "bot {} in {}: a reply waits {} ms for {} ({}/s for the bot on this node)",
          bot.name(), conversation, waitNanos / 1_000_000, what, String.format("%.1f", bot.replies().perSecondHere()));
    }
    Executor later = CompletableFuture.delayedExecutor(waitNanos, TimeUnit.NANOSECONDS, Runnable::run);
    return CompletableFuture.runAsync(() -> {}, later);
  }
}
