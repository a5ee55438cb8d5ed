package dev.parley.cluster;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Adapter;
import org.apache.pekko.cluster.sharding.ClusterSharding;
import org.apache.pekko.cluster.sharding.ShardRegion;
import org.apache.pekko.pattern.Patterns;

/** How many shards this node's regions of the given entity types hold (types not started here: none). */
final class LocalShards {

  private LocalShards() {}

  /**
   * Shards that answered the region's query and shards that did not ({@code getFailed()}): a
   * region lists only the shards that answered within {@code shard-region-query-timeout} under
   * {@code getShards()}. Counting only those, a busy machine (a shard's actor late to answer)
   * read as "every shard moved" while one was still here, the drain ended early, and that shard
   * moved at the handoff after all (ShardsMoveEarlyIT failed 19 of 20 on CI with "Starting
   * shutting down shards [84] due to region shutting down"). The ask waits longer than the
   * region's own query, so that a slow answer comes back as failed shards rather than no answer.
   */
  static CompletionStage<Integer> count(ActorSystem<?> system, Set<String> typeNames) {
    ClusterSharding sharding = ClusterSharding.get(Adapter.toClassic(system));
    Duration regionQuery = system.settings().config().getDuration("pekko.cluster.sharding.shard-region-query-timeout");
    List<CompletableFuture<Integer>> counts = new ArrayList<>();
    for (String typeName : sharding.getShardTypeNames()) {
      if (!typeNames.contains(typeName)) continue;
      counts.add(
          Patterns.ask(sharding.shardRegion(typeName), ShardRegion.getShardRegionStateInstance(), regionQuery.plusSeconds(2))
              .thenApply(
                  reply -> {
                    ShardRegion.CurrentShardRegionState state = (ShardRegion.CurrentShardRegionState) reply;
                    return state.getShards().size() + state.getFailed().size();
                  })
              .toCompletableFuture());
    }
    return CompletableFuture.allOf(counts.toArray(CompletableFuture[]::new))
        .thenApply(all -> counts.stream().mapToInt(CompletableFuture::join).sum());
  }
}
