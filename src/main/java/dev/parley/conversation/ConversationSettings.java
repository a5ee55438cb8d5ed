package dev.parley.conversation;

import java.time.Duration;

/** The conversation entities' settings ({@code parley.conversation}), read by {@code ParleyConfig}. */
public record ConversationSettings(
    int recentWindow,
    int idempotencyWindow,
    int snapshotEvery,
    Duration idleTimeout,
    Duration askTimeout,
    Duration resendAfter,
    Duration resendMaxInterval,
    int maxSendsInFlight,
    Duration maxSendWait) {
  /** Without a cap on sends in flight, resends at most 1 s apart (tests of the entity alone). */
  public ConversationSettings(
      int recentWindow, int idempotencyWindow, int snapshotEvery, Duration idleTimeout, Duration askTimeout, Duration resendAfter) {
    this(recentWindow, idempotencyWindow, snapshotEvery, idleTimeout, askTimeout, resendAfter, Duration.ofSeconds(1), 0, Duration.ZERO);
  }

  public ConversationSettings {
    require(maxSendsInFlight >= 0, "parley.conversation.max-sends-in-flight must not be negative");
    require(!maxSendWait.isNegative(), "parley.conversation.max-send-wait must not be negative");
    require(recentWindow >= 1, "parley.conversation.recent-window must be at least 1");
    require(!resendAfter.isNegative(), "parley.conversation.resend-after must not be negative");
    require(resendMaxInterval.compareTo(resendAfter) >= 0, "parley.conversation.resend-max-interval must be at least resend-after");
    require(idempotencyWindow >= 1, "parley.conversation.idempotency-window must be at least 1");
    require(snapshotEvery >= 1, "parley.conversation.snapshot-every must be at least 1");
  }

  private static void require(boolean condition, String message) {
    if (!condition) throw new IllegalArgumentException(message);
  }
}
