package dev.parley.bot;

import dev.parley.conversation.TimelineEvent;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/** A test bot that throws on the first attempt at every message of a person and answers on the next. */
public final class FlakyBot implements Bot {

  private static final Map<String, AtomicInteger> ATTEMPTS = new ConcurrentHashMap<>();

  /** Attempts at event {@code seq} of {@code conversation} so far (in this JVM). */
  public static int attempts(String conversation, long seq) {
    AtomicInteger n = ATTEMPTS.get(conversation + "#" + seq);
    return n == null ? 0 : n.get();
  }

  @Override
  public void onEvent(BotContext ctx, TimelineEvent event) {
    if (event instanceof TimelineEvent.MessagePosted m && !Bot.isBot(m.sender())) {
      int attempt = ATTEMPTS.computeIfAbsent(ctx.conversation() + "#" + m.seq(), k -> new AtomicInteger()).incrementAndGet();
      if (attempt == 1) throw new IllegalStateException("flaky bot fails its first attempt at seq " + m.seq());
      ctx.reply("flaky: " + m.text());
    }
  }
}
