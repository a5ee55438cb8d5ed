package dev.parley.bot;

import dev.parley.conversation.TimelineEvent;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/** A test bot that takes 10 s for every message of a person: stuck, as far as people can tell. */
public class SleepyBot implements Bot {

  private static final Map<String, AtomicInteger> STARTED = new ConcurrentHashMap<>();

  /**
   * The same bot taking 3 s for the first message it handles in a conversation and no time for the
   * rest (a retry of that message on the next node included): slow enough to hold one shard's
   * handoff, short enough for a test that stops nodes.
   */
  public static final class Brief extends SleepyBot {
    public Brief() {
      super(Duration.ofSeconds(3));
    }

    @Override
    Duration napFor(int nth) {
      return nth == 1 ? super.napFor(nth) : Duration.ZERO;
    }
  }

  private final Duration perMessage;

  public SleepyBot() {
    this(Duration.ofSeconds(10));
  }

  SleepyBot(Duration perMessage) {
    this.perMessage = perMessage;
  }

  /** How long to take for the {@code nth} message of a person this bot handles in a conversation. */
  Duration napFor(int nth) {
    return perMessage;
  }

  /** How many events of {@code conversation} this bot has started to handle (in this JVM). */
  public static int started(String conversation) {
    AtomicInteger n = STARTED.get(conversation);
    return n == null ? 0 : n.get();
  }

  @Override
  public void onEvent(BotContext ctx, TimelineEvent event) throws InterruptedException {
    if (event instanceof TimelineEvent.MessagePosted m && !Bot.isBot(m.sender())) {
      int nth = STARTED.computeIfAbsent(ctx.conversation(), c -> new AtomicInteger()).incrementAndGet();
      Thread.sleep(napFor(nth).toMillis());
      ctx.reply("yawn: " + m.text());
    }
  }
}
