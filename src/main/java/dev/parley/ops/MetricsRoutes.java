package dev.parley.ops;

import static org.apache.pekko.http.javadsl.server.Directives.complete;
import static org.apache.pekko.http.javadsl.server.Directives.get;
import static org.apache.pekko.http.javadsl.server.Directives.onSuccess;
import static org.apache.pekko.http.javadsl.server.Directives.path;

import dev.parley.conversation.Conversation;
import java.time.Duration;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.actor.ExtendedActorSystem;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Adapter;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.cluster.sharding.ShardRegion;
import org.apache.pekko.cluster.sharding.typed.ClusterShardingQuery;
import org.apache.pekko.cluster.sharding.typed.GetShardRegionState;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpEntities;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.management.javadsl.ManagementRouteProvider;
import org.apache.pekko.management.javadsl.ManagementRouteProviderSettings;

/**
 * {@code GET /metrics} on the management port: the node's {@link Metrics} in the Prometheus text
 * format. No admin token: like the health checks it is read by infrastructure (Prometheus) on the
 * management interface, which binds to the cluster host and is never exposed publicly; it reveals
 * counts, never ids, texts or tokens. Before each scrape the shard region is asked for its shards
 * and entities, so those gauges are as fresh as the scrape.
 */
public final class MetricsRoutes implements ManagementRouteProvider {

  private static final Duration SHARD_STATE_TIMEOUT = Duration.ofSeconds(2);

  private final ActorSystem<?> system;
  private final Metrics metrics;

  public MetricsRoutes(ExtendedActorSystem system) {
    this.system = Adapter.toTyped(system);
    this.metrics = Metrics.get(this.system);
  }

  @Override
  public Route routes(ManagementRouteProviderSettings settings) {
    return path(
        "metrics",
        () ->
            get(
                () ->
                    onSuccess(
                        refreshShardRegionState(),
                        refreshed ->
                            complete(
                                HttpResponse.create()
                                    .withEntity(HttpEntities.create(ContentTypes.TEXT_PLAIN_UTF8, metrics.scrape()))))));
  }

  /** Never fails: when the region does not answer in time, the gauges keep their last values. */
  private CompletionStage<Boolean> refreshShardRegionState() {
    return AskPattern.<ClusterShardingQuery, ShardRegion.CurrentShardRegionState>ask(
            ClusterSharding.get(system).shardState(),
            replyTo -> new GetShardRegionState(Conversation.ENTITY_TYPE_KEY, replyTo),
            SHARD_STATE_TIMEOUT,
            system.scheduler())
        .handle(
            (state, failure) -> {
              if (state == null) return false;
              long entities = state.getShards().stream().mapToLong(s -> s.getEntityIds().size()).sum();
              metrics.shardRegionState(state.getShards().size(), entities);
              return true;
            });
  }
}
