package dev.parley.storage;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Predicate;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The node's circuit breaker in front of writes to conversations (send, create, edit, ...).
 *
 * <p>Why it exists: when the database goes away, a persist failure stops the conversation entity
 * without answering the asker, so every send would wait the whole ask timeout and the connection's
 * in-flight slots would fill with doomed requests. After {@code max-failures} consecutive writes
 * that got no answer, the breaker opens: writes are answered {@code unavailable} at once, without
 * reaching the entity, so nothing is queued and nothing unpersisted can be acknowledged. After
 * {@code reset-timeout} one trial write goes through (half-open); its success closes the breaker,
 * its failure opens it again for twice as long, up to {@code max-reset-timeout}. A write that got
 * any answer from its conversation (even a rejection) counts as a success.
 *
 * <p>Writes also go unanswered while the database is fine: during a rolling deploy a send can wait
 * the whole ask timeout for its conversation's shard to find a new home or for its recovery. An
 * open breaker then refuses every write of the node for seconds and turns a hiccup of a few
 * conversations into an outage of all of them. So before opening, the breaker asks the database
 * itself ({@code storageAnswers}: a fresh connection, as the readiness check does) and opens only
 * if that fails too.
 *
 * <p>Pekko's own {@code CircuitBreaker} is not used here because its CompletionStage variant
 * hands callbacks to the JDK's async executor (see Conversations: ON_COMPLETING_THREAD).
 */
public final class StorageBreaker {

  private static final Logger log = LoggerFactory.getLogger(StorageBreaker.class);

  /** {@code maxFailures <= 0} switches the breaker off. */
  public record Settings(int maxFailures, Duration resetTimeout, Duration maxResetTimeout) {
    public Settings {
      if (resetTimeout.isNegative() || resetTimeout.isZero()) throw new IllegalArgumentException("parley.storage-breaker.reset-timeout must be positive");
      if (maxResetTimeout.compareTo(resetTimeout) < 0) throw new IllegalArgumentException("parley.storage-breaker.max-reset-timeout must be at least reset-timeout");
    }
  }

  /** A database that has not answered the probe by then counts as not answering. */
  private static final Duration PROBE_TIMEOUT = Duration.ofSeconds(3);

  public enum State {
    CLOSED,
    OPEN,
    HALF_OPEN
  }

  private final Settings settings;
  private final Supplier<CompletionStage<Boolean>> storageAnswers;
  private final AtomicBoolean probeInFlight = new AtomicBoolean();
  private final LongAdder notOpened = new LongAdder();
  private final AtomicInteger consecutiveFailures = new AtomicInteger();
  private final AtomicBoolean trialInFlight = new AtomicBoolean();
  private volatile boolean open;
  private volatile long openUntilNanos;
  private volatile long currentResetNanos;
  private final LongAdder opened = new LongAdder();
  private final LongAdder closed = new LongAdder();
  private final LongAdder refused = new LongAdder();

  /**
   * @param storageAnswers asked once {@code max-failures} writes in a row went unanswered: whether
   *     the database answers (a failed or late stage counts as no); the breaker opens only on no
   */
  public StorageBreaker(Settings settings, Supplier<CompletionStage<Boolean>> storageAnswers) {
    this.settings = settings;
    this.storageAnswers = storageAnswers;
    this.currentResetNanos = settings.resetTimeout().toNanos();
  }

  /** A breaker that never opens. */
  public static StorageBreaker disabled() {
    return new StorageBreaker(new Settings(0, Duration.ofSeconds(1), Duration.ofSeconds(1)), () -> CompletableFuture.completedFuture(true));
  }

  /**
   * Runs {@code write} unless the breaker is open, in which case {@code whenOpen} answers at
   * once. {@code failed} tells which answers mean the storage did not answer.
   */
  public <T> CompletionStage<T> call(Supplier<CompletionStage<T>> write, Predicate<T> failed, Supplier<T> whenOpen) {
    if (settings.maxFailures() <= 0) return write.get();
    boolean trial = false;
    if (open) {
      if (System.nanoTime() < openUntilNanos || !trialInFlight.compareAndSet(false, true)) {
        refused.increment();
        return CompletableFuture.completedFuture(whenOpen.get());
      }
      trial = true;
    }
    boolean isTrial = trial;
    return write.get().whenComplete((answer, error) -> record(error != null || failed.test(answer), isTrial));
  }

  private void record(boolean failure, boolean trial) {
    if (!failure) {
      consecutiveFailures.set(0);
      if (open && trial) {
        open = false;
        currentResetNanos = settings.resetTimeout().toNanos();
        closed.increment();
        log.info("storage breaker closed: writes reach the conversations again");
      }
    } else if (trial) {
      currentResetNanos = Math.min(currentResetNanos * 2, settings.maxResetTimeout().toNanos());
      openUntilNanos = System.nanoTime() + currentResetNanos;
      log.warn("storage breaker trial write failed: open for another {} ms", currentResetNanos / 1_000_000);
    } else if (consecutiveFailures.incrementAndGet() >= settings.maxFailures() && !open && probeInFlight.compareAndSet(false, true)) {
      CompletionStage<Boolean> probe;
      try {
        probe = storageAnswers.get();
      } catch (RuntimeException e) {
        probe = CompletableFuture.completedFuture(false);
      }
      probe
          .toCompletableFuture()
          .completeOnTimeout(false, PROBE_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)
          .handle((answers, error) -> error == null && Boolean.TRUE.equals(answers))
          .thenAccept(this::afterProbe);
    }
    if (trial) trialInFlight.set(false);
  }

  private void afterProbe(boolean databaseAnswers) {
    try {
      if (databaseAnswers) {
        // The writes waited for something else (a shard moving, a recovery queue): not the storage.
        consecutiveFailures.set(0);
        notOpened.increment();
        log.info("{} writes in a row got no answer, but the database answers: breaker stays closed", settings.maxFailures());
      } else if (!open) {
        openUntilNanos = System.nanoTime() + currentResetNanos;
        open = true;
        opened.increment();
        log.warn(
            "storage breaker open after {} writes without an answer and a database that does not answer: writes are answered unavailable for {} ms",
            settings.maxFailures(), currentResetNanos / 1_000_000);
      }
    } finally {
      probeInFlight.set(false);
    }
  }

  public State state() {
    if (!open) return State.CLOSED;
    return System.nanoTime() < openUntilNanos ? State.OPEN : State.HALF_OPEN;
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
