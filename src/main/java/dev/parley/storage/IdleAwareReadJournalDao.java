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
import org.apache.pekko.persistence.jdbc.PekkoSerialization;
import org.apache.pekko.persistence.jdbc.config.EventJournalTableColumnNames;
import org.apache.pekko.persistence.jdbc.config.EventJournalTableConfiguration;
import org.apache.pekko.persistence.jdbc.config.EventTagTableConfiguration;
import org.apache.pekko.persistence.jdbc.config.ReadJournalConfig;
import org.apache.pekko.persistence.jdbc.journal.dao.JournalTables.JournalPekkoSerializationRow;
import org.apache.pekko.persistence.jdbc.query.dao.DefaultReadJournalDao;
import org.apache.pekko.serialization.Serialization;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.scaladsl.Source;
import scala.Option;
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
 *       per {@code idle-query-delay} instead of 80 times a second. A query that is sent is ours
 *       ({@link #eventsByTagSql}): the same rows, read from the tag's rows of the range only.
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
  private final Serialization serialization;
  private final String journalSequenceSql;
  private final String eventsByTagSql;

  public IdleAwareReadJournalDao(
      JdbcBackend.JdbcDatabaseDef db,
      JdbcProfile profile,
      ReadJournalConfig readJournalConfig,
      Serialization serialization,
      ExecutionContext ec,
      Materializer mat) {
    super(db, profile, readJournalConfig, serialization, ec, mat);
    this.polling = JournalPolling.get(Adapter.toTyped(mat.system()));
    this.serialization = serialization;
    this.journalSequenceSql = journalSequenceSql(readJournalConfig.eventJournalTableConfiguration());
    this.eventsByTagSql =
        eventsByTagSql(readJournalConfig.eventJournalTableConfiguration(), readJournalConfig.eventTagTableConfiguration());
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
    CompletionStage<List<Try<Tuple3<PersistentRepr, scala.collection.immutable.Set<String>, Object>>>> events =
        FutureConverters.<List<JournalPekkoSerializationRow>>asJava(runEventsByTag(tag, offset, maxOffset, max))
            .thenApply(rows -> rows.stream().map(this::event).toList());
    return org.apache.pekko.stream.javadsl.Source.completionStage(events).mapConcat(found -> found).asScala();
  }

  /** A row of {@link #eventsByTagSql}, as the plugin's read journal hands it on (its tags not read, as the plugin's). */
  private Try<Tuple3<PersistentRepr, scala.collection.immutable.Set<String>, Object>> event(JournalPekkoSerializationRow row) {
    return PekkoSerialization.fromRow(serialization, row)
        .map(read -> new Tuple3<>(read._1(), scala.collection.immutable.Set$.MODULE$.<String>empty(), read._2()));
  }

  @SuppressWarnings("unchecked")
  private scala.concurrent.Future<List<JournalPekkoSerializationRow>> runEventsByTag(String tag, long offset, long maxOffset, long max) {
    return db().run(eventsByTagAction(tag, offset, maxOffset, max));
  }

  /**
   * The events of {@code tag} with {@code offset < ordering <= maxOffset}, at most {@code max}, by
   * ordering: the plugin's {@code eventsByTag} answer ({@code ReadJournalQueries._eventsByTag}).
   *
   * <p>Why a statement of our own: the plugin's filters the ordering range on the journal and joins
   * {@code event_tag} to it, so PostgreSQL reads every journal row of the range (all 8 tags' rows)
   * and probes {@code event_tag} once per row: ~760 blocks for 27 rows at a lag of 240 rows (issue
   * 18, benchmarks.md, 2026-12-05). Here the range is put on {@code event_tag.event_id} as well, so
   * its primary key (event_id, tag) yields the tag's rows of the range from a few index pages, and
   * only those are fetched from the journal by its ordering index: ~90 blocks, a fifth of the
   * time, and a fifth of the planning time. Same tables and indexes as the plugin's schema.
   */
  @SuppressWarnings("rawtypes")
  private DBIOAction eventsByTagAction(String tag, long offset, long maxOffset, long max) {
    return SimpleJdbcAction.<List<JournalPekkoSerializationRow>>apply(
        context -> {
          List<JournalPekkoSerializationRow> found = new ArrayList<>();
          try (PreparedStatement s = context.connection().prepareStatement(eventsByTagSql)) {
            s.setString(1, tag);
            s.setLong(2, offset);
            s.setLong(3, maxOffset);
            // H2 refuses a limit beyond an int (the plugin's correctMaxForH2Driver)
            s.setLong(4, Math.min(max, Integer.MAX_VALUE));
            try (ResultSet rs = s.executeQuery()) {
              while (rs.next()) found.add(row(rs));
            }
          } catch (SQLException e) {
            throw new IllegalStateException("the events of tag " + tag + " could not be read", e);
          }
          return found;
        });
  }

  private static JournalPekkoSerializationRow row(ResultSet rs) throws SQLException {
    byte[] metaPayload = rs.getBytes(11);
    int metaSerId = rs.getInt(12);
    Option<Object> metaSerIdOption = rs.wasNull() ? Option.empty() : Option.apply(metaSerId);
    return new JournalPekkoSerializationRow(
        rs.getLong(1),
        rs.getBoolean(2),
        rs.getString(3),
        rs.getLong(4),
        rs.getString(5),
        rs.getLong(6),
        rs.getString(7),
        rs.getBytes(8),
        rs.getInt(9),
        rs.getString(10),
        Option.apply(metaPayload),
        metaSerIdOption,
        Option.apply(rs.getString(13)));
  }

  /** The statement of {@link #eventsByTagAction}: parameters tag, offset, maxOffset, max. */
  static String eventsByTagSql(EventJournalTableConfiguration journal, EventTagTableConfiguration tags) {
    EventJournalTableColumnNames c = journal.columnNames();
    String columns =
        List.of(
                c.ordering(), c.deleted(), c.persistenceId(), c.sequenceNumber(), c.writer(), c.writeTimestamp(),
                c.adapterManifest(), c.eventPayload(), c.eventSerId(), c.eventSerManifest(), c.metaPayload(), c.metaSerId(),
                c.metaSerManifest())
            .stream()
            .map(column -> "j." + quote(column))
            .collect(java.util.stream.Collectors.joining(", "));
    String eventId = "t." + quote(tags.columnNames().eventId());
    return "SELECT " + columns + " FROM " + table(tags.tableName(), tags.schemaName()) + " t JOIN "
        + table(journal.tableName(), journal.schemaName()) + " j ON j." + quote(c.ordering()) + " = " + eventId
        + " WHERE t." + quote(tags.columnNames().tag()) + " = ? AND " + eventId + " > ? AND " + eventId + " <= ?"
        + " AND j." + quote(c.deleted()) + " = FALSE ORDER BY " + eventId + " LIMIT ?";
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
    String table = table(journal.tableName(), journal.schemaName());
    String ordering = quote(journal.columnNames().ordering());
    return "SELECT " + ordering + " FROM " + table + " WHERE " + ordering + " > ? AND " + ordering
        + " <= (SELECT MIN(" + ordering + ") FROM " + table + " WHERE " + ordering + " > ?) + ? ORDER BY " + ordering + " LIMIT ?";
  }

  private static String table(String name, Option<String> schema) {
    return (schema.isDefined() ? quote(schema.get()) + "." : "") + quote(name);
  }

  private static String quote(String identifier) {
    return "\"" + identifier.replace("\"", "\"\"") + "\"";
  }
}
