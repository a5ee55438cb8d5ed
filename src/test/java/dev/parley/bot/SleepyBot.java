package dev.parley.bot;

import dev.parley.conversation.TimelineEvent;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/** A test bot that takes 10 s for every message of a person: stuck, as far as people can tell. */
public class SleepyBot implements Bot {

  private static final Map<String, AtomicInteger> STARTED = new ConcurrentHashMap<>();

  /** The same bot taking 3 s per message: slow enough to hold a shard's handoff, short enough for a test's stop. */
  public static final class Brief extends SleepyBot {
    public Brief() {
      super(Duration.ofSeconds(3));
    }
  }

  private final Duration perMessage;

  public SleepyBot() {
    this(Duration.ofSeconds(10));
  }

  SleepyBot(Duration perMessage) {
    this.perMessage = perMessage;
  }

  /** How many events of {@code conversation} this bot has started to handle (in this JVM). */
  public static int started(String conversation) {
    AtomicInteger n = STARTED.get(conversation);
    return n == null ? 0 : n.get();
  }

  @Override
  public void onEvent(BotContext ctx, TimelineEvent event) throws InterruptedException {
    if (event instanceof TimelineEvent.MessagePosted m && !Bot.isBot(m.sender())) {
      STARTED.computeIfAbsent(ctx.conversation(), c -> new AtomicInteger()).incrementAndGet();
      Thread.sleep(perMessage.toMillis());
      ctx.reply("yawn: " + m.text());
    }
  }
}
