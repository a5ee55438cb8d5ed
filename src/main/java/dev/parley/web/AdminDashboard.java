package dev.parley.web;

import static org.apache.pekko.http.javadsl.server.Directives.completeWithFuture;
import static org.apache.pekko.http.javadsl.server.Directives.concat;
import static org.apache.pekko.http.javadsl.server.Directives.get;
import static org.apache.pekko.http.javadsl.server.Directives.getFromResource;
import static org.apache.pekko.http.javadsl.server.Directives.getFromResourceDirectory;
import static org.apache.pekko.http.javadsl.server.Directives.path;
import static org.apache.pekko.http.javadsl.server.Directives.pathEndOrSingleSlash;
import static org.apache.pekko.http.javadsl.server.Directives.pathPrefix;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.parley.ErrorCode;
import dev.parley.conversation.Conversation;
import dev.parley.gateway.Frames;
import dev.parley.gateway.HttpErrors;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.actor.Address;
import org.apache.pekko.actor.ExtendedActorSystem;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Adapter;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.cluster.sharding.ShardRegion;
import org.apache.pekko.cluster.sharding.typed.GetClusterShardingStats;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.management.javadsl.ManagementRouteProvider;
import org.apache.pekko.management.javadsl.ManagementRouteProviderSettings;

/**
 * The operator dashboard on the management port (an operator interface, never the public port):
 * <ul>
 *   <li>{@code GET /admin}: the page (cluster members, shard distribution, connections and frame
 *       throughput over time, a drain button); it reads Pekko Management's {@code /cluster/members}
 *       and the token-protected {@code /parley/status} and {@code /parley/drain} same-origin, with
 *       the admin token the operator pastes (kept in the tab's session storage only);
 *   <li>{@code GET /admin/shards}: conversation shards and live conversations per node, cluster-wide
 *       (read-only, like Pekko Management's own {@code /cluster/shards/{name}}, which only knows its
 *       own node).
 * </ul>
 */
public final class AdminDashboard implements ManagementRouteProvider {

  private static final Duration SHARD_STATS_TIMEOUT = Duration.ofSeconds(3);

  private final ActorSystem<?> system;

  public AdminDashboard(ExtendedActorSystem system) {
    this.system = Adapter.toTyped(system);
  }

  @Override
  public Route routes(ManagementRouteProviderSettings settings) {
    return pathPrefix(
        "admin",
        () ->
            get(
                () ->
                    ChatClient.withPolicy(
                        () ->
                            concat(
                                pathEndOrSingleSlash(() -> getFromResource("web/admin/index.html")),
                                path("shards", () -> completeWithFuture(shards())),
                                getFromResourceDirectory("web/admin")))));
  }

  /** {@code {"regions":[{"address","shards","entities","failedShards"}]}}. */
  private CompletionStage<HttpResponse> shards() {
    CompletionStage<ShardRegion.ClusterShardingStats> stats =
        AskPattern.ask(
            ClusterSharding.get(system).shardState(),
            replyTo -> new GetClusterShardingStats(Conversation.ENTITY_TYPE_KEY, SHARD_STATS_TIMEOUT, replyTo),
            SHARD_STATS_TIMEOUT.plusSeconds(1),
            system.scheduler());
    return stats.handle(
        (answer, failure) -> {
          if (failure != null) return HttpErrors.response(ErrorCode.UNAVAILABLE, "shard statistics did not arrive in time");
          ObjectNode body = Frames.JSON.createObjectNode();
          ArrayNode regions = body.putArray("regions");
          for (Map.Entry<Address, ShardRegion.ShardRegionStats> region : answer.getRegions().entrySet()) {
            Map<String, Object> perShard = region.getValue().getStats();
            regions
                .addObject()
                .put("address", region.getKey().toString())
                .put("shards", perShard.size())
                .put("entities", perShard.values().stream().mapToInt(n -> ((Number) n).intValue()).sum())
                .put("failedShards", region.getValue().getFailed().size());
          }
          return HttpErrors.json(200, body);
        });
  }
}
