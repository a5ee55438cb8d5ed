package dev.parley.bot;

import dev.parley.conversation.TimelineEvent;

/** A test bot that floods: five replies to every message of a person. */
public final class ChattyBot implements Bot {
  @Override
  public void onEvent(BotContext ctx, TimelineEvent event) {
    if (event instanceof TimelineEvent.MessagePosted m && !Bot.isBot(m.sender())) {
      for (int i = 0; i < 5; i++) ctx.reply("chatty " + i + ": " + m.text());
    }
  }
}
