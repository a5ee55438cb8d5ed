package dev.parley.bot;

import dev.parley.conversation.TimelineEvent;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/** A test bot that takes 10 s for every message of a person: stuck, as far as people can tell. */
public final class SleepyBot implements Bot {

  private static final Map<String, AtomicInteger> STARTED = new ConcurrentHashMap<>();

  /** How many events of {@code conversation} this bot has started to handle (in this JVM). */
  public static int started(String conversation) {
    AtomicInteger n = STARTED.get(conversation);
    return n == null ? 0 : n.get();
  }

  @Override
  public void onEvent(BotContext ctx, TimelineEvent event) throws InterruptedException {
    if (event instanceof TimelineEvent.MessagePosted m && !Bot.isBot(m.sender())) {
      STARTED.computeIfAbsent(ctx.conversation(), c -> new AtomicInteger()).incrementAndGet();
      Thread.sleep(10_000);
      ctx.reply("yawn: " + m.text());
    }
  }
}
