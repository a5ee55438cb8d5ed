package dev.parley.cluster;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.Done;
import org.apache.pekko.actor.ActorRef;
import org.apache.pekko.actor.CoordinatedShutdown;
import org.apache.pekko.actor.PoisonPill;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Adapter;
import org.apache.pekko.cluster.Member;
import org.apache.pekko.cluster.UniqueAddress;
import org.apache.pekko.cluster.sharding.ClusterSharding;
import org.apache.pekko.cluster.sharding.ShardRegion;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.pattern.Patterns;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The handoff of a node that is the cluster's only member: each shard region stops as soon as it
 * holds no shard, instead of waiting out the {@code cluster-sharding-shutdown-region} phase for
 * messages that can never be delivered here.
 *
 * <p>Why: a region shutting down buffers every message for a shard it no longer hosts and asks
 * the coordinator where that shard lives; the coordinator allocates no shard to a region that is
 * shutting down, and with no other member there is no other region. Pekko 1.2.1's region stops
 * only when it holds no shards <em>and</em> no buffered messages ({@code ShardRegion
 * .tryCompleteGracefulShutdownIfInProgress}), so any message arriving after its shards were
 * handed off (the sharded daemon processes' keep-alive pings, every second, or a client's send)
 * kept it alive until its shutdown timer (phase timeout − 1 s, 24 s here) stopped it and dropped
 * the buffer anyway: a single node took 25 s to stop in 2 of 6 stops of one end-to-end test. The
 * same diagnosis upstream: apache/pekko#3552, akka/akka-core#33001 (fixed there by dropping such
 * messages when the node is the only member). Dropping them earlier loses nothing the timer would
 * not: a sender whose message is not answered asks again on the next node (a client's send is
 * resent with its {@code clientMsgId}, a keep-alive ping comes again).
 *
 * <p>With other members this step does nothing: there the buffered messages go to the shards'
 * new homes, which is the point of a graceful handoff.
 */
public final class SoleMemberHandoff {

  private static final Logger log = LoggerFactory.getLogger(SoleMemberHandoff.class);
  private static final Duration POLL = Duration.ofMillis(100);
  private static final Duration STATE_TIMEOUT = Duration.ofSeconds(1);

  private SoleMemberHandoff() {}

  /** Adds the step to {@code system}'s CoordinatedShutdown, beside Pekko's own region shutdown. */
  public static void install(ActorSystem<?> system) {
    CoordinatedShutdown.get(system)
        .addTask(CoordinatedShutdown.PhaseClusterShardingShutdownRegion(), "parley-sole-member-region-stop", () -> stopEmptyRegions(system));
  }

  private static CompletionStage<Done> stopEmptyRegions(ActorSystem<?> system) {
    Cluster cluster = Cluster.get(system);
    if (!soleMember(cluster)) return CompletableFuture.completedFuture(Done.getInstance());
    ClusterSharding sharding = ClusterSharding.get(Adapter.toClassic(system));
    List<CompletableFuture<Done>> stops = new ArrayList<>();
    for (String typeName : sharding.getShardTypeNames()) {
      stops.add(stopWhenEmpty(typeName, sharding.shardRegion(typeName)).toCompletableFuture());
    }
    return CompletableFuture.allOf(stops.toArray(CompletableFuture[]::new)).thenApply(ignored -> Done.getInstance());
  }

  /**
   * Asks {@code region} for its shards until it holds none, then stops it. A region that no
   * longer answers has stopped by itself (the phase's own task stopped it, or it never started).
   */
  private static CompletionStage<Done> stopWhenEmpty(String typeName, ActorRef region) {
    return Patterns.ask(region, ShardRegion.getShardRegionStateInstance(), STATE_TIMEOUT)
        .handle(
            (state, failure) -> {
              if (failure != null || !(state instanceof ShardRegion.CurrentShardRegionState current)) return true;
              if (!current.getShards().isEmpty()) return false;
              log.debug("{}: no shards left and no other member to hand buffered messages to; stopping the region", typeName);
              region.tell(PoisonPill.getInstance(), ActorRef.noSender());
              return true;
            })
        .thenCompose(
            finished ->
                finished
                    ? CompletableFuture.completedFuture(Done.getInstance())
                    : CompletableFuture.supplyAsync(() -> region, CompletableFuture.delayedExecutor(POLL.toMillis(), TimeUnit.MILLISECONDS))
                        .thenCompose(r -> stopWhenEmpty(typeName, r)));
  }

  /** No other member, in any status, that could host a shard (upstream's predicate). */
  static boolean soleMember(Cluster cluster) {
    UniqueAddress self = cluster.selfMember().uniqueAddress();
    for (Member member : cluster.state().getMembers()) {
      if (!member.uniqueAddress().equals(self)) return false;
    }
    return true;
  }
}
