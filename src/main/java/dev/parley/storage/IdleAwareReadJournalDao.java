package dev.parley.storage;

import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.Done;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.typed.javadsl.Adapter;
import org.apache.pekko.persistence.PersistentRepr;
import org.apache.pekko.persistence.jdbc.config.EventJournalTableConfiguration;
import org.apache.pekko.persistence.jdbc.config.ReadJournalConfig;
import org.apache.pekko.persistence.jdbc.query.dao.DefaultReadJournalDao;
import org.apache.pekko.serialization.Serialization;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.scaladsl.Source;
import scala.Tuple3;
import scala.concurrent.ExecutionContext;
import scala.jdk.javaapi.FutureConverters;
import scala.util.Try;
import slick.jdbc.JdbcBackend;
import slick.jdbc.JdbcProfile;
import slick.dbio.DBIOAction;
import slick.jdbc.SimpleJdbcAction;

/**
 * Pekko Persistence JDBC's read journal DAO (1.1.1), minus the statements an idle node does not
 * need (issue 18, target 6), and with a journal-sequence query PostgreSQL answers from the index;
 * configured as {@code jdbc-read-journal.dao}. Same tables, same results:
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
 *       on this node ends the wait. And it is bounded on both sides, so that PostgreSQL answers it
 *       from the ordering index even without statistics on the journal ({@link #orderingsAfter}).
 * </ul>
 *
 * <p>Pekko builds it reflectively with exactly these constructor parameter types.
 */
public final class IdleAwareReadJournalDao extends DefaultReadJournalDao {

  private final JournalPolling polling;
  private final String journalSequenceSql;

  public IdleAwareReadJournalDao(
      JdbcBackend.JdbcDatabaseDef db,
      JdbcProfile profile,
      ReadJournalConfig readJournalConfig,
      Serialization serialization,
      ExecutionContext ec,
      Materializer mat) {
    super(db, profile, readJournalConfig, serialization, ec, mat);
    this.polling = JournalPolling.get(Adapter.toTyped(mat.system()));
    this.journalSequenceSql = journalSequenceSql(readJournalConfig.eventJournalTableConfiguration());
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
            .thenCompose(ready -> FutureConverters.<List<Object>>asJava(runOrderingsAfter(offset, limit)))
            .whenComplete((found, failure) -> polling.queried(failure != null || !found.isEmpty()));
    return org.apache.pekko.stream.javadsl.Source.completionStage(orderings).<Object>mapConcat(found -> found).asScala();
  }

  @SuppressWarnings("unchecked")
  private scala.concurrent.Future<List<Object>> runOrderingsAfter(long offset, long limit) {
    return db().run(orderingsAfter(offset, limit));
  }

  /**
   * The orderings after {@code offset}, at most {@code limit}, ascending; the plugin's {@code
   * journalSequenceQuery} asks {@code ordering > ? ORDER BY ordering LIMIT ?}. Same answer when the
   * orderings have no holes; with holes it may hold fewer than {@code limit} (the journal-sequence
   * actor then asks again after its query-delay, from where it got to), never none while there are
   * newer rows, because the window starts at the first of them.
   *
   * <p>Why: PostgreSQL plans {@code ordering > $1 … LIMIT 10000} without statistics on the table
   * (autovacuum off, or before its first analyze) as a third of the table, and a whole-table scan
   * with a sort is then cheaper than the index: every query, 10 a second per node, read the whole
   * journal, and PostgreSQL's CPU grew with the journal at constant load (issue 18, benchmarks.md).
   * Bounded on both sides the range is planned as a small one and the ordering index is used with
   * or without statistics; the window's start is a {@code min()}, which PostgreSQL and H2 take from
   * the index.
   */
  @SuppressWarnings("rawtypes")
  private DBIOAction orderingsAfter(long offset, long limit) {
    // Raw: Slick's effect type parameter is contravariant in Scala, which Java cannot express for run.
    return SimpleJdbcAction.<List<Object>>apply(
        context -> {
          List<Object> found = new ArrayList<>();
          try (PreparedStatement s = context.connection().prepareStatement(journalSequenceSql)) {
            s.setLong(1, offset);
            s.setLong(2, offset);
            s.setLong(3, limit - 1);
            s.setLong(4, limit);
            try (ResultSet rs = s.executeQuery()) {
              while (rs.next()) found.add(rs.getLong(1));
            }
          } catch (SQLException e) {
            throw new IllegalStateException("the journal's orderings could not be read", e);
          }
          return found;
        });
  }

  /** The statement of {@link #orderingsAfter}: parameters offset, offset, limit - 1, limit. */
  static String journalSequenceSql(EventJournalTableConfiguration journal) {
    String table = (journal.schemaName().isDefined() ? quote(journal.schemaName().get()) + "." : "") + quote(journal.tableName());
    String ordering = quote(journal.columnNames().ordering());
    return "SELECT " + ordering + " FROM " + table + " WHERE " + ordering + " > ? AND " + ordering
        + " <= (SELECT MIN(" + ordering + ") FROM " + table + " WHERE " + ordering + " > ?) + ? ORDER BY " + ordering + " LIMIT ?";
  }

  private static String quote(String identifier) {
    return "\"" + identifier.replace("\"", "\"\"") + "\"";
  }
}
