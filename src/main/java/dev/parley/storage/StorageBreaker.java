package dev.parley.storage;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Predicate;
import java.util.function.Supplier;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The node's circuit breaker in front of writes to conversations (send, create, edit, ...).
 *
 * <p>Why it exists: when the database goes away, a persist failure stops the conversation entity
 * without answering the asker, so every send would wait the whole ask timeout and the connection's
 * in-flight slots would fill with doomed requests. After {@code max-failures} consecutive writes
 * that got no answer, the breaker opens: writes are answered {@code unavailable} at once, without
 * reaching the entity, so nothing is queued and nothing unpersisted can be acknowledged. A write
 * that got any answer from its conversation (even a rejection) counts as a success.
 *
 * <p>While open, the breaker asks the database itself every {@code probe-interval} (a fresh
 * connection, {@code storageAnswers}) and closes as soon as it answers: writes resume within about
 * one probe interval of the database's return. (It used to wait for a trial write, up to 10 s
 * apart: the cluster stayed silent for 3 to 10 s after a 30 s cut had ended.) A probe costs one
 * connection attempt per second per node, and only while the breaker is open.
 *
 * <p>Writes also go unanswered while the database is fine: during a rolling deploy a send can wait
 * the whole ask timeout for its conversation's shard to find a new home or for its recovery. An
 * open breaker then refuses every write of the node and turns a hiccup of a few conversations into
 * an outage of all of them. So before opening, the breaker asks the database too and opens only if
 * that fails.
 *
 * <p>Whoever must act when writes work again (the gateway tells its clients that were answered
 * {@code unavailable}) registers with {@link #whenClosed}.
 *
 * <p>Each opening and closing is logged with how long the previous state lasted, and the open
 * durations are a metric ({@link #bindMetrics}).
 *
 * <p>Pekko's own {@code CircuitBreaker} is not used here because its CompletionStage variant
 * hands callbacks to the JDK's async executor (see Conversations: ON_COMPLETING_THREAD), and it
 * can only try a real call to find out whether the storage is back.
 */
public final class StorageBreaker {

  private static final Logger log = LoggerFactory.getLogger(StorageBreaker.class);

  /** {@code maxFailures <= 0} switches the breaker off. */
  /**
   * @param resumeSpread the gateway tells its refused clients that writes work again each at a
   *     random moment of this span after the breaker closed, so their retries come as a ramp
   */
  public record Settings(int maxFailures, Duration probeInterval, Duration resumeSpread) {
    public Settings {
      if (probeInterval.isNegative() || probeInterval.isZero()) throw new IllegalArgumentException("parley.storage-breaker.probe-interval must be positive");
      if (resumeSpread.isNegative()) throw new IllegalArgumentException("parley.storage-breaker.resume-spread must not be negative");
    }

    public Settings(int maxFailures, Duration probeInterval) {
      this(maxFailures, probeInterval, Duration.ZERO);
    }
  }

  /** Runs a task once after a delay (the actor system's scheduler, in tests an executor). */
  @FunctionalInterface
  public interface Later {
    void run(Duration delay, Runnable task);
  }

  /** A database that has not answered the probe by then counts as not answering. */
  private static final Duration PROBE_TIMEOUT = Duration.ofSeconds(3);

  public enum State {
    CLOSED,
    OPEN
  }

  private final Settings settings;
  private final Supplier<CompletionStage<Boolean>> storageAnswers;
  private final Later later;
  private final AtomicBoolean probeInFlight = new AtomicBoolean();
  private final LongAdder notOpened = new LongAdder();
  private final AtomicInteger consecutiveFailures = new AtomicInteger();
  private volatile boolean open;
  private volatile long changedAtNanos = System.nanoTime();
  private final LongAdder opened = new LongAdder();
  private final LongAdder closed = new LongAdder();
  private final LongAdder refused = new LongAdder();
  private volatile Timer openDurations;
  private final List<Runnable> closedListeners = new CopyOnWriteArrayList<>();

  /**
   * @param storageAnswers whether the database answers (a failed or late stage counts as no): asked
   *     once {@code max-failures} writes in a row went unanswered (the breaker opens only on no),
   *     then every {@code probe-interval} while open (it closes on the first yes)
   * @param later schedules the next probe
   */
  public StorageBreaker(Settings settings, Supplier<CompletionStage<Boolean>> storageAnswers, Later later) {
    this.settings = settings;
    this.storageAnswers = storageAnswers;
    this.later = later;
  }

  /** A breaker that never opens. */
  public static StorageBreaker disabled() {
    return new StorageBreaker(new Settings(0, Duration.ofSeconds(1)), () -> CompletableFuture.completedFuture(true), (delay, task) -> {});
  }

  /** Runs {@code listener} each time the breaker closes (on the thread of the probe's answer: keep it short). */
  public void whenClosed(Runnable listener) {
    closedListeners.add(listener);
  }

  /** Gauges of the state and counters, and a timer of how long each opening lasted. */
  public void bindMetrics(MeterRegistry registry) {
    Gauge.builder("parley.storage.breaker.open", this, b -> b.open ? 1 : 0)
        .description("1 while this node answers writes unavailable because the database does not answer")
        .register(registry);
    FunctionCounter.builder("parley.storage.breaker.refused", this, StorageBreaker::refusedCount)
        .description("writes answered unavailable at once by the open storage breaker")
        .register(registry);
    openDurations =
        Timer.builder("parley.storage.breaker.open.duration")
            .description("how long the storage breaker stayed open, from the database not answering to its first answer")
            .register(registry);
  }

  /**
   * Runs {@code write} unless the breaker is open, in which case {@code whenOpen} answers at
   * once. {@code failed} tells which answers mean the storage did not answer.
   */
  public <T> CompletionStage<T> call(Supplier<CompletionStage<T>> write, Predicate<T> failed, Supplier<T> whenOpen) {
    if (settings.maxFailures() <= 0) return write.get();
    if (open) {
      refused.increment();
      return CompletableFuture.completedFuture(whenOpen.get());
    }
    return write.get().whenComplete((answer, error) -> record(error != null || failed.test(answer)));
  }

  private void record(boolean failure) {
    if (!failure) {
      consecutiveFailures.set(0);
    } else if (consecutiveFailures.incrementAndGet() >= settings.maxFailures() && !open && probeInFlight.compareAndSet(false, true)) {
      probe().thenAccept(this::afterFailuresProbe);
    }
  }

  private CompletableFuture<Boolean> probe() {
    CompletionStage<Boolean> probe;
    try {
      probe = storageAnswers.get();
    } catch (RuntimeException e) {
      probe = CompletableFuture.completedFuture(false);
    }
    return probe
        .toCompletableFuture()
        .completeOnTimeout(false, PROBE_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)
        .handle((answers, error) -> error == null && Boolean.TRUE.equals(answers));
  }

  private void afterFailuresProbe(boolean databaseAnswers) {
    try {
      if (databaseAnswers) {
        // The writes waited for something else (a shard moving, a recovery queue): not the storage.
        consecutiveFailures.set(0);
        notOpened.increment();
        log.info("{} writes in a row got no answer, but the database answers: breaker stays closed", settings.maxFailures());
      } else if (!open) {
        long closedMillis = sinceChangeMillis();
        open = true;
        opened.increment();
        log.warn(
            "storage breaker open (was closed {} ms) after {} writes without an answer and a database that does not answer: writes are answered unavailable until it answers (asked every {} ms)",
            closedMillis, settings.maxFailures(), settings.probeInterval().toMillis());
        scheduleProbe();
      }
    } finally {
      probeInFlight.set(false);
    }
  }

  private void scheduleProbe() {
    later.run(settings.probeInterval(), () -> probe().thenAccept(this::afterOpenProbe));
  }

  private void afterOpenProbe(boolean databaseAnswers) {
    if (!databaseAnswers) {
      scheduleProbe();
      return;
    }
    long openMillis = sinceChangeMillis();
    consecutiveFailures.set(0);
    open = false;
    closed.increment();
    Timer timer = openDurations;
    if (timer != null) timer.record(openMillis, TimeUnit.MILLISECONDS);
    log.info("storage breaker closed after {} ms open: the database answers, writes reach the conversations again", openMillis);
    for (Runnable listener : closedListeners) {
      try {
        listener.run();
      } catch (RuntimeException e) {
        log.warn("a listener of the storage breaker's closing failed", e);
      }
    }
  }

  private long sinceChangeMillis() {
    long now = System.nanoTime();
    long since = (now - changedAtNanos) / 1_000_000;
    changedAtNanos = now;
    return since;
  }

  public State state() {
    return open ? State.OPEN : State.CLOSED;
  }

  /** How long the breaker has been in its current state. */
  public Duration inStateFor() {
    return Duration.ofNanos(System.nanoTime() - changedAtNanos);
  }

  public long openedCount() {
    return opened.sum();
  }

  public long closedCount() {
    return closed.sum();
  }

  public long refusedCount() {
    return refused.sum();
  }

  /** Times the writes went unanswered but the database answered, so the breaker stayed closed. */
  public long notOpenedCount() {
    return notOpened.sum();
  }
}
