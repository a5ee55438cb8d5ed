package dev.parley.gateway;

import java.time.Duration;

/** The gateway's settings ({@code parley.gateway}), read by {@code ParleyConfig}. */
public record GatewaySettings(
    int maxFrameBytes,
    int maxTextLength,
    int outboundBuffer,
    int maxInFlight,
    int maxReplay,
    int historyMaxLimit,
    Duration resubscribeSpread,
    IdleConnections.Settings idle,
    Duration requestBodyTimeout) {
  public GatewaySettings {
    require(maxFrameBytes >= 256, "parley.gateway.max-frame-bytes must be at least 256");
    require(maxTextLength >= 1, "parley.gateway.max-text-length must be at least 1");
    require(outboundBuffer >= 8, "parley.gateway.outbound-buffer must be at least 8");
    require(maxInFlight >= 1, "parley.gateway.max-in-flight must be at least 1");
    require(historyMaxLimit >= 1, "parley.gateway.history-max-limit must be at least 1");
    require(requestBodyTimeout.toMillis() >= 1, "parley.gateway.request-body-timeout must be positive");
  }

  private static void require(boolean condition, String message) {
    if (!condition) throw new IllegalArgumentException(message);
  }
}
