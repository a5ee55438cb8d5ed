package dev.parley.ops;

import static org.apache.pekko.http.javadsl.server.Directives.complete;
import static org.apache.pekko.http.javadsl.server.Directives.concat;
import static org.apache.pekko.http.javadsl.server.Directives.get;
import static org.apache.pekko.http.javadsl.server.Directives.onSuccess;
import static org.apache.pekko.http.javadsl.server.Directives.parameterOptional;
import static org.apache.pekko.http.javadsl.server.Directives.path;
import static org.apache.pekko.http.javadsl.server.Directives.post;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.parley.ErrorCode;
import dev.parley.conversation.Conversation;
import dev.parley.gateway.Frames;
import dev.parley.gateway.HttpErrors;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.CompletionStage;
import java.util.function.Function;
import java.util.stream.StreamSupport;
import org.apache.pekko.actor.ExtendedActorSystem;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Adapter;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.cluster.Cluster;
import org.apache.pekko.cluster.Member;
import org.apache.pekko.cluster.sharding.ShardRegion;
import org.apache.pekko.cluster.sharding.typed.ClusterShardingQuery;
import org.apache.pekko.cluster.sharding.typed.GetClusterShardingStats;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.server.PathMatchers;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.management.javadsl.ManagementRouteProvider;
import org.apache.pekko.management.javadsl.ManagementRouteProviderSettings;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Cluster-wide operator routes on the management port, behind the admin token (see {@link
 * AdminToken}), answered by whichever node is asked:
 * <ul>
 *   <li>{@code GET /parley/members}: every member with status, roles, app-version, reachability;
 *   <li>{@code GET /parley/shards}: conversation shards and live entities per node;
 *   <li>{@code GET /parley/connections}: open client connections per node;
 *   <li>{@code POST /parley/nodes/drain|leave|down?node=ADDRESS}: drain a node (as on SIGTERM),
 *       make it leave the cluster (which drains it too), or mark it down (for a node that is gone).
 * </ul>
 * Pekko Management's own cluster routes ({@code /cluster/members}) stay read-only (its default,
 * {@code route-providers-read-only}) and unauthenticated; every change goes through these routes.
 */
public final class ClusterAdminRoutes implements ManagementRouteProvider {

  private static final Logger log = LoggerFactory.getLogger(ClusterAdminRoutes.class);
  private static final Duration TIMEOUT = Duration.ofSeconds(5);

  private final ActorSystem<?> system;
  private final AdminToken token;

  public ClusterAdminRoutes(ExtendedActorSystem system) {
    this.system = Adapter.toTyped(system);
    this.token = new AdminToken(system.settings().config());
  }

  @Override
  public Route routes(ManagementRouteProviderSettings settings) {
    return concat(
        path(PathMatchers.segment("parley").slash("members"), () -> get(() -> token.authorized(this::members))),
        path(PathMatchers.segment("parley").slash("shards"), () -> get(() -> token.authorized(this::shards))),
        path(PathMatchers.segment("parley").slash("connections"), () -> get(() -> token.authorized(this::connections))),
        path(
            PathMatchers.segment("parley").slash("nodes").slash(PathMatchers.segment()),
            operation -> post(() -> token.authorized(() -> parameterOptional("node", node -> onNode(operation, node))))));
  }

  private Route members() {
    Cluster cluster = Cluster.get(Adapter.toClassic(system));
    ObjectNode body = Frames.JSON.createObjectNode();
    body.put("self", cluster.selfAddress().toString());
    body.put("leader", Optional.ofNullable(cluster.state().getLeader()).map(Object::toString).orElse(null));
    ArrayNode members = body.putArray("members");
    for (Member member : sorted(cluster.state().getMembers())) {
      ObjectNode m = members.addObject();
      m.put("address", member.address().toString());
      m.put("status", member.status().toString());
      m.put("reachable", !cluster.state().getUnreachable().contains(member));
      m.put("appVersion", member.appVersion().toString());
      ArrayNode roles = m.putArray("roles");
      member.getRoles().stream().filter(r -> !r.startsWith("dc-")).sorted().forEach(roles::add);
      m.put("dataCenter", member.dataCenter());
    }
    return complete(HttpErrors.json(200, body));
  }

  private Route shards() {
    CompletionStage<ShardRegion.ClusterShardingStats> stats =
        AskPattern.<ClusterShardingQuery, ShardRegion.ClusterShardingStats>ask(
            ClusterSharding.get(system).shardState(),
            replyTo -> new GetClusterShardingStats(Conversation.ENTITY_TYPE_KEY, TIMEOUT, replyTo),
            TIMEOUT.plusSeconds(1),
            system.scheduler());
    return answer(
        stats,
        s -> {
          ObjectNode body = Frames.JSON.createObjectNode();
          ArrayNode nodes = body.putArray("nodes");
          long totalShards = 0;
          long totalEntities = 0;
          Map<String, ShardRegion.ShardRegionStats> byAddress = new TreeMap<>();
          s.getRegions().forEach((address, region) -> byAddress.put(address.toString(), region));
          for (Map.Entry<String, ShardRegion.ShardRegionStats> region : byAddress.entrySet()) {
            long entities = region.getValue().getStats().values().stream().mapToLong(n -> ((Number) n).longValue()).sum();
            int shards = region.getValue().getStats().size();
            ObjectNode node =
                nodes.addObject()
                    .put("address", region.getKey())
                    .put("shards", shards)
                    .put("entities", entities)
                    .put("failedShards", region.getValue().getFailed().size());
            // Which shards: a fault benchmark (src/site/bench/fault.sh) tells from them which
            // conversations a node it kills was serving (shard = |id.hashCode() % number-of-shards|).
            ArrayNode ids = node.putArray("shardIds");
            new TreeMap<>(region.getValue().getStats()).keySet().forEach(ids::add);
            totalShards += shards;
            totalEntities += entities;
          }
          body.put("shards", totalShards).put("entities", totalEntities);
          return body;
        });
  }

  private Route connections() {
    return answer(
        NodeAgent.stats(system, TIMEOUT),
        stats -> {
          ObjectNode body = Frames.JSON.createObjectNode();
          ArrayNode nodes = body.putArray("nodes");
          stats.stream()
              .sorted(Comparator.comparing(NodeAgent.Stats::address))
              .forEach(s -> nodes.addObject().put("address", s.address()).put("connections", s.connections()).put("draining", s.draining()));
          body.put("connections", stats.stream().mapToLong(NodeAgent.Stats::connections).sum());
          return body;
        });
  }

  private Route onNode(String operation, Optional<String> node) {
    if (node.isEmpty() || node.get().isBlank()) {
      return complete(HttpErrors.response(ErrorCode.BAD_REQUEST, "query parameter node (a member address) is required"));
    }
    Cluster cluster = Cluster.get(Adapter.toClassic(system));
    Optional<Member> member = find(cluster, node.get());
    if (member.isEmpty()) return complete(HttpErrors.response(ErrorCode.NOT_FOUND, "no such member: " + node.get()));
    String address = member.get().address().toString();
    switch (operation) {
      case "leave" -> {
        log.info("leave of {} requested through the admin API", address);
        cluster.leave(member.get().address());
      }
      case "down" -> {
        log.info("down of {} requested through the admin API", address);
        cluster.down(member.get().address());
      }
      case "drain" -> {
        log.info("drain of {} requested through the admin API", address);
        CompletionStage<HttpResponse> told =
            NodeAgent.all(system, TIMEOUT)
                .thenApply(
                    agents -> {
                      // The receptionist lists this node's own agent with a local address.
                      List<ActorRef<NodeAgent.Command>> target =
                          agents.stream()
                              .filter(agent -> address.equals(fullAddress(agent, cluster)))
                              .toList();
                      target.forEach(agent -> agent.tell(NodeAgent.DrainNode.INSTANCE));
                      return target.isEmpty()
                          ? HttpErrors.response(ErrorCode.UNAVAILABLE, "node " + address + " has no agent registered yet, retry")
                          : HttpErrors.json(202, accepted("draining", address));
                    });
        return onSuccess(
            told.exceptionally(e -> HttpErrors.response(ErrorCode.UNAVAILABLE, "the cluster did not answer in time, retry")),
            r -> complete(r));
      }
      default -> {
        return complete(HttpErrors.response(ErrorCode.NOT_FOUND, "no such operation: " + operation + " (drain, leave, down)"));
      }
    }
    return complete(HttpErrors.json(202, accepted(operation.equals("leave") ? "leaving" : "downed", address)));
  }

  private static String fullAddress(ActorRef<?> agent, Cluster cluster) {
    return agent.path().address().hasLocalScope() ? cluster.selfAddress().toString() : agent.path().address().toString();
  }

  private static ObjectNode accepted(String status, String address) {
    return Frames.JSON.createObjectNode().put("status", status).put("node", address);
  }

  /** A member by its full address (pekko://parley@host:port) or by host:port. */
  private static Optional<Member> find(Cluster cluster, String node) {
    return StreamSupport.stream(cluster.state().getMembers().spliterator(), false)
        .filter(
            m ->
                m.address().toString().equals(node)
                    || (m.address().host().isDefined()
                        && (m.address().host().get() + ":" + m.address().port().get()).equals(node)))
        .findFirst();
  }

  private static List<Member> sorted(Iterable<Member> members) {
    return StreamSupport.stream(members.spliterator(), false)
        .sorted(Comparator.comparing(m -> m.address().toString()))
        .toList();
  }

  private static <T> Route answer(CompletionStage<T> stage, Function<T, ObjectNode> body) {
    CompletionStage<HttpResponse> response =
        stage.handle(
            (value, failure) ->
                value == null
                    ? HttpErrors.response(ErrorCode.UNAVAILABLE, "the cluster did not answer in time, retry")
                    : HttpErrors.json(200, body.apply(value)));
    return onSuccess(response, r -> complete(r));
  }
}
