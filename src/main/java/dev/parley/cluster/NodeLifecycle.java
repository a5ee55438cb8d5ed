package dev.parley.cluster;

import dev.parley.ops.Metrics;
import dev.parley.storage.StorageBreaker;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.function.ToDoubleFunction;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Extension;
import org.apache.pekko.actor.typed.ExtensionId;

/**
 * Where this node is in its life, shared by the gateway, the readiness check and the drain: whether
 * it is draining (readiness false, no new connections) and how many client connections it holds.
 */
public final class NodeLifecycle implements Extension {

  private final AtomicBoolean draining = new AtomicBoolean();
  private volatile boolean serving;
  private final AtomicInteger connections = new AtomicInteger();
  // Websocket frames since start, for throughput over time (the dashboard differentiates them).
  private final LongAdder framesReceived = new LongAdder();
  private final LongAdder framesSent = new LongAdder();
  private volatile AdmissionControl connectionAdmission = new AdmissionControl(new AdmissionControl.Settings(0, 0));
  private volatile AdmissionControl resumeAdmission = new AdmissionControl(new AdmissionControl.Settings(0, 0));
  private volatile StorageBreaker storageBreaker;

  public static NodeLifecycle get(ActorSystem<?> system) {
    return Id.INSTANCE.apply(system);
  }

  public boolean isDraining() {
    return draining.get();
  }

  /** Whether the node has bound its client port (and so may be ready). */
  public boolean isServing() {
    return serving;
  }

  public void startedServing() {
    serving = true;
  }

  /** True the first time only. */
  public boolean startDraining() {
    return draining.compareAndSet(false, true);
  }

  public void connectionOpened() {
    connections.incrementAndGet();
  }

  public void connectionClosed() {
    connections.decrementAndGet();
  }

  public int openConnections() {
    return connections.get();
  }

  public void frameReceived() {
    framesReceived.increment();
  }

  public void frameSent() {
    framesSent.increment();
  }

  public long framesReceived() {
    return framesReceived.sum();
  }

  public long framesSent() {
    return framesSent.sum();
  }

  private final AtomicInteger recoveriesInFlight = new AtomicInteger();
  private final AtomicInteger recoveriesPeak = new AtomicInteger();
  private final AtomicLong recoveriesCompleted = new AtomicLong();

  /**
   * A conversation started recovering (replaying its snapshot and events). How many recover at once
   * is what pekko.persistence.max-concurrent-recoveries bounds; operators watch it during deploys.
   */
  public void recoveryStarted() {
    int now = recoveriesInFlight.incrementAndGet();
    recoveriesPeak.accumulateAndGet(now, Math::max);
  }

  public void recoveryEnded() {
    recoveriesInFlight.decrementAndGet();
    recoveriesCompleted.incrementAndGet();
  }

  public int recoveriesInFlight() {
    return recoveriesInFlight.get();
  }

  /** The most recoveries in flight at once since the last call (reset by reading). */
  public int takeRecoveriesPeak() {
    return recoveriesPeak.getAndSet(recoveriesInFlight.get());
  }

  public long recoveriesCompleted() {
    return recoveriesCompleted.get();
  }

  /** The node's admission controls, so operators can read what they admitted and refused. */
  public void registerAdmission(AdmissionControl connections, AdmissionControl resumes) {
    this.connectionAdmission = connections;
    this.resumeAdmission = resumes;
  }

  public void registerStorageBreaker(StorageBreaker breaker) {
    this.storageBreaker = breaker;
  }

  /** The node's breaker in front of conversation writes (null before the node is wired). */
  public StorageBreaker storageBreaker() {
    return storageBreaker;
  }

  public AdmissionControl connectionAdmission() {
    return connectionAdmission;
  }

  public AdmissionControl resumeAdmission() {
    return resumeAdmission;
  }

  /** The counters above as meters, read at scrape time (names in operations.md). */
  private void registerMeters(MeterRegistry registry) {
    frames(registry, "in", NodeLifecycle::framesReceived);
    frames(registry, "out", NodeLifecycle::framesSent);
    FunctionCounter.builder("parley.conversation.recoveries", this, NodeLifecycle::recoveriesCompleted)
        .description("conversations that finished recovering from the journal on this node")
        .register(registry);
    Gauge.builder("parley.conversations.recovering", this, NodeLifecycle::recoveriesInFlight)
        .description("conversations on this node replaying their journal right now")
        .register(registry);
    Gauge.builder("parley.connections", this, NodeLifecycle::openConnections)
        .description("open client websocket connections on this node")
        .register(registry);
    Gauge.builder("parley.draining", this, l -> l.isDraining() ? 1 : 0)
        .description("1 while this node drains (readiness false, no new connections)")
        .register(registry);
    admission(registry, "connection", "admitted", l -> l.connectionAdmission().admittedCount());
    admission(registry, "connection", "rejected", l -> l.connectionAdmission().rejectedCount());
    admission(registry, "resume", "admitted", l -> l.resumeAdmission().admittedCount());
    admission(registry, "resume", "rejected", l -> l.resumeAdmission().rejectedCount());
  }

  /** Counted by the connection's stream (WebSocketRoute); read at scrape time. */
  private void frames(MeterRegistry registry, String direction, ToDoubleFunction<NodeLifecycle> count) {
    FunctionCounter.builder("parley.frames", this, count)
        .description("websocket frames received from (in) and written to (out) clients")
        .tag("direction", direction)
        .register(registry);
  }

  private void admission(MeterRegistry registry, String kind, String result, ToDoubleFunction<NodeLifecycle> count) {
    FunctionCounter.builder("parley.admission", this, count)
        .description("admission control decisions: new connections and subscribe-since replays")
        .tag("kind", kind)
        .tag("result", result)
        .register(registry);
  }

  private static final class Id extends ExtensionId<NodeLifecycle> {
    static final Id INSTANCE = new Id();

    @Override
    public NodeLifecycle createExtension(ActorSystem<?> system) {
      NodeLifecycle lifecycle = new NodeLifecycle();
      lifecycle.registerMeters(Metrics.get(system).registry());
      return lifecycle;
    }
  }
}
