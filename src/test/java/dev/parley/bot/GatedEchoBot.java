package dev.parley.bot;

import dev.parley.conversation.TimelineEvent;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Semaphore;

/**
 * A test bot (registered as {@code type = class}) that echoes a person's message only when the test
 * lets it ({@link #allow}): one permit per message, so a test decides exactly how much work is
 * handled before a node stops and how much is left to resume.
 *
 * <p>A permit is per message, not per attempt: a message that has passed the gate once is answered
 * without another permit when its reply is retried (it failed, or its node stopped before the
 * reply was durable). Otherwise every retry would spend a permit meant for a later message, and a
 * test's count of permits would depend on how many attempts the infrastructure needed.
 */
public final class GatedEchoBot implements Bot {

  private record Gate(Semaphore permits, Set<Long> passed) {}

  private static final Map<String, Gate> GATES = new ConcurrentHashMap<>();

  public static void allow(String conversation, int messages) {
    gate(conversation).permits().release(messages);
  }

  /** Whether the bot is in {@code conversation}, waiting for the test to let it answer. */
  public static boolean waiting(String conversation) {
    return gate(conversation).permits().hasQueuedThreads();
  }

  private static Gate gate(String conversation) {
    return GATES.computeIfAbsent(conversation, c -> new Gate(new Semaphore(0), ConcurrentHashMap.newKeySet()));
  }

  @Override
  public void onEvent(BotContext ctx, TimelineEvent event) throws InterruptedException {
    if (event instanceof TimelineEvent.MessagePosted m && !Bot.isBot(m.sender())) {
      Gate gate = gate(ctx.conversation());
      if (!gate.passed().contains(m.seq())) {
        gate.permits().acquire();
        gate.passed().add(m.seq());
      }
      ctx.reply("gated: " + m.text());
    }
  }
}
