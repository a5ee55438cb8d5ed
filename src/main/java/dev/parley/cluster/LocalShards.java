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

  static CompletionStage<Integer> count(ActorSystem<?> system, Set<String> typeNames) {
    ClusterSharding sharding = ClusterSharding.get(Adapter.toClassic(system));
    List<CompletableFuture<Integer>> counts = new ArrayList<>();
    for (String typeName : sharding.getShardTypeNames()) {
      if (!typeNames.contains(typeName)) continue;
      counts.add(
          Patterns.ask(sharding.shardRegion(typeName), ShardRegion.getShardRegionStateInstance(), Duration.ofSeconds(3))
              .thenApply(state -> ((ShardRegion.CurrentShardRegionState) state).getShards().size())
              .toCompletableFuture());
    }
    return CompletableFuture.allOf(counts.toArray(CompletableFuture[]::new))
        .thenApply(all -> counts.stream().mapToInt(CompletableFuture::join).sum());
  }
}
