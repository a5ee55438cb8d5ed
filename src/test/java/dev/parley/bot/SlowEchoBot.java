package dev.parley.bot;

import dev.parley.conversation.TimelineEvent;

/** A test bot (registered as {@code type = class}): echoes people's messages after 300 ms, so a restart finds work pending. */
public final class SlowEchoBot implements Bot {
  @Override
  public void onEvent(BotContext ctx, TimelineEvent event) throws InterruptedException {
    if (event instanceof TimelineEvent.MessagePosted m && !Bot.isBot(m.sender())) {
      Thread.sleep(300);
      ctx.reply("slow: " + m.text());
    }
  }
}
