package dev.parley.storage;

import com.typesafe.config.Config;
import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.Set;
import org.apache.pekko.actor.typed.javadsl.Adapter;
import org.apache.pekko.persistence.jdbc.config.JournalConfig;
import org.apache.pekko.persistence.jdbc.journal.dao.DefaultJournalDao;
import org.apache.pekko.persistence.jdbc.journal.dao.JournalTables.JournalPekkoSerializationRow;
import org.apache.pekko.serialization.Serialization;
import org.apache.pekko.stream.Materializer;
import scala.Tuple2;
import scala.concurrent.ExecutionContext;
import scala.concurrent.Future;
import scala.concurrent.Promise;
import scala.jdk.javaapi.CollectionConverters;
import scala.runtime.BoxedUnit;
import slick.jdbc.JdbcBackend;
import slick.jdbc.JdbcProfile;
import slick.jdbc.hikaricp.HikariCPJdbcDataSource;

/**
 * Pekko Persistence JDBC's journal DAO (1.1.1) with Parley's write stage ({@link JournalWriter},
 * {@link JournalInserts}); configured as {@code jdbc-journal.dao} (issue 18). Everything but the
 * writes is the plugin's: serialization of events ({@code asyncWriteMessages}), recovery reads,
 * the highest sequence number, deletes. The rows it writes are the plugin's rows in the plugin's
 * tables, so the plugin's read journal and recovery read them unchanged.
 *
 * <p>Guarantees, as the plugin's: a write is answered only once its rows are committed
 * (persist-then-ack); an {@code AtomicWrite} is never split (all rows of one call go into one
 * batch, one transaction); a failed batch fails every write in it.
 *
 * <p>Pekko builds it reflectively with exactly these constructor parameter types.
 */
public final class BatchingJournalDao extends DefaultJournalDao {

  private final JournalWriter writer;
  private final HikariDataSource writerConnections;

  public BatchingJournalDao(
      JdbcBackend.JdbcDatabaseDef db,
      JdbcProfile profile,
      JournalConfig journalConfig,
      Serialization serialization,
      ExecutionContext ec,
      Materializer mat) {
    super(db, profile, journalConfig, serialization, ec, mat);
    var dao = journalConfig.daoConfig();
    this.writerConnections = writerConnections(db, dao.parallelism());
    this.writer =
        new JournalWriter(
            "parley-journal-writer",
            dao.parallelism(),
            dao.bufferSize(),
            dao.batchSize(),
            writeLinger(mat.system().settings().config()),
            new JournalInserts(journalConfig.eventJournalTableConfiguration(), journalConfig.eventTagTableConfiguration()),
            writerConnections::getConnection,
            JournalWrites.get(Adapter.toTyped(mat.system())));
    mat.system()
        .registerOnTermination(
            () -> {
              writer.stop();
              writerConnections.close();
            });
  }

  /**
   * {@code jdbc-journal.write-linger}, {@code write-linger-from-rate}, {@code write-linger-rows}
   * (Parley's keys beside the plugin's; no linger where they are not set, e.g. a test's own config).
   */
  static WriteLinger writeLinger(Config config) {
    Config journal = config.getConfig("jdbc-journal");
    Duration linger = journal.hasPath("write-linger") ? journal.getDuration("write-linger") : Duration.ZERO;
    double fromRate = journal.hasPath("write-linger-from-rate") ? journal.getDouble("write-linger-from-rate") : 0;
    int rows = journal.hasPath("write-linger-rows") ? journal.getInt("write-linger-rows") : Integer.MAX_VALUE;
    return new WriteLinger(linger, fromRate, rows);
  }

  /**
   * The writers' connections: a pool of {@code writers} connections of their own, configured as the
   * journal's pool (Slick's HikariCP: URL, credentials, timeouts) except, on PostgreSQL, for {@code
   * plan_cache_mode = force_generic_plan}.
   *
   * <p>Why: Parley's connections plan every statement with its parameters ({@code
   * parley.db.plan-cache-mode = force_custom_plan}, for the read side's queries, whose best plan
   * depends on the tables' size). The writers send one statement only ({@link JournalInserts}),
   * whose plan never depends on its parameters; planned anew for every batch it cost PostgreSQL
   * 0.16–0.18 ms, more than its execution (0.16 ms for 6 rows), and the foreign key check of
   * every tag row, a cached query of PostgreSQL's own, was planned again for every row as well
   * (issue 18, benchmarks.md 2026-12-05). A connection only the writers use keeps one generic plan
   * of each. Where {@code plan-cache-mode} is empty (a pooler that refuses startup options), the
   * writers' connections are set up exactly as the journal's.
   */
  static HikariDataSource writerConnections(JdbcBackend.JdbcDatabaseDef db, int writers) {
    if (!(db.source() instanceof HikariCPJdbcDataSource slickPool)) {
      throw new IllegalStateException("jdbc-journal needs Slick's HikariCP pool (connectionPool = HikariCP)");
    }
    HikariDataSource journal = slickPool.ds();
    HikariConfig config = new HikariConfig();
    config.setJdbcUrl(journal.getJdbcUrl());
    if (journal.getDriverClassName() != null) config.setDriverClassName(journal.getDriverClassName());
    config.setUsername(journal.getUsername());
    config.setPassword(journal.getPassword());
    config.setConnectionTimeout(journal.getConnectionTimeout());
    config.setValidationTimeout(journal.getValidationTimeout());
    // a copy: HikariConfig.copyStateTo would share (and setDataSourceProperties then change) the journal's
    Properties properties = new Properties();
    properties.putAll(journal.getDataSourceProperties());
    if (journal.getJdbcUrl().startsWith("jdbc:postgresql:") && properties.containsKey("options")) {
      properties.setProperty("options", "-c plan_cache_mode=force_generic_plan");
    }
    config.setDataSourceProperties(properties);
    config.setPoolName(journal.getPoolName() + "-writers");
    config.setMaximumPoolSize(writers);
    config.setMinimumIdle(1);
    config.setRegisterMbeans(false);
    config.setInitializationFailTimeout(-1);
    return new HikariDataSource(config);
  }

  @Override
  public Future<BoxedUnit> queueWriteJournalRows(
      scala.collection.immutable.Seq<Tuple2<JournalPekkoSerializationRow, scala.collection.immutable.Set<String>>> xs) {
    Promise<BoxedUnit> promise = Promise.apply();
    writer
        .write(rows(xs))
        .whenComplete(
            (ok, failure) -> {
              if (failure == null) promise.success(BoxedUnit.UNIT);
              else promise.failure(failure);
            });
    return promise.future();
  }

  @Override
  public Future<BoxedUnit> writeJournalRows(
      scala.collection.immutable.Seq<Tuple2<JournalPekkoSerializationRow, scala.collection.immutable.Set<String>>> xs) {
    return queueWriteJournalRows(xs);
  }

  private static List<JournalInserts.Row> rows(
      scala.collection.immutable.Seq<Tuple2<JournalPekkoSerializationRow, scala.collection.immutable.Set<String>>> xs) {
    List<JournalInserts.Row> rows = new ArrayList<>(xs.size());
    for (Tuple2<JournalPekkoSerializationRow, scala.collection.immutable.Set<String>> x : CollectionConverters.asJava(xs)) {
      JournalPekkoSerializationRow r = x._1();
      Set<String> tags = CollectionConverters.asJava(x._2());
      rows.add(
          new JournalInserts.Row(
              r.persistenceId(),
              r.sequenceNumber(),
              r.deleted(),
              r.writer(),
              r.writeTimestamp(),
              r.adapterManifest(),
              r.eventPayload(),
              r.eventSerId(),
              r.eventSerManifest(),
              r.metaPayload().isDefined() ? r.metaPayload().get() : null,
              r.metaSerId().isDefined() ? (Integer) r.metaSerId().get() : null,
              r.metaSerManifest().isDefined() ? r.metaSerManifest().get() : null,
              tags));
    }
    return rows;
  }
}
