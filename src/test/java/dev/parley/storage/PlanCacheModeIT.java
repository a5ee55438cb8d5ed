package dev.parley.storage;

import static org.assertj.core.api.Assertions.assertThat;

import com.zaxxer.hikari.HikariDataSource;
import dev.parley.ParleyConfig;
import dev.parley.testing.TestNode;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.Map;
import javax.sql.DataSource;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.persistence.jdbc.db.SlickExtension;
import org.apache.pekko.persistence.jdbc.db.SlickExtensionImpl;
import org.junit.jupiter.api.Test;
import slick.jdbc.JdbcBackend;

/**
 * Every connection Parley opens to PostgreSQL plans each statement with its parameters
 * ({@code parley.db.plan-cache-mode}). With the server's default a node kept, for its whole life,
 * the eventsByTag plan it made while the journal was nearly empty; that plan read the whole tag
 * index per journal row, and the database's CPU grew with the table (benchmarks.md, fifth series).
 * The journal's pool is Slick's, built from {@link Storage#pekkoConfig()}; the inbox's and the
 * bots' pools and single connections come from {@link Storage#pool} and {@link Storage#connect()}.
 */
class PlanCacheModeIT {

  @Test
  void everyConnectionToPostgresPlansEachExecutionWithItsParameters() throws Exception {
    try (TestNode node = TestNode.onPostgres(TestNode.STOPS_QUICKLY)) {
      ActorSystem<Void> system = node.node().system();
      Storage storage = storageOf(system);

      assertThat(planCacheModeOf(journalPool(system))).isEqualTo("force_custom_plan");
      try (var pool = storage.pool("plan-cache-mode-it", 1, Duration.ofSeconds(5))) {
        assertThat(planCacheModeOf(pool)).isEqualTo("force_custom_plan");
      }
      try (Connection connection = storage.connect()) {
        assertThat(planCacheModeOf(connection)).isEqualTo("force_custom_plan");
      }
    }
  }

  /**
   * The journal's writers send one statement whose plan does not depend on its parameters; planned
   * anew for every batch (and PostgreSQL's foreign-key query for every tag row) it cost more than
   * its execution (issue 18, 2026-12-05). Their connections keep one generic plan; the journal's
   * pool, which the read journal shares, is unchanged.
   */
  @Test
  void theJournalWritersConnectionsKeepAGenericPlan() throws Exception {
    try (TestNode node = TestNode.onPostgres(TestNode.STOPS_QUICKLY)) {
      ActorSystem<Void> system = node.node().system();
      try (HikariDataSource writers = BatchingJournalDao.writerConnections(journalDatabase(system), 2)) {
        assertThat(planCacheModeOf(writers)).isEqualTo("force_generic_plan");
      }
      assertThat(planCacheModeOf(journalPool(system))).isEqualTo("force_custom_plan");
    }
  }

  @Test
  void anEmptySettingLeavesTheServersPlanCacheMode() throws Exception {
    try (TestNode node = TestNode.onPostgres(withQuickStop(Map.of("parley.db.plan-cache-mode", "")))) {
      String serversDefault;
      try (Connection plain = node.openDatabase()) {
        serversDefault = planCacheModeOf(plain);
      }
      ActorSystem<Void> system = node.node().system();
      Storage storage = storageOf(system);

      assertThat(serversDefault).isNotEqualTo("force_custom_plan");
      assertThat(planCacheModeOf(journalPool(system))).isEqualTo(serversDefault);
      try (HikariDataSource writers = BatchingJournalDao.writerConnections(journalDatabase(system), 2)) {
        assertThat(planCacheModeOf(writers)).isEqualTo(serversDefault);
      }
      try (Connection connection = storage.connect()) {
        assertThat(planCacheModeOf(connection)).isEqualTo(serversDefault);
      }
    }
  }

  /** H2 has no such setting: the option must not reach its driver, which refuses unknown ones. */
  @Test
  void onH2TheSettingIsNotPassedOnAndEveryPoolAnswers() throws Exception {
    try (TestNode node = TestNode.onH2()) {
      ActorSystem<Void> system = node.node().system();
      Storage storage = storageOf(system);

      assertThat(storage.connectionProperties()).doesNotContainKey("options");
      assertThat(answersOne(journalPool(system))).isTrue();
      try (var pool = storage.pool("plan-cache-mode-it", 1, Duration.ofSeconds(5))) {
        assertThat(answersOne(pool)).isTrue();
      }
    }
  }

  /** The pool the running node's journal, snapshot store and read journal share. */
  private static Connection journalPool(ActorSystem<Void> system) throws SQLException {
    return journalDatabase(system).source().createConnection();
  }

  private static JdbcBackend.JdbcDatabaseDef journalDatabase(ActorSystem<Void> system) {
    SlickExtensionImpl slick = (SlickExtensionImpl) SlickExtension.get(system);
    return slick.database(system.settings().config().getConfig("jdbc-journal")).database();
  }

  private static String planCacheModeOf(DataSource pool) throws SQLException {
    return planCacheModeOf(pool.getConnection());
  }

  private static String planCacheModeOf(Connection connection) throws SQLException {
    return firstValue(connection, "SELECT current_setting('plan_cache_mode')");
  }

  private static boolean answersOne(DataSource pool) throws SQLException {
    return answersOne(pool.getConnection());
  }

  private static boolean answersOne(Connection connection) throws SQLException {
    return "1".equals(firstValue(connection, "SELECT 1"));
  }

  /** The first column of the first row of {@code sql}; closes the connection (back to its pool). */
  private static String firstValue(Connection connection, String sql) throws SQLException {
    try (connection;
        Statement statement = connection.createStatement();
        ResultSet rows = statement.executeQuery(sql)) {
      assertThat(rows.next()).isTrue();
      return rows.getString(1);
    }
  }

  private static Map<String, Object> withQuickStop(Map<String, Object> settings) {
    Map<String, Object> all = new java.util.HashMap<>(TestNode.STOPS_QUICKLY);
    all.putAll(settings);
    return all;
  }

  private static Storage storageOf(ActorSystem<?> system) {
    ParleyConfig config = ParleyConfig.from(system.settings().config());
    return Storage.from(config.db(), config.dataDir());
  }
}
