package dev.parley.conversation;

import java.util.List;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.persistence.jdbc.query.javadsl.JdbcReadJournal;
import org.apache.pekko.persistence.query.PersistenceQuery;
import org.apache.pekko.stream.javadsl.Sink;

/**
 * Reads ranges of a conversation's timeline from the journal, for history pages and resumes that
 * reach below an entity's recent window. A range is a primary-key range of the journal
 * (persistence id, sequence number), so a read costs the same however long the conversation is.
 * Callers bound the range; nothing here reads a whole conversation.
 */
public final class History {

  private final JdbcReadJournal readJournal;
  private final ActorSystem<?> system;

  public History(ActorSystem<?> system) {
    this.system = system;
    this.readJournal =
        PersistenceQuery.get(system).getReadJournalFor(JdbcReadJournal.class, JdbcReadJournal.Identifier());
  }

  /** Events with {@code from <= seq <= to}, in seq order. */
  public CompletionStage<List<TimelineEvent>> read(String conversationId, long from, long to) {
    return readJournal
        .currentEventsByPersistenceId(Conversation.persistenceId(conversationId).id(), from, to)
        .map(envelope -> (TimelineEvent) envelope.event())
        .runWith(Sink.seq(), system);
  }
}
