package dev.parley.bot;

import dev.parley.conversation.TimelineEvent;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Semaphore;

/**
 * A test bot (registered as {@code type = class}) that echoes a person's message only when the test
 * lets it ({@link #allow}): one permit per message, so a test decides exactly how much work is
 * handled before a node stops and how much is left to resume.
 */
public final class GatedEchoBot implements Bot {

  private static final Map<String, Semaphore> GATES = new ConcurrentHashMap<>();

  public static void allow(String conversation, int messages) {
    gate(conversation).release(messages);
  }

  /** Whether the bot is in {@code conversation}, waiting for the test to let it answer. */
  public static boolean waiting(String conversation) {
    return gate(conversation).hasQueuedThreads();
  }

  private static Semaphore gate(String conversation) {
    return GATES.computeIfAbsent(conversation, c -> new Semaphore(0));
  }

  @Override
  public void onEvent(BotContext ctx, TimelineEvent event) throws InterruptedException {
    if (event instanceof TimelineEvent.MessagePosted m && !Bot.isBot(m.sender())) {
      gate(ctx.conversation()).acquire();
      ctx.reply("gated: " + m.text());
    }
  }
}
