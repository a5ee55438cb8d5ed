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
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.pekko.persistence.jdbc.config.JournalConfig;
import org.apache.pekko.persistence.jdbc.config.ReadJournalConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The read journal's events-by-tag query ({@link IdleAwareReadJournalDao#eventsByTagSql}, issue 18):
 * the plugin's answer (its {@code ReadJournalQueries._eventsByTag}), read on PostgreSQL from the
 * tag's rows of the range only, even on a journal without statistics. The plugin's query read every
 * journal row of the range (all tags' rows) and probed {@code event_tag} once per row.
 */
class EventsByTagQueryIT {

  /** The plugin's query as Slick writes it (join, the range on the journal's ordering). */
  private static final String PLUGINS =
      "SELECT j.\"ordering\" FROM \"event_journal\" j, \"event_tag\" t WHERE j.\"deleted\" = FALSE"
          + " AND j.\"ordering\" = t.\"event_id\" AND t.\"tag\" = ? AND j.\"ordering\" > ? AND j.\"ordering\" <= ?"
          + " ORDER BY j.\"ordering\" LIMIT ?";

  @ParameterizedTest(name = "{0}")
  @MethodSource("dev.parley.testing.TestNode#storagesStoppingQuickly")
  void answersAsThePluginsQuery(String storage, TestNode.Factory factory) throws Exception {
    try (TestNode node = factory.start()) {
      String sql = sql(node);
      try (Connection c = node.openDatabase()) {
        String pid = "ebt-" + UUID.randomUUID();
        List<JournalInserts.Row> rows = new ArrayList<>();
        for (int i = 1; i <= 400; i++) {
          // 8 tags as Parley's, some events with two tags, some rows marked deleted
          Set<String> tags = i % 7 == 0 ? Set.of(tag(i), tag(i + 1)) : Set.of(tag(i));
          rows.add(new JournalInserts.Row(pid, i, i % 50 == 0, "w", i, "", bytes("e" + i), 4, "m", null, null, null, tags));
        }
        inserts(node).write(c, rows, node.onPostgreSQL());
        long max = maxOrdering(c);
        for (String tag : List.of(tag(0), tag(3), tag(7), "no-such-tag")) {
          for (long[] range : new long[][] {{0, max}, {max - 240, max}, {max - 240, max - 100}, {max - 1, max}, {max, max}}) {
            for (long limit : new long[] {1, 10, 500}) {
              assertThat(orderings(c, sql, tag, range[0], range[1], limit))
                  .as("%s (%d, %d] limit %d", tag, range[0], range[1], limit)
                  .isEqualTo(orderings(c, PLUGINS, tag, range[0], range[1], limit));
            }
          }
        }
        assertThat(orderings(c, sql, tag(3), 0, max, 500)).hasSizeGreaterThan(40);
      }
    }
  }

  @Test
  void postgresReadsOnlyTheTagsRowsOfTheRangeWithoutStatistics() throws Exception {
    try (TestNode node = TestNode.onPostgres(TestNode.STOPS_QUICKLY)) {
      String sql = sql(node);
      try (Connection c = node.openDatabase()) {
        try (Statement s = c.createStatement()) {
          // as on a database whose autovacuum has not analyzed the journal yet (or is off)
          s.execute("ALTER TABLE event_journal SET (autovacuum_enabled = false)");
          s.execute("ALTER TABLE event_tag SET (autovacuum_enabled = false)");
        }
        JournalInserts inserts = inserts(node);
        for (int p = 0; p < 20; p++) {
          String pid = "ebt-" + UUID.randomUUID();
          List<JournalInserts.Row> rows = new ArrayList<>();
          for (int i = 1; i <= 1000; i++) {
            rows.add(new JournalInserts.Row(pid, i, false, "w", i, "", bytes("e" + i), 4, "m", null, null, null, Set.of(tag(i))));
          }
          inserts.write(c, rows, true);
        }
        long max = maxOrdering(c);
        // a consumer 240 rows behind, as the inbox's at 1,000 sends/s: 30 rows of its tag
        String ours = explain(c, sql, tag(3), max - 240, max);
        String plugins = explain(c, PLUGINS, tag(3), max - 240, max);
        assertThat(ours).contains("event_tag").containsPattern("Index Cond: \\(\\(event_id > ");
        assertThat(blocks(ours)).as(ours).isLessThan(blocks(plugins) / 3);
        // the plugin's, for contrast: it probes event_tag once for each of the range's 240 journal rows
        assertThat(plugins).contains("loops=240");
      }
    }
  }

  private static String sql(TestNode node) {
    ReadJournalConfig config = new ReadJournalConfig(node.node().system().settings().config().getConfig("jdbc-read-journal"));
    return IdleAwareReadJournalDao.eventsByTagSql(config.eventJournalTableConfiguration(), config.eventTagTableConfiguration());
  }

  private static JournalInserts inserts(TestNode node) {
    JournalConfig config = new JournalConfig(node.node().system().settings().config().getConfig("jdbc-journal"));
    return new JournalInserts(config.eventJournalTableConfiguration(), config.eventTagTableConfiguration());
  }

  private static String tag(int i) {
    return "conversations-" + Math.floorMod(i, 8);
  }

  private static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  private static long maxOrdering(Connection c) throws SQLException {
    try (Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SELECT MAX(\"ordering\") FROM \"event_journal\"")) {
      rs.next();
      return rs.getLong(1);
    }
  }

  private static List<Long> orderings(Connection c, String sql, String tag, long offset, long maxOffset, long limit)
      throws SQLException {
    List<Long> result = new ArrayList<>();
    try (PreparedStatement s = c.prepareStatement(sql)) {
      s.setString(1, tag);
      s.setLong(2, offset);
      s.setLong(3, maxOffset);
      s.setLong(4, limit);
      try (ResultSet rs = s.executeQuery()) {
        while (rs.next()) result.add(rs.getLong(1));
      }
    }
    return result;
  }

  private static String explain(Connection c, String sql, String tag, long offset, long maxOffset) throws SQLException {
    String literal =
        sql.replaceFirst("\\?", "'" + tag + "'")
            .replaceFirst("\\?", Long.toString(offset))
            .replaceFirst("\\?", Long.toString(maxOffset))
            .replaceFirst("\\?", "500");
    StringBuilder plan = new StringBuilder();
    try (Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("EXPLAIN (ANALYZE, BUFFERS) " + literal)) {
      while (rs.next()) plan.append(rs.getString(1)).append('\n');
    }
    return plan.toString();
  }

  /** The shared buffers the whole statement touched (the plan's first "Buffers:" line). */
  private static long blocks(String plan) {
    Matcher m = Pattern.compile("Buffers: shared hit=(\\d+)(?: read=(\\d+))?").matcher(plan);
    assertThat(m.find()).as(plan).isTrue();
    return Long.parseLong(m.group(1)) + (m.group(2) == null ? 0 : Long.parseLong(m.group(2)));
  }
}
