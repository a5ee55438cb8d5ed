package dev.parley.storage;

import java.util.List;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.Done;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.typed.javadsl.Adapter;
import org.apache.pekko.persistence.PersistentRepr;
import org.apache.pekko.persistence.jdbc.config.ReadJournalConfig;
import org.apache.pekko.persistence.jdbc.query.dao.DefaultReadJournalDao;
import org.apache.pekko.serialization.Serialization;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.scaladsl.Source;
import scala.Tuple3;
import scala.concurrent.ExecutionContext;
import scala.util.Try;
import slick.jdbc.JdbcBackend;
import slick.jdbc.JdbcProfile;

/**
 * Pekko Persistence JDBC's read journal DAO (1.1.1), minus the statements an idle node does not
 * need (issue 18, target 6); configured as {@code jdbc-read-journal.dao}. Same tables, same
 * queries, same results:
 *
 * <ul>
 *   <li>A tag stream's query selects {@code ordering > offset AND ordering <= maxOffset}
 *       ({@code ReadJournalQueries._eventsByTag}), where {@code maxOffset} is the journal-sequence
 *       actor's gap-free maximum and the stream's offset has already reached it when nothing new
 *       was written ({@code JdbcReadJournal.eventsByTag} moves it there after an empty answer). Such
 *       a query cannot return a row and is not sent: 16 tag streams (inbox and bots, 8 tags each)
 *       polled every 200 ms were 80 of an idle node's 82 statements/s. On an idle node that empty
 *       answer also waits ({@link JournalPolling#activity()}): the 16 streams then wake about once
 *       per {@code idle-query-delay} instead of 80 times a second.
 *   <li>The journal-sequence actor's query for new orderings waits as {@link JournalPolling} says:
 *       longer and longer while the journal is quiet, not at all while it is written, and a write
 *       on this node ends the wait.
 * </ul>
 *
 * <p>Pekko builds it reflectively with exactly these constructor parameter types.
 */
public final class IdleAwareReadJournalDao extends DefaultReadJournalDao {

  private final JournalPolling polling;

  public IdleAwareReadJournalDao(
      JdbcBackend.JdbcDatabaseDef db,
      JdbcProfile profile,
      ReadJournalConfig readJournalConfig,
      Serialization serialization,
      ExecutionContext ec,
      Materializer mat) {
    super(db, profile, readJournalConfig, serialization, ec, mat);
    this.polling = JournalPolling.get(Adapter.toTyped(mat.system()));
  }

  @Override
  public Source<Try<Tuple3<PersistentRepr, scala.collection.immutable.Set<String>, Object>>, NotUsed> eventsByTag(
      String tag, long offset, long maxOffset, long max) {
    if (offset >= maxOffset) {
      // Nothing to ask; on an idle node the answer "nothing" waits until the journal is written again.
      return org.apache.pekko.stream.javadsl.Source.completionStage(polling.activity().thenApply(ready -> Done.getInstance()))
          .<Try<Tuple3<PersistentRepr, scala.collection.immutable.Set<String>, Object>>>mapConcat(ready -> List.of())
          .asScala();
    }
    polling.tagQuerySent();
    return super.eventsByTag(tag, offset, maxOffset, max);
  }

  @Override
  public Source<Object, NotUsed> journalSequence(long offset, long limit) {
    CompletionStage<List<Object>> orderings =
        polling
            .nextQuery()
            .thenCompose(ready -> super.journalSequence(offset, limit).asJava().runWith(Sink.seq(), mat()))
            .whenComplete((found, failure) -> polling.queried(failure != null || !found.isEmpty()));
    return org.apache.pekko.stream.javadsl.Source.completionStage(orderings).<Object>mapConcat(found -> found).asScala();
  }
}
