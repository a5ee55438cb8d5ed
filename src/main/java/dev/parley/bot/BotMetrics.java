package dev.parley.bot;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Extension;
import org.apache.pekko.actor.typed.ExtensionId;

/**
 * Per-bot counters of this node (until the ops branch brings Micrometer): events handled, replies
 * sent, failed attempts, dead letters, and the lag in seq of the runners on this node (last seen
 * minus last handled, summed over conversations). Shown by GET /parley/status under "bots".
 */
public final class BotMetrics implements Extension {

  private record Counters(LongAdder handled, LongAdder replies, LongAdder failures, LongAdder deadLetters, Map<String, Long> lag) {
    Counters() {
      this(new LongAdder(), new LongAdder(), new LongAdder(), new LongAdder(), new ConcurrentHashMap<>());
    }
  }

  private final Map<String, Counters> byBot = new ConcurrentHashMap<>();

  public static BotMetrics get(ActorSystem<?> system) {
    return Id.INSTANCE.apply(system);
  }

  private Counters of(String bot) {
    return byBot.computeIfAbsent(bot, b -> new Counters());
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

  void lag(String bot, String conversation, long lag) {
    of(bot).lag().put(conversation, Math.max(0, lag));
  }

  void forget(String bot, String conversation) {
    of(bot).lag().remove(conversation);
  }

  /** {@code {"echo": {"handled": .., "replies": .., "failures": .., "deadLetters": .., "lag": .., "runners": ..}}} */
  public ObjectNode toJson() {
    ObjectNode json = JsonNodeFactory.instance.objectNode();
    byBot.forEach(
        (bot, c) ->
            json.putObject(bot)
                .put("handled", c.handled().sum())
                .put("replies", c.replies().sum())
                .put("failures", c.failures().sum())
                .put("deadLetters", c.deadLetters().sum())
                .put("lag", c.lag().values().stream().mapToLong(Long::longValue).sum())
                .put("runners", c.lag().size()));
    return json;
  }

  private static final class Id extends ExtensionId<BotMetrics> {
    static final Id INSTANCE = new Id();

    @Override
    public BotMetrics createExtension(ActorSystem<?> system) {
      return new BotMetrics();
    }
  }
}
