package dev.parley.bot;

import static org.assertj.core.api.Assertions.assertThat;

import dev.parley.bot.BotContext.Action;
import dev.parley.conversation.TimelineEvent;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The first-response bot's decisions, event by event (end to end: BotScenarios). */
class FirstResponseBotTest {

  private final FirstResponseBot bot =
      new FirstResponseBot(
          "Hello!",
          "Finding a person.",
          Set.of("agent", "Human"),
          "agent-ann",
          List.of(new FirstResponseBot.Faq(Set.of("Hours"), "9 to 5."), new FirstResponseBot.Faq(Set.of("price"), "Cheap.")));

  private Map<String, String> state = Map.of();

  private List<Action> handle(TimelineEvent event) throws Exception {
    BotContext ctx = new BotContext("c", "bot:fr", event.seq(), 4000, state);
    bot.onEvent(ctx, event);
    state = Map.copyOf(ctx.state());
    return ctx.actions();
  }

  private static TimelineEvent.MessagePosted said(long seq, String sender, String text) {
    return new TimelineEvent.MessagePosted(seq, 1000 + seq, sender, "m" + seq, text);
  }

  @Test
  void greetsOnceWhenTheConversationStartsWithIt() throws Exception {
    assertThat(handle(new TimelineEvent.Created(1, 1001, "alice", null, List.of("alice", "bot:fr"))))
        .containsExactly(new Action.Reply("Hello!"));
    assertThat(handle(new TimelineEvent.MemberJoined(2, 1002, "bot:fr", "alice"))).isEmpty();
  }

  @Test
  void greetsWhenInvitedLaterButNotWhenSomeoneElseJoins() throws Exception {
    assertThat(handle(new TimelineEvent.MemberJoined(2, 1002, "bob", "alice"))).isEmpty();
    assertThat(handle(new TimelineEvent.MemberJoined(3, 1003, "bot:fr", "alice"))).containsExactly(new Action.Reply("Hello!"));
  }

  @Test
  void answersFromTheFaqByWholeWordInAnyCase() throws Exception {
    assertThat(handle(said(2, "alice", "Your HOURS, please?"))).containsExactly(new Action.Reply("9 to 5."));
    assertThat(handle(said(3, "alice", "what's the price"))).containsExactly(new Action.Reply("Cheap."));
  }

  @Test
  void handsOffOnRequestInvitesTheAgentAndThenStaysQuiet() throws Exception {
    assertThat(handle(said(2, "alice", "get me a human")))
        .containsExactly(new Action.Reply("Finding a person."), new Action.Handoff("requested"), new Action.Invite("agent-ann"));
    assertThat(handle(said(3, "alice", "hours?"))).isEmpty();
  }

  @Test
  void handsOffWhatItCannotAnswer() throws Exception {
    assertThat(handle(said(2, "alice", "hoursly pricey"))).contains(new Action.Handoff("unanswered"));
  }

  @Test
  void ignoresBotsAndGoesQuietWhenSomeoneElseHandsOff() throws Exception {
    assertThat(handle(said(2, "bot:other", "agent"))).isEmpty();
    assertThat(handle(new TimelineEvent.HandedOff(3, 1003, "bot:other", "requested", "h2-0"))).isEmpty();
    assertThat(handle(said(4, "alice", "hours?"))).isEmpty();
  }
}
