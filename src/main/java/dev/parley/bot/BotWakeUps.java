package dev.parley.bot;

import dev.parley.conversation.PersistedEvents;
import dev.parley.conversation.TimelineEvent;
import java.util.Set;

/**
 * The push path of issue 17: right after a conversation persisted an event, the runners of its
 * enabled bot members are told (a {@link BotRunner.Wake} through Cluster Sharding, tell only), so a
 * bot hears of a message in one hop instead of after the journal's read side (the projection)
 * caught up, which stalls while its consumers move during a deploy.
 *
 * <p>At-most-once and cheap: a wake lost (the conversation's or the runner's node stops, a shard
 * in handoff drops it) is made good by the projection and the sweeper, the durable backstop.
 * Duplicates are harmless by construction: a wake only raises the runner's target seq; the runner
 * handles each seq once, in order, from its stored offset, and its replies carry clientMsgIds
 * derived from the triggering seq.
 */
final class BotWakeUps implements PersistedEvents.Listener {

  private final Bots bots;

  BotWakeUps(Bots bots) {
    this.bots = bots;
  }

  @Override
  public void persisted(String conversation, Set<String> members, TimelineEvent event) {
    // The members are scanned only for the bot prefix: a few string checks per member, no allocation.
    for (String member : members) {
      if (!member.startsWith(Bots.USER_PREFIX)) continue;
      bots.wake(new BotStore.Wake(member.substring(Bots.USER_PREFIX.length()), conversation, event.seq()));
    }
  }
}
