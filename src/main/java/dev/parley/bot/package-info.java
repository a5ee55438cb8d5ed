/**
 * Bots: members of conversations driven by the server. The API for in-process bots ({@link
 * dev.parley.bot.Bot}, {@link dev.parley.bot.BotContext}), the registry of configured bots ({@link
 * dev.parley.bot.Bots}), the projection that records which bot has work where ({@link
 * dev.parley.bot.BotProjection}), the sharded runner per (bot, conversation) with its durable offset
 * ({@link dev.parley.bot.BotRunner}), the sweeper that wakes runners after a crash, and the built-in
 * bots (echo, first-response, webhook). See src/site/markdown/bots.md.
 */
package dev.parley.bot;
