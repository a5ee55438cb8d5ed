package dev.parley.cluster;

import com.typesafe.config.Config;
import dev.parley.ops.Metrics;
import io.micrometer.core.instrument.Counter;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.LongSupplier;
import org.apache.pekko.actor.ActorRef;
import org.apache.pekko.actor.Address;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Adapter;
import org.apache.pekko.cluster.Cluster;
import org.apache.pekko.cluster.Member;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.sharding.ShardCoordinator;
import org.apache.pekko.util.Version;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import scala.collection.immutable.IndexedSeq;
import scala.concurrent.Future;
import scala.jdk.javaapi.CollectionConverters;

/**
 * Pekko's least-shard allocation, plus: the shards of a draining node move away during its drain
 * window, a few per rebalance round, instead of all at once when its region hands off.
 *
 * <p>Why: a node that hands off a third of the shards at once makes the next node recover a third
 * of all conversations at once, and every send to any of them waits for the whole batch (the tail
 * of the rolling-restart test). Spread over the window, each round moves a handful of shards and
 * their conversations recover while the rest keep working where they are. The handoff at the end
 * of the drain then finds (almost) nothing left to move.
 *
 * <p>Draining members come from {@link DrainingMembers} with the moment by which they want their
 * shards gone: each round moves an equal share of what is left over the rounds left before it. New
 * shards are never allocated to a draining node while another node can take them, and while a
 * node drains its shards are spread over the nodes of the newest version ({@link #spreadTarget}).
 * Balancing (a node joined) is Pekko's, run at most every {@code balanceInterval}: the
 * coordinator's rebalance-interval is short for the drain's sake, and balancing that often would
 * move shards in bursts.
 */
public final class DrainAwareAllocationStrategy
    implements ShardCoordinator.ShardAllocationStrategy, ShardCoordinator.StartableAllocationStrategy {

  private static final Logger log = LoggerFactory.getLogger(DrainAwareAllocationStrategy.class);

  private final ActorSystem<?> system;
  private final String typeName;
  private final ShardCoordinator.ShardAllocationStrategy leastShards;
  private final Duration roundInterval;
  private final int maxMoving;
  private final Duration balanceInterval;
  private final LongSupplier clock;
  private volatile Cluster cluster;
  private volatile Counter movedEarly;
  private long lastBalanceNanos = Long.MIN_VALUE;
  /** Rounds before a drain's deadline by which its shards are planned to have started moving (see {@link #nextBatch}). */
  static final int RESERVE_ROUNDS = 2;
  /** Shards allocated to each region while some node drains (the coordinator's thread only); see {@link #spreadTarget}. */
  private final Map<ActorRef, Integer> takenDuringDrain = new HashMap<>();

  DrainAwareAllocationStrategy(
      ActorSystem<?> system, String typeName, ShardCoordinator.ShardAllocationStrategy leastShards,
      Duration roundInterval, int maxMoving, Duration balanceInterval, LongSupplier clock) {
    this.system = system;
    this.typeName = typeName;
    this.leastShards = leastShards;
    this.roundInterval = roundInterval;
    this.maxMoving = maxMoving;
    this.balanceInterval = balanceInterval;
    this.clock = clock;
  }

  /** For the entity type {@code typeName}, with the limits of pekko.cluster.sharding's least-shard strategy. */
  public static DrainAwareAllocationStrategy create(ActorSystem<?> system, String typeName) {
    Config sharding = system.settings().config().getConfig("pekko.cluster.sharding");
    Config parley = system.settings().config().getConfig("parley.sharding");
    DrainingMembers.get(system).registerMovedEarly(typeName);
    return new DrainAwareAllocationStrategy(
        system,
        typeName,
        ShardCoordinator.ShardAllocationStrategy$.MODULE$.leastShardAllocationStrategy(
            sharding.getInt("least-shard-allocation-strategy.rebalance-absolute-limit"),
            sharding.getDouble("least-shard-allocation-strategy.rebalance-relative-limit")),
        sharding.getDuration("rebalance-interval"),
        parley.getInt("max-moving-shards"),
        parley.getDuration("balance-interval"),
        System::currentTimeMillis);
  }

  @Override
  public void start() {
    cluster = Cluster.get(Adapter.toClassic(system));
    movedEarly =
        Counter.builder("parley.drain.shards.moved.early")
            .description("shards of draining nodes moved during their drain window (by this node's shard coordinators)")
            .tag("type", typeName)
            .register(Metrics.get(system).registry());
    // Pekko's strategy needs the actor system (cluster state) before its first call: the
    // coordinator would hand it over itself if it were not wrapped.
    if (leastShards instanceof ShardCoordinator.ActorSystemDependentAllocationStrategy dependent) {
      dependent.start(Adapter.toClassic(system));
    } else if (leastShards instanceof ShardCoordinator.StartableAllocationStrategy startable) {
      startable.start();
    }
  }

  @Override
  public Future<ActorRef> allocateShard(
      ActorRef requester, String shardId, scala.collection.immutable.Map<ActorRef, IndexedSeq<String>> allocations) {
    Set<ActorRef> draining = drainingRegions(allocations).keySet();
    if (draining.isEmpty() || draining.size() == allocations.size()) {
      takenDuringDrain.clear();
      return leastShards.allocateShard(requester, shardId, allocations);
    }
    ActorRef target = spreadTarget(receivers(allocations, draining), takenDuringDrain);
    if (target == null) {
      return leastShards.allocateShard(requester, shardId, allocations.removedAll(CollectionConverters.asScala(draining)));
    }
    takenDuringDrain.merge(target, 1, Integer::sum);
    return scala.concurrent.Future$.MODULE$.successful(target);
  }

  /** A region that can take a draining node's shard: its member's app version and its shard count. */
  record Receiver<R>(R region, Version appVersion, int shards) {}

  /**
   * Where a shard goes while a node drains: among the regions of the newest app version (as
   * Pekko's least-shard allocation, so a rolling update does not move a shard onto a node that is
   * about to be replaced), the one that has taken the fewest shards during this drain, then the
   * one with the fewest shards. Why not simply the fewest shards: that is the node restarted just
   * before, and it took every shard of the draining node — in the rolling-restart test the oldest
   * node's ~55 shards in 20 s, 260 conversations recovering at once, recovery p50 3.6 s, while the
   * other new node took none. Null when no region qualifies (members not up yet): Pekko decides.
   */
  static <R> R spreadTarget(List<Receiver<R>> receivers, Map<R, Integer> taken) {
    Version newest = null;
    for (Receiver<R> receiver : receivers) {
      if (newest == null || receiver.appVersion().compareTo(newest) > 0) newest = receiver.appVersion();
    }
    Receiver<R> best = null;
    for (Receiver<R> receiver : receivers) {
      if (receiver.appVersion().compareTo(newest) != 0) continue;
      if (best == null || compare(receiver, best, taken) < 0) best = receiver;
    }
    return best == null ? null : best.region();
  }

  private static <R> int compare(Receiver<R> a, Receiver<R> b, Map<R, Integer> taken) {
    int byTaken = Integer.compare(taken.getOrDefault(a.region(), 0), taken.getOrDefault(b.region(), 0));
    return byTaken != 0 ? byTaken : Integer.compare(a.shards(), b.shards());
  }

  /** The regions not draining, each with its (Up) member's app version; regions of other members are left out. */
  private List<Receiver<ActorRef>> receivers(
      scala.collection.immutable.Map<ActorRef, IndexedSeq<String>> allocations, Set<ActorRef> draining) {
    Map<Address, Member> members = membersByAddress();
    List<Receiver<ActorRef>> receivers = new ArrayList<>();
    CollectionConverters.asJava(allocations)
        .forEach(
            (region, shards) -> {
              if (draining.contains(region)) return;
              Member member = members.get(addressOf(region));
              if (member != null && member.status() == MemberStatus.up()) {
                receivers.add(new Receiver<>(region, member.appVersion(), shards.size()));
              }
            });
    return receivers;
  }

  private Map<Address, Member> membersByAddress() {
    Map<Address, Member> members = new HashMap<>();
    cluster.state().getMembers().forEach(m -> members.put(m.address(), m));
    return members;
  }

  private Address addressOf(ActorRef region) {
    return region.path().address().hasLocalScope() ? cluster.selfAddress() : region.path().address();
  }

  @Override
  public Future<scala.collection.immutable.Set<String>> rebalance(
      scala.collection.immutable.Map<ActorRef, IndexedSeq<String>> allocations,
      scala.collection.immutable.Set<String> inProgress) {
    Map<ActorRef, Long> draining = drainingRegions(allocations);
    if (!draining.isEmpty()) {
      Set<String> moving = CollectionConverters.asJava(inProgress);
      Set<String> move = new HashSet<>();
      boolean anotherHome = draining.size() < allocations.size();
      if (anotherHome && !anyUnreachable()) {
        draining.forEach(
            (region, deadline) ->
                move.addAll(
                    nextBatch(
                        CollectionConverters.asJava(allocations.apply(region)), moving, deadline, clock.getAsLong(), roundInterval, maxMoving)));
      }
      if (!move.isEmpty()) {
        movedEarly.increment(move.size());
        log.info("{}: moving {} shards of draining nodes ({} already moving)", typeName, move.size(), moving.size());
      }
      // While a node drains, no balancing: the moved shards would be balanced again a moment later.
      return scala.concurrent.Future$.MODULE$.successful(scala.collection.immutable.Set$.MODULE$.from(CollectionConverters.asScala(move)));
    }
    takenDuringDrain.clear();
    long now = System.nanoTime();
    if (lastBalanceNanos != Long.MIN_VALUE && now - lastBalanceNanos < balanceInterval.toNanos()) {
      return scala.concurrent.Future$.MODULE$.successful(scala.collection.immutable.Set$.MODULE$.empty());
    }
    lastBalanceNanos = now;
    return leastShards.rebalance(allocations, inProgress);
  }

  /**
   * The shards of one draining region to start moving this round: an equal share of what it still
   * holds over the rounds left before {@code deadline} (two rounds kept in reserve), never more
   * than {@code maxMoving} moving at once. A move waits for the region to stop the shard's
   * conversations and for every region's acknowledgement, and requests for a moving shard wait for
   * all of that: on a starved node rounds come late, and a share that caught up on them (23 shards
   * at once in one run) kept a third of the conversations waiting for 20 s; hence the cap.
   *
   * <p>A shard still moving counts against the cap, not against the share: one slow move (a
   * conversation finishing a write on a busy machine, seen at 5 s) must not hold back the others
   * until the window is over. The plan ends two rounds before the deadline; in those two rounds
   * whatever is left starts at once, so a late round or a slow move at the end does not leave a
   * shard behind. Nothing starts in the last (partial) round: what is left at the deadline moves
   * at the handoff, as without early moves.
   */
  static List<String> nextBatch(
      List<String> held, Set<String> moving, long deadlineMillis, long nowMillis, Duration round, int maxMoving) {
    List<String> waiting = new ArrayList<>();
    int alreadyMoving = 0;
    for (String shard : held) {
      if (moving.contains(shard)) alreadyMoving++;
      else waiting.add(shard);
    }
    long wholeRoundsLeft = (deadlineMillis - nowMillis) / Math.max(1, round.toMillis());
    if (wholeRoundsLeft <= 0) return List.of();
    // Planned to be done RESERVE_ROUNDS early; in the reserve whatever is left starts at once (up to
    // the cap): rounds come ~1.04 s apart, not 1 s, so a plan that ends exactly at the reserve's
    // edge saw its last shard's round fall just past it (CI: 19 of 20 moved, the last at the handoff).
    long planningRounds = Math.max(1, wholeRoundsLeft - RESERVE_ROUNDS);
    int share = (int) Math.min(Integer.MAX_VALUE, (long) Math.ceil(held.size() / (double) planningRounds));
    int quota = Math.max(0, Math.min(waiting.size(), Math.min(share, maxMoving - alreadyMoving)));
    return waiting.subList(0, quota);
  }

  /** Regions of draining members (ones still in the cluster), each with its member's deadline. */
  private Map<ActorRef, Long> drainingRegions(scala.collection.immutable.Map<ActorRef, IndexedSeq<String>> allocations) {
    Map<String, Long> deadlines = DrainingMembers.get(system).deadlines();
    if (deadlines.isEmpty()) return Map.of();
    Map<Address, Member> members = membersByAddress();
    Map<ActorRef, Long> draining = new LinkedHashMap<>();
    for (ActorRef region : CollectionConverters.asJava(allocations.keySet())) {
      Member member = members.get(addressOf(region));
      if (member == null || member.status() != MemberStatus.up()) continue;
      Long deadline = deadlines.get(DrainingMembers.keyOf(member.uniqueAddress()));
      if (deadline != null) draining.put(region, deadline);
    }
    return draining;
  }

  /** A move needs every region's acknowledgement: with a member unreachable it would only wait. */
  private boolean anyUnreachable() {
    return !cluster.state().getUnreachable().isEmpty();
  }

  @Override
  public String toString() {
    return "DrainAwareAllocationStrategy(" + leastShards + ")";
  }
}
