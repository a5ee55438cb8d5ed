package dev.parley.bot;

import dev.parley.conversation.TimelineEvent;

/** Replies "echo: <text>" to every message not sent by a bot (type {@code echo}): the smallest bot. */
public final class EchoBot implements Bot {
  @Override
  public void onEvent(BotContext ctx, TimelineEvent event) {
    if (event instanceof TimelineEvent.MessagePosted message && !Bot.isBot(message.sender())) {
      ctx.reply("echo: " + message.text());
    }
  }
}
