package dev.parley.conversation;

import dev.parley.storage.JournalPolling;
import java.util.Set;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Extension;
import org.apache.pekko.actor.typed.ExtensionId;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Who, on this node, hears that a conversation persisted an event: in-process, after the persist,
 * at-most-once (lost with the node or a message in flight). Used to wake bot runners at once
 * (dev.parley.bot.BotWakeUps) instead of waiting for the journal's read side; the journal stays
 * the durable source that everything is reconciled from. A listener runs on the conversation's
 * thread: it must be cheap and must not block (tell, never ask).
 *
 * <p>The read side's polling of the journal is woken here too ({@link JournalPolling#written()}):
 * it backs off while the journal is quiet, and this node's own writes end the wait.
 */
public final class PersistedEvents implements Extension {

  private static final Logger log = LoggerFactory.getLogger(PersistedEvents.class);

  /** Told of every persisted event with the conversation's members after it. */
  @FunctionalInterface
  public interface Listener {
    void persisted(String conversation, Set<String> members, TimelineEvent event);
  }

  private volatile Listener listener = (conversation, members, event) -> {};

  private final JournalPolling journalPolling;

  private PersistedEvents(JournalPolling journalPolling) {
    this.journalPolling = journalPolling;
  }

  public static PersistedEvents get(ActorSystem<?> system) {
    return Id.INSTANCE.apply(system);
  }

  /** One listener per node (the bots' wiring); a later call replaces it. */
  public void listen(Listener listener) {
    this.listener = listener;
  }

  /** Called by the conversation after a persist; a failing listener never fails the conversation. */
  void persisted(String conversation, Set<String> members, TimelineEvent event) {
    journalPolling.written();
    try {
      listener.persisted(conversation, members, event);
    } catch (RuntimeException e) {
      log.warn("listener of persisted events failed for seq {}: {}", event.seq(), e.toString());
    }
  }

  private static final class Id extends ExtensionId<PersistedEvents> {
    static final Id INSTANCE = new Id();

    @Override
    public PersistedEvents createExtension(ActorSystem<?> system) {
      return new PersistedEvents(JournalPolling.get(system));
    }
  }
}
