package dev.parley.storage;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.concurrent.atomic.LongAdder;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Extension;
import org.apache.pekko.actor.typed.ExtensionId;

/**
 * What the journal's write stage ({@link JournalWriter}) did since start: batches written (one
 * statement on PostgreSQL) and rows in them. Rows per batch is the batch shape the issue asks to
 * choose deliberately; batches per acknowledged send is the journal's share of commits per send.
 */
public final class JournalWrites implements Extension {

  private final LongAdder batches = new LongAdder();
  private final LongAdder rows = new LongAdder();

  public static JournalWrites get(ActorSystem<?> system) {
    return Id.INSTANCE.apply(system);
  }

  void written(int rowCount) {
    batches.increment();
    rows.add(rowCount);
  }

  /** Batches written since start (each one transaction). */
  public long batches() {
    return batches.sum();
  }

  /** Journal rows written since start. */
  public long rows() {
    return rows.sum();
  }

  public void bindMetrics(MeterRegistry registry) {
    FunctionCounter.builder("parley.journal.batches", this, JournalWrites::batches)
        .description("batches the journal's write stage wrote, each one transaction (one statement on PostgreSQL)")
        .register(registry);
    FunctionCounter.builder("parley.journal.rows", this, JournalWrites::rows)
        .description("journal rows (events) written by the journal's write stage")
        .register(registry);
  }

  private static final class Id extends ExtensionId<JournalWrites> {
    static final Id INSTANCE = new Id();

    @Override
    public JournalWrites createExtension(ActorSystem<?> system) {
      return new JournalWrites();
    }
  }
}
