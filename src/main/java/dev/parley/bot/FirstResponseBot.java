package dev.parley.bot;

import com.typesafe.config.Config;
import dev.parley.conversation.TimelineEvent;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * A livechat first-response bot (type {@code first-response}): greets a conversation once when it
 * joins, answers from a keyword/FAQ table, and hands the conversation to people (a {@code handoff}
 * timeline event, and an invited agent when configured) on request or when it cannot answer. After
 * a handoff it stays quiet in that conversation: the people have it.
 */
public final class FirstResponseBot implements Bot {

  /** A message containing any of {@code keywords} (whole words, any case) gets {@code answer}. */
  public record Faq(Set<String> keywords, String answer) {}

  static final String GREETED = "greeted";
  static final String HANDED_OFF = "handedOff";

  private final String greeting;
  private final String handoffMessage;
  private final Set<String> handoffKeywords;
  private final String agent;
  private final List<Faq> faq;

  public FirstResponseBot(String greeting, String handoffMessage, Set<String> handoffKeywords, String agent, List<Faq> faq) {
    this.greeting = greeting;
    this.handoffMessage = handoffMessage;
    this.handoffKeywords = lower(handoffKeywords);
    this.agent = agent;
    this.faq = faq.stream().map(f -> new Faq(lower(f.keywords()), f.answer())).toList();
  }

  static FirstResponseBot fromConfig(Config c) {
    List<Faq> faq =
        c.getConfigList("faq").stream().map(f -> new Faq(Set.copyOf(f.getStringList("keywords")), f.getString("answer"))).toList();
    return new FirstResponseBot(
        c.getString("greeting"),
        c.getString("handoff-message"),
        Set.copyOf(c.getStringList("handoff-keywords")),
        c.getString("agent"),
        faq);
  }

  @Override
  public void onEvent(BotContext ctx, TimelineEvent event) {
    if (ctx.state().containsKey(HANDED_OFF)) return;
    if (event instanceof TimelineEvent.HandedOff) {
      ctx.state().put(HANDED_OFF, "true"); // someone else handed off: people have it now
    } else if (joinedNow(ctx, event)) {
      if (ctx.state().putIfAbsent(GREETED, "true") == null) ctx.reply(greeting);
    } else if (event instanceof TimelineEvent.MessagePosted message && !Bot.isBot(message.sender())) {
      answer(ctx, message.text());
    }
  }

  private static boolean joinedNow(BotContext ctx, TimelineEvent event) {
    return (event instanceof TimelineEvent.Created created && created.members().contains(ctx.self()))
        || (event instanceof TimelineEvent.MemberJoined joined && joined.user().equals(ctx.self()));
  }

  private void answer(BotContext ctx, String text) {
    Set<String> words = words(text);
    if (words.stream().anyMatch(handoffKeywords::contains)) {
      handoff(ctx, "requested");
      return;
    }
    for (Faq entry : faq) {
      if (entry.keywords().stream().anyMatch(words::contains)) {
        ctx.reply(entry.answer());
        return;
      }
    }
    handoff(ctx, "unanswered");
  }

  private void handoff(BotContext ctx, String reason) {
    ctx.reply(handoffMessage);
    ctx.handoff(reason);
    if (!agent.isBlank()) ctx.invite(agent);
    ctx.state().put(HANDED_OFF, "true");
  }

  private static Set<String> words(String text) {
    return Arrays.stream(text.toLowerCase(Locale.ROOT).split("[^\\p{L}\\p{N}]+"))
        .filter(w -> !w.isEmpty())
        .collect(Collectors.toSet());
  }

  private static Set<String> lower(Set<String> words) {
    return words.stream().map(w -> w.toLowerCase(Locale.ROOT)).collect(Collectors.toUnmodifiableSet());
  }
}
