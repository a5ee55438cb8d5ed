package dev.parley.storage;

import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Types;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.apache.pekko.persistence.jdbc.config.EventJournalTableColumnNames;
import org.apache.pekko.persistence.jdbc.config.EventJournalTableConfiguration;
import org.apache.pekko.persistence.jdbc.config.EventTagTableConfiguration;

/**
 * Writes a batch of journal rows and their tags in Pekko Persistence JDBC 1.1.1's table format
 * ({@code event_journal}, {@code event_tag}), so its read journal and recovery read them as their
 * own (issue 18).
 *
 * <p>Why not the plugin's insert: with any tag in the batch it runs {@code INSERT … RETURNING
 * ordering} (which pgjdbc cannot batch-rewrite), takes the orderings back to the client, and sends
 * a second insert for the tags, the two joined by a Slick {@code flatMap} that hops through the
 * journal actor's threads between them; then a commit: three round trips and two thread hand-offs
 * per batch ({@code JournalQueries.writeJournalRows}, L40–55). Here:
 *
 * <ul>
 *   <li><b>PostgreSQL: one statement, one round trip.</b> The rows go in as arrays ({@code unnest
 *       … WITH ORDINALITY}, one text for any batch size, so the server keeps it prepared), the
 *       journal insert is a data-modifying CTE whose orderings feed the tag insert inside the
 *       server, and the statement runs in auto-commit: a single statement is atomic by itself, so
 *       there is no separate commit round trip. Orderings are assigned in the batch's order.
 *   <li><b>Other databases (H2): two JDBC batches in one transaction</b>: the rows, then the tags,
 *       each tag row finding its event's ordering by the primary key (persistence id, sequence
 *       number).
 * </ul>
 *
 * <p>Either way the whole batch is one transaction: all rows and tags, or none.
 */
public final class JournalInserts {

  /** One journal row to write: the plugin's row fields, plus its tags. */
  public record Row(
      String persistenceId,
      long sequenceNumber,
      boolean deleted,
      String writer,
      long writeTimestamp,
      String adapterManifest,
      byte[] eventPayload,
      int eventSerId,
      String eventSerManifest,
      byte[] metaPayload,
      Integer metaSerId,
      String metaSerManifest,
      Set<String> tags) {}

  private final String postgresStatement;
  private final String rowInsert;
  private final String tagInsert;

  public JournalInserts(EventJournalTableConfiguration journal, EventTagTableConfiguration tags) {
    EventJournalTableColumnNames c = journal.columnNames();
    String journalTable = table(journal.tableName(), journal.schemaName());
    String tagTable = table(tags.tableName(), tags.schemaName());
    String eventId = q(tags.columnNames().eventId());
    String tag = q(tags.columnNames().tag());
    List<String> columns =
        List.of(
            c.persistenceId(), c.sequenceNumber(), c.deleted(), c.writer(), c.writeTimestamp(), c.adapterManifest(),
            c.eventPayload(), c.eventSerId(), c.eventSerManifest(), c.metaPayload(), c.metaSerId(), c.metaSerManifest());
    String columnList = String.join(", ", columns.stream().map(JournalInserts::q).toList());
    this.rowInsert =
        "INSERT INTO " + journalTable + " (" + columnList + ") VALUES (" + "?, ".repeat(columns.size() - 1) + "?)";
    this.tagInsert =
        "INSERT INTO " + tagTable + " (" + eventId + ", " + tag + ") SELECT " + q(c.ordering()) + ", ? FROM " + journalTable
            + " WHERE " + q(c.persistenceId()) + " = ? AND " + q(c.sequenceNumber()) + " = ?";
    // The input arrays, in column order, then the ordinal that keeps the batch's order.
    this.postgresStatement =
        "WITH input AS (SELECT * FROM unnest(?::varchar[], ?::int8[], ?::bool[], ?::varchar[], ?::int8[], ?::varchar[],"
            + " ?::bytea[], ?::int4[], ?::varchar[], ?::bytea[], ?::int4[], ?::varchar[]) WITH ORDINALITY"
            + " AS i(pid, seq, deleted, writer, ts, adapter, payload, ser_id, ser_manifest, meta, meta_ser_id, meta_ser_manifest, n)),"
            + " written AS (INSERT INTO " + journalTable + " (" + columnList + ")"
            + " SELECT pid, seq, deleted, writer, ts, adapter, payload, ser_id, ser_manifest, meta, meta_ser_id, meta_ser_manifest"
            + " FROM input ORDER BY n RETURNING " + q(c.ordering()) + " AS ordering, " + q(c.persistenceId()) + " AS pid, "
            + q(c.sequenceNumber()) + " AS seq)"
            + " INSERT INTO " + tagTable + " (" + eventId + ", " + tag + ")"
            + " SELECT w.ordering, t.tag FROM written w JOIN unnest(?::varchar[], ?::int8[], ?::varchar[]) AS t(pid, seq, tag)"
            + " ON t.pid = w.pid AND t.seq = w.seq";
  }

  /**
   * Writes {@code rows} (all or none). On PostgreSQL in one statement in auto-commit mode; elsewhere in
   * one transaction. Leaves the connection in auto-commit mode.
   */
  public void write(Connection connection, List<Row> rows, boolean postgres) throws SQLException {
    if (rows.isEmpty()) return;
    if (!connection.getAutoCommit()) connection.setAutoCommit(true);
    if (postgres) writePostgres(connection, rows);
    else writeInTransaction(connection, rows);
  }

  private void writePostgres(Connection connection, List<Row> rows) throws SQLException {
    int n = rows.size();
    String[] pid = new String[n], writer = new String[n], adapter = new String[n], manifest = new String[n], metaManifest = new String[n];
    Long[] seq = new Long[n], ts = new Long[n];
    Boolean[] deleted = new Boolean[n];
    byte[][] payload = new byte[n][], meta = new byte[n][];
    Integer[] serId = new Integer[n], metaSerId = new Integer[n];
    List<String> tagPid = new ArrayList<>(n), tag = new ArrayList<>(n);
    List<Long> tagSeq = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      Row r = rows.get(i);
      pid[i] = r.persistenceId();
      seq[i] = r.sequenceNumber();
      deleted[i] = r.deleted();
      writer[i] = r.writer();
      ts[i] = r.writeTimestamp();
      adapter[i] = r.adapterManifest();
      payload[i] = r.eventPayload();
      serId[i] = r.eventSerId();
      manifest[i] = r.eventSerManifest();
      meta[i] = r.metaPayload();
      metaSerId[i] = r.metaSerId();
      metaManifest[i] = r.metaSerManifest();
      for (String t : r.tags()) {
        tagPid.add(r.persistenceId());
        tagSeq.add(r.sequenceNumber());
        tag.add(t);
      }
    }
    List<Array> arrays = new ArrayList<>(15);
    try (PreparedStatement s = connection.prepareStatement(postgresStatement)) {
      Object[][] values = {
        pid, seq, deleted, writer, ts, adapter, payload, serId, manifest, meta, metaSerId, metaManifest,
        tagPid.toArray(String[]::new), tagSeq.toArray(Long[]::new), tag.toArray(String[]::new)
      };
      String[] types = {
        "varchar", "int8", "bool", "varchar", "int8", "varchar", "bytea", "int4", "varchar", "bytea", "int4", "varchar",
        "varchar", "int8", "varchar"
      };
      for (int i = 0; i < values.length; i++) {
        Array array = connection.createArrayOf(types[i], values[i]);
        arrays.add(array);
        s.setArray(i + 1, array);
      }
      s.executeUpdate();
    } finally {
      for (Array array : arrays) array.free();
    }
  }

  private void writeInTransaction(Connection connection, List<Row> rows) throws SQLException {
    connection.setAutoCommit(false);
    try {
      boolean anyTag = false;
      try (PreparedStatement s = connection.prepareStatement(rowInsert)) {
        for (Row r : rows) {
          s.setString(1, r.persistenceId());
          s.setLong(2, r.sequenceNumber());
          s.setBoolean(3, r.deleted());
          s.setString(4, r.writer());
          s.setLong(5, r.writeTimestamp());
          s.setString(6, r.adapterManifest());
          s.setBytes(7, r.eventPayload());
          s.setInt(8, r.eventSerId());
          s.setString(9, r.eventSerManifest());
          if (r.metaPayload() == null) s.setNull(10, Types.VARBINARY);
          else s.setBytes(10, r.metaPayload());
          if (r.metaSerId() == null) s.setNull(11, Types.INTEGER);
          else s.setInt(11, r.metaSerId());
          s.setString(12, r.metaSerManifest());
          s.addBatch();
          anyTag |= !r.tags().isEmpty();
        }
        s.executeBatch();
      }
      if (anyTag) {
        try (PreparedStatement s = connection.prepareStatement(tagInsert)) {
          for (Row r : rows) {
            for (String t : r.tags()) {
              s.setString(1, t);
              s.setString(2, r.persistenceId());
              s.setLong(3, r.sequenceNumber());
              s.addBatch();
            }
          }
          s.executeBatch();
        }
      }
      connection.commit();
    } catch (SQLException | RuntimeException e) {
      try {
        connection.rollback();
      } catch (SQLException rollback) {
        e.addSuppressed(rollback);
      }
      throw e;
    } finally {
      try {
        connection.setAutoCommit(true);
      } catch (SQLException ignored) {
        // a broken connection: the pool drops it
      }
    }
  }

  private static String table(String name, scala.Option<String> schema) {
    return schema.isDefined() ? q(schema.get()) + "." + q(name) : q(name);
  }

  private static String q(String identifier) {
    return "\"" + identifier.replace("\"", "\"\"") + "\"";
  }
}
