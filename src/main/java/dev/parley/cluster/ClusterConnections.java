package dev.parley.cluster;

import dev.parley.CborSerializable;
import dev.parley.ops.GaugesByTag;
import dev.parley.ops.Metrics;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.LongAdder;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.Extension;
import org.apache.pekko.actor.typed.ExtensionId;
import org.apache.pekko.actor.typed.Props;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.ClusterEvent;
import org.apache.pekko.cluster.Member;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.UniqueAddress;
import org.apache.pekko.cluster.ddata.Key;
import org.apache.pekko.cluster.ddata.LWWMap;
import org.apache.pekko.cluster.ddata.LWWMapKey;
import org.apache.pekko.cluster.ddata.SelfUniqueAddress;
import org.apache.pekko.cluster.ddata.typed.javadsl.DistributedData;
import org.apache.pekko.cluster.ddata.typed.javadsl.Replicator;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Subscribe;

/**
 * The cluster's client connections per node, replicated with Distributed Data: each node writes its
 * own count (only when it changed, at most every {@code publish-interval}, to every node at once),
 * and reads everyone's from its local replica. No database, no poll per connection. Also where this
 * node's rebalancing state lives (its last {@link RebalancePlan.Decision} and move counters) for
 * /parley/status, /admin and the metrics.
 *
 * <p>Members are keyed as in {@link DrainingMembers#keyOf}; a removed member's entry is deleted by
 * every node that sees the removal.
 */
public final class ClusterConnections implements Extension {

  static final Key<LWWMap<String, NodeLoad>> KEY = LWWMapKey.create("parley-connections");

  /** One node's published load: its open connections, and whether it takes new ones (serving, not draining). */
  public record NodeLoad(int connections, boolean accepting) implements CborSerializable {}

  /**
   * What a rebalancing round sees: connections per Up member (by key, this node's own live), and
   * why nothing may move now, if so.
   */
  public record View(String self, Map<String, Integer> connections, Optional<String> pausedBecause) {}

  private final ActorSystem<?> system;
  private final NodeLifecycle lifecycle;
  private volatile Map<String, NodeLoad> loads = Map.of();
  private volatile long lastMemberLeftNanos = System.nanoTime() - Duration.ofDays(1).toNanos();
  private volatile RebalancePlan.Decision lastDecision = RebalancePlan.Decision.off();
  private final LongAdder movesRequested = new LongAdder();
  private final LongAdder movesDeclined = new LongAdder();
  private final LongAdder movesCompleted = new LongAdder();
  private final GaugesByTag perNode;
  private boolean started;

  private ClusterConnections(ActorSystem<?> system) {
    this.system = system;
    this.lifecycle = NodeLifecycle.get(system);
    var registry = Metrics.get(system).registry();
    perNode =
        new GaugesByTag(
            registry, "parley.cluster.connections", "node", "open client connections per node, as this node's replica of the cluster's counts has them");
    moves(registry, "requested", movesRequested);
    moves(registry, "declined", movesDeclined);
    moves(registry, "completed", movesCompleted);
    Gauge.builder("parley.rebalance.state", this, c -> c.lastDecision.state().ordinal())
        .description("rebalancing state of this node: 0 off, 1 balanced, 2 moving, 3 receiving, 4 paused")
        .register(registry);
    Gauge.builder("parley.rebalance.refusing", this, c -> c.lastDecision.refuseNewConnections() ? 1 : 0)
        .description("1 while this node turns new connections away because it holds more than its share")
        .register(registry);
  }

  private void moves(io.micrometer.core.instrument.MeterRegistry registry, String result, LongAdder count) {
    FunctionCounter.builder("parley.rebalance.moves", count, LongAdder::sum)
        .description("connections this node asked to move (requested), that refused (declined: mid-resume or closing), that left after being asked (completed)")
        .tag("result", result)
        .register(registry);
  }

  public static ClusterConnections get(ActorSystem<?> system) {
    return Id.INSTANCE.apply(system);
  }

  /** Starts publishing this node's count (once the node serves; idempotent). */
  public synchronized void start(Duration publishInterval) {
    if (started) return;
    started = true;
    system.systemActorOf(publisher(publishInterval), "parley-cluster-connections", Props.empty());
  }

  /** Every Up member's connections, and whether rebalancing must wait; see {@link RebalancePlan}. */
  public View view(Duration settleAfterMemberLeft) {
    Cluster cluster = Cluster.get(system);
    String self = DrainingMembers.keyOf(cluster.selfMember().uniqueAddress());
    Map<String, Integer> connections = new LinkedHashMap<>();
    connections.put(self, lifecycle.openConnections());
    Optional<String> paused = Optional.empty();
    if (lifecycle.isDraining()) paused = Optional.of("this node drains");
    else if (!lifecycle.isServing()) paused = Optional.of("this node is starting");
    else if (System.nanoTime() - lastMemberLeftNanos < settleAfterMemberLeft.toNanos()) {
      paused = Optional.of("a member left less than " + settleAfterMemberLeft.toSeconds() + " s ago (settle-after-member-left)");
    }
    var state = cluster.state();
    if (paused.isEmpty() && !state.getUnreachable().isEmpty()) {
      paused = Optional.of("member " + state.getUnreachable().iterator().next().address() + " is unreachable");
    }
    Map<String, Long> draining = DrainingMembers.get(system).deadlines();
    Map<String, NodeLoad> known = loads;
    for (Member member : state.getMembers()) {
      String key = DrainingMembers.keyOf(member.uniqueAddress());
      if (key.equals(self)) continue;
      NodeLoad load = known.get(key);
      if (paused.isEmpty()) paused = pauseFor(member, draining.containsKey(key), load);
      if (member.status() == MemberStatus.up() && load != null) connections.put(key, load.connections());
    }
    return new View(self, connections, paused);
  }

  private static Optional<String> pauseFor(Member member, boolean draining, NodeLoad load) {
    if (member.status() != MemberStatus.up()) return Optional.of("member " + member.address() + " is " + member.status());
    if (draining) return Optional.of("member " + member.address() + " drains");
    if (load == null) return Optional.of("member " + member.address() + " is starting (no connection count yet)");
    if (!load.accepting()) return Optional.of("member " + member.address() + " drains or is starting");
    return Optional.empty();
  }

  /** Connections per node by address, for the dashboard and the metrics. */
  public Map<String, Integer> byAddress() {
    Map<String, Integer> result = new LinkedHashMap<>();
    Cluster cluster = Cluster.get(system);
    String self = DrainingMembers.keyOf(cluster.selfMember().uniqueAddress());
    for (Member member : cluster.state().getMembers()) {
      String key = DrainingMembers.keyOf(member.uniqueAddress());
      NodeLoad load = key.equals(self) ? new NodeLoad(lifecycle.openConnections(), true) : loads.get(key);
      if (load != null) result.put(member.address().toString(), load.connections());
    }
    return result;
  }

  public void recordDecision(RebalancePlan.Decision decision) {
    lastDecision = decision;
  }

  public RebalancePlan.Decision lastDecision() {
    return lastDecision;
  }

  /** The gateway turns new connections away: this node holds more than its share (see {@link RebalancePlan}). */
  public boolean refusesNewConnections() {
    return lastDecision.refuseNewConnections() && !lifecycle.isDraining();
  }

  public void moveRequested() {
    movesRequested.increment();
  }

  public void moveDeclined() {
    movesDeclined.increment();
  }

  public void moveCompleted() {
    movesCompleted.increment();
  }

  public long movesRequested() {
    return movesRequested.sum();
  }

  public long movesDeclined() {
    return movesDeclined.sum();
  }

  public long movesCompleted() {
    return movesCompleted.sum();
  }

  private void refreshGauge() {
    perNode.update(byAddress());
  }

  // ---- the publisher: this node's count out, everyone's in ----------------------------------

  private sealed interface Command {}

  private enum Publish implements Command {
    INSTANCE
  }

  private record Changed(LWWMap<String, NodeLoad> map) implements Command {}

  private record MemberLeft(UniqueAddress member) implements Command {}

  private record WriteDone() implements Command {}

  private Behavior<Command> publisher(Duration interval) {
    return Behaviors.setup(
        context -> {
          SelfUniqueAddress selfNode = DistributedData.get(context.getSystem()).selfUniqueAddress();
          String self = DrainingMembers.keyOf(selfNode.uniqueAddress());
          Cluster.get(context.getSystem())
              .subscriptions()
              .tell(
                  Subscribe.create(
                      context.messageAdapter(ClusterEvent.MemberRemoved.class, removed -> new MemberLeft(removed.member().uniqueAddress())),
                      ClusterEvent.MemberRemoved.class));
          return Behaviors.withTimers(
              timers -> {
                timers.startTimerWithFixedDelay(Publish.INSTANCE, interval);
                return DistributedData.<Command, LWWMap<String, NodeLoad>>withReplicatorMessageAdapter(
                    replicator -> {
                      replicator.subscribe(
                          KEY,
                          response -> response instanceof Replicator.Changed<LWWMap<String, NodeLoad>> changed
                              ? new Changed(changed.get(KEY))
                              : new Changed(LWWMap.create()));
                      NodeLoad[] published = {null};
                      return Behaviors.receive(Command.class)
                          .onMessageEquals(
                              Publish.INSTANCE,
                              () -> {
                                NodeLoad now = new NodeLoad(lifecycle.openConnections(), lifecycle.isServing() && !lifecycle.isDraining());
                                if (!now.equals(published[0])) {
                                  published[0] = now;
                                  // To every node at once: a count that reaches the others a gossip round
                                  // late makes them move too many (one small message per node and change).
                                  replicator.askUpdate(
                                      replyTo ->
                                          new Replicator.Update<>(
                                              KEY, LWWMap.create(), new Replicator.WriteAll(interval), replyTo, map -> map.put(selfNode, self, now)),
                                      response -> new WriteDone());
                                }
                                refreshGauge();
                                return Behaviors.same();
                              })
                          .onMessage(
                              Changed.class,
                              changed -> {
                                loads = Map.copyOf(changed.map().getEntries());
                                return Behaviors.same();
                              })
                          .onMessage(
                              MemberLeft.class,
                              left -> {
                                lastMemberLeftNanos = System.nanoTime();
                                String gone = DrainingMembers.keyOf(left.member());
                                if (loads.containsKey(gone)) {
                                  replicator.askUpdate(
                                      replyTo ->
                                          new Replicator.Update<>(
                                              KEY, LWWMap.create(), Replicator.writeLocal(), replyTo, map -> map.remove(selfNode, gone)),
                                      response -> new WriteDone());
                                }
                                return Behaviors.same();
                              })
                          .onMessage(WriteDone.class, done -> Behaviors.same())
                          .build();
                    });
              });
        });
  }

  private static final class Id extends ExtensionId<ClusterConnections> {
    static final Id INSTANCE = new Id();

    @Override
    public ClusterConnections createExtension(ActorSystem<?> system) {
      return new ClusterConnections(system);
    }
  }
}
