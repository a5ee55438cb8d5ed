package dev.parley.bot;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import org.junit.jupiter.api.Test;

class BotMetricsTest {

  @Test
  void theStatusNeverShowsAPercentileAboveTheLongestGap() {
    // Percentiles come from histogram buckets, whose bounds can lie above every recorded gap: a CI
    // run's status said p50 327 ms with max 324 ms. Gap sets for which the raw p99 is above the max:
    long[][] gapSets = {
      {69, 64, 70, 68, 72, 64, 61, 72, 66}, // p99 73, max 72
      {142, 142, 145, 130, 140}, // p99 147, max 145
      {509, 515, 515, 578, 526, 513, 499, 557, 485}, // p99 587, max 578
    };
    for (long[] gaps : gapSets) {
      BotMetrics metrics = new BotMetrics(new PrometheusMeterRegistry(PrometheusConfig.DEFAULT));
      long longest = 0;
      for (long millis : gaps) {
        metrics.replyGap("echo", millis);
        longest = Math.max(longest, millis);
      }

      JsonNode gap = metrics.toJson().path("echo").path("replyGapMs");

      assertThat(gap.path("count").asLong()).isEqualTo(gaps.length);
      assertThat(gap.path("max").asLong()).isEqualTo(longest);
      // Within the buckets (up to ~10 % wide) below the longest gap, never above it.
      assertThat(gap.path("p50").asLong()).as("%s", gap).isBetween(longest * 80 / 100, longest);
      assertThat(gap.path("p99").asLong()).as("%s", gap).isBetween(gap.path("p50").asLong(), longest);
    }
  }

  @Test
  void countsWhatEachBotDid() {
    BotMetrics metrics = new BotMetrics(new PrometheusMeterRegistry(PrometheusConfig.DEFAULT));
    metrics.handled("echo");
    metrics.handled("echo");
    metrics.replied("echo");
    metrics.failed("first-response");

    JsonNode json = metrics.toJson();

    assertThat(json.path("echo").path("handled").asLong()).isEqualTo(2);
    assertThat(json.path("echo").path("replies").asLong()).isEqualTo(1);
    assertThat(json.path("first-response").path("failures").asLong()).isEqualTo(1);
    assertThat(json.path("first-response").path("replyGapMs").path("count").asLong()).isZero();
  }
}
