package dev.parley.storage;

import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The journal's write stage (issue 18): a queue of writes and a few threads of its own that take
 * whatever has queued up, up to {@code batchSize} rows, and write it as one batch ({@link
 * JournalInserts}: one statement on PostgreSQL), then answer every write of the batch.
 *
 * <p>Batch shape, chosen deliberately: by default a writer never waits for rows to arrive (a lone
 * write goes at once); while it writes, what arrives queues and becomes the next batch, so rows per
 * batch grow with the arrival rate times the database's round trip. With a {@code linger} a writer
 * that took a write waits up to that long for more (as Kafka's producer {@code linger.ms}): fewer,
 * larger statements and commits on a database that answers fast, for up to the linger of latency. {@code writers} threads write at once (2:
 * one batch commits while the next is sent, on a 2-core box). Rows of different conversations share
 * a batch; a conversation has at most one write in flight (the entity waits for its answer), so its
 * rows are never split across writers out of order.
 *
 * <p>Replaces Pekko Persistence JDBC's own queue ({@code BaseDao}: a stream on the actor threads →
 * Slick's thread pool → back to the stream → the journal), so a batch costs one hand-off to a writer
 * thread and one back; a writer borrows a pooled connection per batch (a pool of the writers' own,
 * with the journal's settings and connection timeout: {@code BatchingJournalDao}). A failed batch fails every write in it, and none
 * of it is persisted.
 */
final class JournalWriter {

  private static final Logger log = LoggerFactory.getLogger(JournalWriter.class);

  /** What a writer needs from the database: a connection, and whether it is PostgreSQL. */
  interface Connections {
    Connection open() throws SQLException;
  }

  private record Pending(List<JournalInserts.Row> rows, CompletableFuture<Void> done) {}

  private final BlockingQueue<Pending> queue;
  private final int batchSize;
  private final long lingerNanos;
  private final JournalInserts inserts;
  private final Connections connections;
  private final List<Thread> threads = new ArrayList<>();
  private volatile boolean stopped;
  private volatile Boolean postgres;
  private final JournalWrites statistics;

  /** @param linger how long a writer that took a write waits for more before it writes (jdbc-journal.write-linger) */
  JournalWriter(
      String name,
      int writers,
      int bufferSize,
      int batchSize,
      Duration linger,
      JournalInserts inserts,
      Connections connections,
      JournalWrites statistics) {
    if (writers < 1 || batchSize < 1 || bufferSize < 1) {
      throw new IllegalArgumentException("jdbc-journal parallelism, batchSize and bufferSize must be positive");
    }
    if (linger.isNegative()) throw new IllegalArgumentException("jdbc-journal.write-linger must not be negative");
    this.queue = new ArrayBlockingQueue<>(bufferSize);
    this.batchSize = batchSize;
    this.lingerNanos = linger.toNanos();
    this.inserts = inserts;
    this.connections = connections;
    this.statistics = statistics;
    for (int i = 1; i <= writers; i++) {
      Thread t = new Thread(this::run, name + "-" + i);
      t.setDaemon(true);
      threads.add(t);
      t.start();
    }
  }

  /** Queues {@code rows} (one or more atomic writes of one caller): completes once they are durable. */
  CompletableFuture<Void> write(List<JournalInserts.Row> rows) {
    CompletableFuture<Void> done = new CompletableFuture<>();
    if (rows.isEmpty()) {
      done.complete(null);
    } else if (stopped) {
      done.completeExceptionally(new IllegalStateException("the journal writer is stopped"));
    } else if (!queue.offer(new Pending(rows, done))) {
      done.completeExceptionally(
          new IllegalStateException("the journal's write queue is full (" + (queue.size() + queue.remainingCapacity())
              + " writes, jdbc-journal.bufferSize)"));
    }
    return done;
  }

  private void run() {
    List<Pending> batch = new ArrayList<>();
    List<JournalInserts.Row> rows = new ArrayList<>();
    while (!stopped) {
      try {
        batch.add(queue.take());
      } catch (InterruptedException e) {
        break;
      }
      int size = batch.get(0).rows().size();
      long lingerUntil = System.nanoTime() + lingerNanos;
      while (size < batchSize) {
        Pending next = queue.poll();
        if (next == null) {
          long left = lingerUntil - System.nanoTime();
          if (left <= 0) break;
          try {
            next = queue.poll(left, TimeUnit.NANOSECONDS);
          } catch (InterruptedException e) {
            break; // stopping: write what was taken, the loop then ends
          }
          if (next == null) break;
        }
        batch.add(next);
        size += next.rows().size();
      }
      for (Pending p : batch) rows.addAll(p.rows());
      Throwable failure = null;
      try (Connection c = connections.open()) {
        Boolean pg = postgres;
        if (pg == null) postgres = pg = c.getMetaData().getDatabaseProductName().toLowerCase().contains("postgres");
        inserts.write(c, rows, pg);
        statistics.written(rows.size());
      } catch (Throwable t) {
        failure = t;
      }
      for (Pending p : batch) {
        if (failure == null) p.done().complete(null);
        else p.done().completeExceptionally(failure);
      }
      if (failure != null) log.debug("journal batch of {} rows failed: {}", rows.size(), failure.toString());
      batch.clear();
      rows.clear();
    }
    Pending left;
    while ((left = queue.poll()) != null) left.done().completeExceptionally(new IllegalStateException("the journal writer stopped"));
  }

  void stop() {
    stopped = true;
    threads.forEach(Thread::interrupt);
  }
}
