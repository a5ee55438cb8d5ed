package dev.parley.storage;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The journal's write stage (issue 18): a queue of writes and a few threads of its own that take
 * whatever has queued up, up to {@code batchSize} rows, and write it as one batch ({@link
 * JournalInserts}: one statement on PostgreSQL), then answer every write of the batch.
 *
 * <p>Batch shape, chosen deliberately. One writer at a time collects a batch; the others write
 * theirs meanwhile ({@code writers} threads, 2 on a 2-core box: one batch commits while the next is
 * collected and sent). A collector takes what has queued, and waits for more only when {@link
 * WriteLinger} says writes arrive fast (group commit, as PostgreSQL's {@code commit_delay} /
 * {@code commit_siblings}): then up to {@code write-linger}, or until the batch holds {@code
 * write-linger-rows} rows (only the write that fills the batch wakes a lingering collector; the
 * others wait in the queue for the linger's end). So a lone write at a low rate goes at once, and
 * at 2,000 writes/s a batch carries ~rate × linger rows instead of the ~1.5 that overlap on a
 * database answering in ~1 ms. Because one writer collects at a time, a linger's window is the stage's, not each
 * writer's: two writers lingering side by side would split the arrivals between two half-full
 * batches (the fixed linger of 2026-12-05 did: 0.20 commits per send at 2,000/s with 4 ms, where
 * one window gives ~0.1). Rows of different conversations share a batch; a conversation has at
 * most one write in flight (the entity waits for its answer), so its rows are never split across
 * writers out of order.
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
  /** Rows in {@code queue}: what a lingering collector waits for. */
  private final AtomicInteger queuedRows = new AtomicInteger();
  /** The collector while it lingers (else null), and the queued rows at which a write wakes it. */
  private volatile Thread lingering;
  private volatile int wakeAtRows;
  private final int batchSize;
  private final WriteLinger linger;
  /** Held by the writer that collects the next batch: one collects while the others write. */
  private final ReentrantLock collecting = new ReentrantLock();
  private final JournalInserts inserts;
  private final Connections connections;
  private final List<Thread> threads = new ArrayList<>();
  private volatile boolean stopped;
  private volatile Boolean postgres;
  private final JournalWrites statistics;

  /** @param linger when and how long a collecting writer waits for more writes (jdbc-journal.write-linger*) */
  JournalWriter(
      String name,
      int writers,
      int bufferSize,
      int batchSize,
      WriteLinger linger,
      JournalInserts inserts,
      Connections connections,
      JournalWrites statistics) {
    if (writers < 1 || batchSize < 1 || bufferSize < 1) {
      throw new IllegalArgumentException("jdbc-journal parallelism, batchSize and bufferSize must be positive");
    }
    this.queue = new ArrayBlockingQueue<>(bufferSize);
    this.batchSize = batchSize;
    this.linger = linger;
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
    } else if (queue.offer(new Pending(rows, done))) {
      // Wake a lingering collector only once its batch is full: woken for every write, it took
      // that write and parked again, ~0.6 wake-ups and context switches per acked send at 2,000/s
      // (benchmarks.md, issue 18 fifth session); else it wakes at its linger's end, a timer.
      int queued = queuedRows.addAndGet(rows.size());
      Thread collector = lingering;
      if (collector != null && queued >= wakeAtRows) LockSupport.unpark(collector);
    } else {
      done.completeExceptionally(
          new IllegalStateException("the journal's write queue is full (" + (queue.size() + queue.remainingCapacity())
              + " writes, jdbc-journal.bufferSize)"));
    }
    return done;
  }

  /** Rows queued and not yet taken by a writer (tests). */
  int queuedRows() {
    return queuedRows.get();
  }

  private void run() {
    List<Pending> batch = new ArrayList<>();
    List<JournalInserts.Row> rows = new ArrayList<>();
    while (!stopped) {
      try {
        collecting.lockInterruptibly();
      } catch (InterruptedException e) {
        break;
      }
      try {
        collect(batch);
      } catch (InterruptedException e) {
        if (batch.isEmpty()) break; // stopping while nothing was taken; else write it, the loop then ends
      } finally {
        collecting.unlock();
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

  /**
   * Takes the next batch into {@code batch}: waits for a first write, then takes what has queued,
   * and while {@link WriteLinger} says so waits up to its linger for more (never beyond {@code
   * batchSize} rows; waiting ends at {@code linger.rows()}). Interrupted (the stage stops), it
   * leaves what it took in {@code batch}, for the caller to write.
   */
  private void collect(List<Pending> batch) throws InterruptedException {
    batch.add(taken(queue.take()));
    long start = System.nanoTime();
    long lingerUntil = start + linger.lingerNanos(start);
    int size = batch.get(0).rows().size();
    int enough = Math.min(linger.rows(), batchSize);
    try {
      while (size < batchSize) {
        Pending next = queue.poll();
        if (next == null) {
          long left = lingerUntil - System.nanoTime();
          if (left <= 0 || size >= enough) break;
          awaitRows(enough - size, left);
          continue;
        }
        batch.add(taken(next));
        size += next.rows().size();
      }
    } finally {
      linger.taken(start, batch.size());
    }
  }

  private Pending taken(Pending p) {
    queuedRows.addAndGet(-p.rows().size());
    return p;
  }

  /**
   * Lingers until {@code rows} more rows have queued (a write then wakes this thread) or {@code
   * nanos} have passed (or spuriously: the caller looks again). The collector publishes itself
   * before it reads the count and a write counts before it reads the collector, so one of the two
   * sees the other: no write that fills the batch goes unnoticed.
   */
  private void awaitRows(int rows, long nanos) throws InterruptedException {
    wakeAtRows = rows;
    lingering = Thread.currentThread();
    try {
      if (queuedRows.get() < rows) LockSupport.parkNanos(this, nanos);
    } finally {
      lingering = null;
    }
    if (Thread.interrupted()) throw new InterruptedException();
  }

  void stop() {
    stopped = true;
    threads.forEach(Thread::interrupt);
  }
}
