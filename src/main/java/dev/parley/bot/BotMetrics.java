package dev.parley.bot;

import dev.parley.ops.Metrics;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.distribution.HistogramSnapshot;
import io.micrometer.core.instrument.distribution.ValueAtPercentile;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Extension;
import org.apache.pekko.actor.typed.ExtensionId;

/**
 * Per-bot counters of this node: events handled, replies sent, failed attempts, dead letters, and
 * the lag in seq of the runners on this node (last seen minus last handled, summed over
 * conversations). Shown by GET /parley/status under "bots", and exported to Prometheus as
 * {@code parley_bot_events_handled_total}, {@code parley_bot_replies_total},
 * {@code parley_bot_failures_total}, {@code parley_bot_dead_letters_total},
 * {@code parley_bot_lag_events} and the reply gap {@code parley_bot_reply_gap_seconds} (a histogram:
 * the time from a person's message, by its server timestamp, until the bot has handled it and its
 * replies are acknowledged), each tagged with {@code bot}. The status shows the gap's p50, p99 and
 * max over the last minute.
 */
public final class BotMetrics implements Extension {

  private record Counters(
      LongAdder handled, LongAdder replies, LongAdder failures, LongAdder deadLetters, Map<String, Long> lag, Timer replyGap) {}

  private final Map<String, Counters> byBot = new ConcurrentHashMap<>();
  private final MeterRegistry registry;

  BotMetrics(MeterRegistry registry) {
    this.registry = registry;
  }

  public static BotMetrics get(ActorSystem<?> system) {
    return Id.INSTANCE.apply(system);
  }

  private Counters of(String bot) {
    return byBot.computeIfAbsent(bot, this::registered);
  }

  /** A bot's counters, registered with the node's Prometheus registry the first time the bot does anything. */
  private Counters registered(String bot) {
    Tags tags = Tags.of("bot", bot);
    Timer replyGap =
        Timer.builder("parley_bot_reply_gap")
            .description("time from a person's message (server timestamp) until the bot handled it, replies acknowledged")
            .tags(tags)
            .publishPercentiles(0.5, 0.99)
            .publishPercentileHistogram()
            .minimumExpectedValue(Duration.ofMillis(5))
            .maximumExpectedValue(Duration.ofMinutes(5))
            .distributionStatisticExpiry(Duration.ofMinutes(1))
            .distributionStatisticBufferLength(3)
            .register(registry);
    Counters c = new Counters(new LongAdder(), new LongAdder(), new LongAdder(), new LongAdder(), new ConcurrentHashMap<>(), replyGap);
    FunctionCounter.builder("parley_bot_events_handled", c.handled(), LongAdder::sum)
        .description("timeline events the bot handled on this node").tags(tags).register(registry);
    FunctionCounter.builder("parley_bot_replies", c.replies(), LongAdder::sum)
        .description("replies the bot posted from this node").tags(tags).register(registry);
    FunctionCounter.builder("parley_bot_failures", c.failures(), LongAdder::sum)
        .description("failed or timed-out attempts of the bot on this node").tags(tags).register(registry);
    FunctionCounter.builder("parley_bot_dead_letters", c.deadLetters(), LongAdder::sum)
        .description("events given up on after the last attempt").tags(tags).register(registry);
    Gauge.builder("parley_bot_lag_events", c.lag(), lag -> lag.values().stream().mapToLong(Long::longValue).sum())
        .description("events the bot's runners on this node are behind their conversations").tags(tags).register(registry);
    return c;
  }

  void handled(String bot) {
    of(bot).handled().increment();
  }

  void replied(String bot) {
    of(bot).replies().increment();
  }

  void failed(String bot) {
    of(bot).failures().increment();
  }

  void deadLettered(String bot) {
    of(bot).deadLetters().increment();
  }

  /** A person's message was handled {@code millis} after its server timestamp. */
  void replyGap(String bot, long millis) {
    of(bot).replyGap().record(Math.max(0, millis), TimeUnit.MILLISECONDS);
  }

  void lag(String bot, String conversation, long lag) {
    of(bot).lag().put(conversation, Math.max(0, lag));
  }

  void forget(String bot, String conversation) {
    of(bot).lag().remove(conversation);
  }

  /**
   * {@code {"echo": {"handled": .., "replies": .., "failures": .., "deadLetters": .., "lag": ..,
   * "runners": .., "replyGapMs": {"count": .., "p50": .., "p99": .., "max": ..}}}}; the reply gap
   * over about the last minute on this node.
   */
  public ObjectNode toJson() {
    ObjectNode json = JsonNodeFactory.instance.objectNode();
    byBot.forEach(
        (bot, c) -> {
          ObjectNode node =
              json.putObject(bot)
                  .put("handled", c.handled().sum())
                  .put("replies", c.replies().sum())
                  .put("failures", c.failures().sum())
                  .put("deadLetters", c.deadLetters().sum())
                  .put("lag", c.lag().values().stream().mapToLong(Long::longValue).sum())
                  .put("runners", c.lag().size());
          HistogramSnapshot gap = c.replyGap().takeSnapshot();
          ObjectNode gapJson = node.putObject("replyGapMs").put("count", gap.count());
          long max = Math.round(gap.max(TimeUnit.MILLISECONDS));
          for (ValueAtPercentile p : gap.percentileValues()) {
            // Micrometer's percentiles are bucket bounds, which can lie above every recorded gap (a
            // status said p50 327 ms with max 324 ms): no gap is longer than the max, nor is a percentile.
            gapJson.put(p.percentile() == 0.5 ? "p50" : "p99", Math.min(max, Math.round(p.value(TimeUnit.MILLISECONDS))));
          }
          gapJson.put("max", max);
        });
    return json;
  }

  private static final class Id extends ExtensionId<BotMetrics> {
    static final Id INSTANCE = new Id();

    @Override
    public BotMetrics createExtension(ActorSystem<?> system) {
      return new BotMetrics(Metrics.get(system).registry());
    }
  }
}
