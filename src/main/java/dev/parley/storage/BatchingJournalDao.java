package dev.parley.storage;

import java.util.ArrayList;
import java.util.List;
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

  public BatchingJournalDao(
      JdbcBackend.JdbcDatabaseDef db,
      JdbcProfile profile,
      JournalConfig journalConfig,
      Serialization serialization,
      ExecutionContext ec,
      Materializer mat) {
    super(db, profile, journalConfig, serialization, ec, mat);
    var dao = journalConfig.daoConfig();
    this.writer =
        new JournalWriter(
            "parley-journal-writer",
            dao.parallelism(),
            dao.bufferSize(),
            dao.batchSize(),
            new JournalInserts(journalConfig.eventJournalTableConfiguration(), journalConfig.eventTagTableConfiguration()),
            () -> db.source().createConnection(),
            JournalWrites.get(Adapter.toTyped(mat.system())));
    mat.system().registerOnTermination(writer::stop);
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
