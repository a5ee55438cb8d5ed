package dev.parley.ops;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.jvm.ClassLoaderMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Extension;
import org.apache.pekko.actor.typed.ExtensionId;

/**
 * This node's metrics, one Prometheus registry per actor system (several nodes in one JVM, as in
 * tests, keep theirs apart). Features record through the small methods below, which cost a counter
 * increment or a histogram update on the caller's thread and never block; gauges are read at
 * scrape time from where the numbers already live (the connection pool's MBean, the shard region).
 * Features register their own meters through {@link #registry()} (the node's lifecycle counters in
 * dev.parley.cluster.NodeLifecycle, the inbox projection lag, the bots' meters): this class imports
 * no feature, so dependencies point one way. The names are listed in operations.md.
 */
public final class Metrics implements Extension {

  private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
  private final Counter sends;
  private final Timer sendAck;
  private final Timer persist;
  private final DistributionSummary writeBatch;
  private final Timer recovery;
  private final Counter drained;
  private final AtomicLong activeEntities = new AtomicLong();
  private final AtomicLong shards = new AtomicLong();

  private Metrics(ActorSystem<?> system) {
    sends = Counter.builder("parley.sends").description("send frames received from clients").register(registry);
    sendAck = latency("parley.send.ack", "from a send frame received to its ack queued for the client");
    persist = latency("parley.persist", "from a conversation persisting a message to the journal confirming it");
    writeBatch =
        DistributionSummary.builder("parley.conversation.write.batch")
            .description("events a conversation persisted in one atomic write (its group commit: writes that arrived while one was in flight)")
            .baseUnit("events")
            .register(registry);
    recovery =
        latency(
            "parley.conversation.recovery",
            "from a conversation entity starting to its recovery completing: waiting for a recovery permit, then reading its snapshot and events");
    drained =
        Counter.builder("parley.drained.connections")
            .description("connections closed with a reconnect hint while this node drained")
            .register(registry);
    Gauge.builder("parley.conversations.active", activeEntities, AtomicLong::get)
        .description("live conversation entities on this node (Cluster Sharding, refreshed at each scrape)")
        .register(registry);
    Gauge.builder("parley.shards", shards, AtomicLong::get)
        .description("conversation shards hosted by this node (Cluster Sharding, refreshed at each scrape)")
        .register(registry);
    DatabasePool.register(registry, system.settings().config());

    new JvmMemoryMetrics().bindTo(registry);
    new JvmThreadMetrics().bindTo(registry);
    new ClassLoaderMetrics().bindTo(registry);
    new ProcessorMetrics().bindTo(registry);
    new UptimeMetrics().bindTo(registry);
    // Listens to GC notifications until closed: close it with the node, or a stopped node's
    // registry keeps receiving them.
    JvmGcMetrics gc = new JvmGcMetrics();
    gc.bindTo(registry);
    system.getWhenTerminated().thenRun(() -> {
      gc.close();
      registry.close();
    });
  }

  public static Metrics get(ActorSystem<?> system) {
    return Id.INSTANCE.apply(system);
  }

  /** Where other features register their own meters, e.g. a gauge of a projection's lag. */
  public MeterRegistry registry() {
    return registry;
  }

  /** Registers a gauge read at every scrape; {@code value} must be cheap and must not block. */
  public void gauge(String name, String description, Supplier<Number> value) {
    Gauge.builder(name, value).description(description).register(registry);
  }

  /** The Prometheus text exposition of every meter. */
  public String scrape() {
    return registry.scrape();
  }

  /** Counts a send and returns when it was received, for {@link #sendAcked(long)}. */
  public long sendReceived() {
    sends.increment();
    return System.nanoTime();
  }

  public void sendAcked(long receivedNanos) {
    sendAck.record(System.nanoTime() - receivedNanos, TimeUnit.NANOSECONDS);
  }

  public void persisted(long startedNanos) {
    persist.record(System.nanoTime() - startedNanos, TimeUnit.NANOSECONDS);
  }

  /** A conversation persisted {@code events} events in one atomic write. */
  public void writeBatch(int events) {
    writeBatch.record(events);
  }

  /** A conversation recovered; how long a moved or restarted conversation keeps its senders waiting. */
  public void recovered(long startedNanos) {
    recovery.record(System.nanoTime() - startedNanos, TimeUnit.NANOSECONDS);
  }

  public void connectionDrained() {
    drained.increment();
  }

  void shardRegionState(int shardCount, long entityCount) {
    shards.set(shardCount);
    activeEntities.set(entityCount);
  }

  /** Prometheus histogram buckets (aggregatable across nodes) from 1 ms to 10 s. */
  private Timer latency(String name, String description) {
    return Timer.builder(name)
        .description(description)
        .publishPercentileHistogram()
        .minimumExpectedValue(Duration.ofMillis(1))
        .maximumExpectedValue(Duration.ofSeconds(10))
        .register(registry);
  }

  private static final class Id extends ExtensionId<Metrics> {
    static final Id INSTANCE = new Id();

    @Override
    public Metrics createExtension(ActorSystem<?> system) {
      return new Metrics(system);
    }
  }
}
