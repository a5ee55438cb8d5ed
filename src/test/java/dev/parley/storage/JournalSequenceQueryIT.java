package dev.parley.storage;

import static org.assertj.core.api.Assertions.assertThat;

import dev.parley.testing.TestNode;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.stream.IntStream;
import org.apache.pekko.persistence.jdbc.config.JournalConfig;
import org.apache.pekko.persistence.jdbc.config.ReadJournalConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The read journal's query for new orderings ({@link IdleAwareReadJournalDao#journalSequenceSql},
 * issue 18): the plugin's answer where the orderings have no holes, a non-empty prefix of it where
 * they have, and on PostgreSQL an index scan even on a journal without statistics (the plugin's
 * {@code ordering > ? ORDER BY ordering LIMIT ?} read the whole table there, 10 times a second).
 */
class JournalSequenceQueryIT {

  @ParameterizedTest(name = "{0}")
  @MethodSource("dev.parley.testing.TestNode#storagesStoppingQuickly")
  void answersAsThePluginsQueryWithoutHolesAndNeverEmptyWhileNewerRowsExist(String storage, TestNode.Factory factory)
      throws Exception {
    try (TestNode node = factory.start()) {
      String sql = IdleAwareReadJournalDao.journalSequenceSql(readJournal(node).eventJournalTableConfiguration());
      try (Connection c = node.openDatabase()) {
        write(node, c, 300);
        long max = maxOrdering(c);
        for (long offset : new long[] {0, max - 300, max - 120, max - 1, max}) {
          for (long limit : new long[] {1, 50, 10_000}) {
            assertThat(query(c, sql, offset, limit)).as("offset %d limit %d", offset, limit).isEqualTo(plugins(c, offset, limit));
          }
        }
        // a hole of 100 orderings after `from`: the answer stops short of the limit but is not empty
        long from = max - 200;
        try (PreparedStatement delete =
            c.prepareStatement("DELETE FROM \"event_journal\" WHERE \"ordering\" > ? AND \"ordering\" <= ?")) {
          delete.setLong(1, from);
          delete.setLong(2, from + 100);
          delete.executeUpdate();
        }
        List<Long> plugins = plugins(c, from, 150);
        List<Long> ours = query(c, sql, from, 150);
        assertThat(ours).isNotEmpty().isEqualTo(plugins.subList(0, ours.size()));
        assertThat(ours.get(0)).isEqualTo(from + 101);
        assertThat(query(c, sql, maxOrdering(c), 10_000)).isEmpty();
      }
    }
  }

  @Test
  void postgresAnswersFromTheOrderingIndexWithoutStatistics() throws Exception {
    try (TestNode node = TestNode.onPostgres(TestNode.STOPS_QUICKLY)) {
      String sql = IdleAwareReadJournalDao.journalSequenceSql(readJournal(node).eventJournalTableConfiguration());
      try (Connection c = node.openDatabase()) {
        try (Statement s = c.createStatement()) {
          // as on a database whose autovacuum has not analyzed the journal yet (or is off)
          s.execute("ALTER TABLE event_journal SET (autovacuum_enabled = false)");
        }
        write(node, c, 20_000);
        long max = maxOrdering(c);
        String plan = explain(c, sql, max - 10, 10_000);
        assertThat(plan).doesNotContain("Seq Scan").contains("event_journal_ordering_idx");
        // the plugin's own query, for contrast: the reason for ours
        String plugins = explain(c, "SELECT \"ordering\" FROM \"event_journal\" WHERE \"ordering\" > ? ORDER BY \"ordering\" LIMIT ?", max - 10, 10_000);
        assertThat(plugins).contains("Seq Scan on event_journal");
      }
    }
  }

  private static ReadJournalConfig readJournal(TestNode node) {
    return new ReadJournalConfig(node.node().system().settings().config().getConfig("jdbc-read-journal"));
  }

  private static void write(TestNode node, Connection c, int rows) throws SQLException {
    JournalConfig config = new JournalConfig(node.node().system().settings().config().getConfig("jdbc-journal"));
    JournalInserts inserts = new JournalInserts(config.eventJournalTableConfiguration(), config.eventTagTableConfiguration());
    String pid = "seq-" + UUID.randomUUID();
    for (int from = 1; from <= rows; from += 1000) {
      int start = from;
      List<JournalInserts.Row> batch =
          IntStream.range(start, Math.min(rows + 1, start + 1000))
              .mapToObj(
                  i -> new JournalInserts.Row(pid, i, false, "w", 0, "", "x".getBytes(StandardCharsets.UTF_8), 4, "m", null, null, null, Set.of()))
              .toList();
      inserts.write(c, batch, node.onPostgreSQL());
    }
  }

  private static long maxOrdering(Connection c) throws SQLException {
    try (Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SELECT MAX(\"ordering\") FROM \"event_journal\"")) {
      rs.next();
      return rs.getLong(1);
    }
  }

  private static List<Long> query(Connection c, String sql, long offset, long limit) throws SQLException {
    try (PreparedStatement s = c.prepareStatement(sql)) {
      s.setLong(1, offset);
      s.setLong(2, offset);
      s.setLong(3, limit - 1);
      s.setLong(4, limit);
      return longs(s);
    }
  }

  private static List<Long> plugins(Connection c, long offset, long limit) throws SQLException {
    try (PreparedStatement s =
        c.prepareStatement("SELECT \"ordering\" FROM \"event_journal\" WHERE \"ordering\" > ? ORDER BY \"ordering\" LIMIT ?")) {
      s.setLong(1, offset);
      s.setLong(2, limit);
      return longs(s);
    }
  }

  private static String explain(Connection c, String sql, long offset, long limit) throws SQLException {
    String literal = sql.replaceFirst("\\?", Long.toString(offset));
    boolean ours = literal.contains("MIN(");
    if (ours) {
      literal = literal.replaceFirst("\\?", Long.toString(offset)).replaceFirst("\\?", Long.toString(limit - 1));
    }
    literal = literal.replaceFirst("\\?", Long.toString(limit));
    StringBuilder plan = new StringBuilder();
    try (Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("EXPLAIN " + literal)) {
      while (rs.next()) plan.append(rs.getString(1)).append('\n');
    }
    return plan.toString();
  }

  private static List<Long> longs(PreparedStatement s) throws SQLException {
    List<Long> result = new ArrayList<>();
    try (ResultSet rs = s.executeQuery()) {
      while (rs.next()) result.add(rs.getLong(1));
    }
    return result;
  }
}
