package dev.parley.bot;

import dev.parley.conversation.TimelineEvent;

/**
 * An in-process bot: implement this, register the class in configuration ({@code parley.bots.<name>
 * { type = class, class = "..." }}) and add {@code bot:<name>} to conversations.
 *
 * <p>Guarantees: for each conversation the bot is a member of, {@link #onEvent} is called for every
 * timeline event from the one that made it a member, one at a time, in seq order, with no gap, also
 * across restarts and rebalances. Calls for different conversations may run concurrently (on the
 * bot's own threads, never an actor's). An event is handled when {@code onEvent} returns: the
 * replies it asked for are then sent and the bot's offset and state stored. When it throws or
 * exceeds the processing timeout, nothing of that attempt is kept and the same event is given again
 * later (with backoff); a re-delivered event's replies are deduplicated by the conversation, so a
 * bot that answers the same way never replies twice.
 */
@FunctionalInterface
public interface Bot {
  void onEvent(BotContext ctx, TimelineEvent event) throws Exception;

  /** Whether {@code user} is a bot (user ids {@code bot:<name>}); bots usually ignore each other. */
  static boolean isBot(String user) {
    return user != null && user.startsWith(Bots.USER_PREFIX);
  }
}
