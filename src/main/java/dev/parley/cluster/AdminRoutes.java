package dev.parley.cluster;

import static org.apache.pekko.http.javadsl.server.Directives.complete;
import static org.apache.pekko.http.javadsl.server.Directives.concat;
import static org.apache.pekko.http.javadsl.server.Directives.entity;
import static org.apache.pekko.http.javadsl.server.Directives.get;
import static org.apache.pekko.http.javadsl.server.Directives.onSuccess;
import static org.apache.pekko.http.javadsl.server.Directives.path;
import static org.apache.pekko.http.javadsl.server.Directives.post;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.parley.ErrorCode;
import dev.parley.bot.BotMetrics;
import dev.parley.auth.Revocations;
import dev.parley.gateway.Frames;
import dev.parley.gateway.ProtocolException;
import dev.parley.gateway.HttpErrors;
import dev.parley.inbox.InboxProjection;
import dev.parley.ops.AdminToken;
import dev.parley.storage.StorageBreaker;
import java.sql.SQLException;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.apache.pekko.actor.CoordinatedShutdown;
import org.apache.pekko.actor.ExtendedActorSystem;
import org.apache.pekko.actor.typed.javadsl.Adapter;
import org.apache.pekko.cluster.Cluster;
import org.apache.pekko.http.javadsl.server.PathMatchers;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.http.javadsl.unmarshalling.Unmarshaller;
import org.apache.pekko.management.javadsl.ManagementRouteProvider;
import org.apache.pekko.management.javadsl.ManagementRouteProviderSettings;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Parley's operator routes on the Pekko Management port (never the public one), behind the admin
 * token ({@code parley.admin.token}; empty: the routes refuse everything):
 * <ul>
 *   <li>{@code POST /parley/drain}: this node leaves as on SIGTERM (drain, shard handoff, exit);
 *   <li>{@code GET /parley/status}: draining, open connections, websocket frames received and sent
 *       since start, admission counters, address, version, per-bot counters of this node ("bots"),
 *       and the database's state ("database": whether it answers a fresh connection now, whether
 *       this node's writes reach it, and whether this node is cut off from the cluster's majority),
 *       and connection rebalancing ("rebalance": state, reason, moves, connections per node).
 * </ul>
 */
public final class AdminRoutes implements ManagementRouteProvider {

  private static final Logger log = LoggerFactory.getLogger(AdminRoutes.class);

  /** Why this node is shutting down, as CoordinatedShutdown records it. */
  public static final class DrainRequested implements CoordinatedShutdown.Reason {}

  private final ExtendedActorSystem system;
  private final AdminToken token;
  private final DatabaseHealthCheck database;

  public AdminRoutes(ExtendedActorSystem system) {
    this.system = system;
    this.token = new AdminToken(system.settings().config());
    this.database = new DatabaseHealthCheck(system);
  }

  @Override
  public Route routes(ManagementRouteProviderSettings settings) {
    return concat(
        path(PathMatchers.segment("parley").slash("drain"), () -> post(() -> authorized(this::drain))),
        path(PathMatchers.segment("parley").slash("status"), () -> get(() -> authorized(this::status))),
        path(
            PathMatchers.segment("parley").slash("revoke"),
            () -> post(() -> authorized(() -> entity(Unmarshaller.entityToString(), this::revoke)))));
  }

  /** {"user": "..."}: every token of the user issued until now stops working on every node. */
  private Route revoke(String body) {
    String user;
    try {
      user = Frames.parseObject(body).path("user").asText("");
    } catch (ProtocolException e) {
      return complete(HttpErrors.response(ErrorCode.BAD_REQUEST, "body must be {\"user\": \"...\"}"));
    }
    if (user.isBlank() || user.length() > 128) {
      return complete(HttpErrors.response(ErrorCode.BAD_REQUEST, "user must be 1 to 128 characters"));
    }
    try {
      Revocations.Revoked revoked = Revocations.get(Adapter.toTyped(system)).revoke(user);
      log.info("tokens of a user revoked through the admin API");
      return complete(
          HttpErrors.json(200, Frames.JSON.createObjectNode().put("user", user).put("revokedAt", revoked.revokedAt())));
    } catch (SQLException | IllegalStateException e) {
      log.warn("revocation failed: {}", e.toString());
      return complete(HttpErrors.response(ErrorCode.UNAVAILABLE, "revocation could not be stored, retry"));
    }
  }

  private Route drain() {
    log.info("drain requested through the admin API");
    CoordinatedShutdown.get(system).runAll(new DrainRequested());
    return complete(HttpErrors.json(202, Frames.JSON.createObjectNode().put("status", "draining")));
  }

  private Route status() {
    CompletableFuture<Boolean> answers =
        database.get().toCompletableFuture().completeOnTimeout(false, DATABASE_PROBE_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
    return onSuccess(answers.exceptionally(e -> false), this::status);
  }

  /** The status waits at most this long for the database to answer; slower counts as no. */
  private static final Duration DATABASE_PROBE_TIMEOUT = Duration.ofSeconds(2);

  private Route status(boolean databaseAnswers) {
    NodeLifecycle lifecycle = NodeLifecycle.get(Adapter.toTyped(system));
    Cluster cluster = Cluster.get(system);
    ObjectNode body = Frames.JSON.createObjectNode();
    body.put("address", cluster.selfAddress().toString());
    body.put("status", cluster.selfMember().status().toString());
    body.put("appVersion", cluster.selfMember().appVersion().toString());
    body.put("draining", lifecycle.isDraining());
    body.put("connections", lifecycle.openConnections());
    body.putObject("frames").put("received", lifecycle.framesReceived()).put("sent", lifecycle.framesSent());
    body.put("recoveriesInFlight", lifecycle.recoveriesInFlight());
    body.put("recoveriesPeak", lifecycle.takeRecoveriesPeak());
    body.put("recoveriesCompleted", lifecycle.recoveriesCompleted());
    InboxProjection.Progress inbox = InboxProjection.Progress.get(Adapter.toTyped(system));
    body.put("inboxLagMs", inbox.lagMillis());
    body.put("inboxTags", inbox.runningTags());
    body.set("bots", BotMetrics.get(Adapter.toTyped(system)).toJson());
    ObjectNode admission = body.putObject("admission");
    admission.putObject("connections")
        .put("admitted", lifecycle.connectionAdmission().admittedCount())
        .put("rejected", lifecycle.connectionAdmission().rejectedCount());
    admission.putObject("resumes")
        .put("admitted", lifecycle.resumeAdmission().admittedCount())
        .put("rejected", lifecycle.resumeAdmission().rejectedCount());
    StorageBreaker breaker = lifecycle.storageBreaker();
    // Readiness does not include the database (a shared outage would empty the load balancer):
    // this is where operators and the dashboard see it.
    ObjectNode databaseState = body.putObject("database").put("answers", databaseAnswers);
    if (breaker != null) {
      databaseState
          .put("writes", breaker.state() == StorageBreaker.State.CLOSED ? "available" : "unavailable")
          .put("writesStateForMs", breaker.inStateFor().toMillis());
    }
    databaseState.put("cutOffFromCluster", !PartitionSide.get(Adapter.toTyped(system)).mayWrite());
    if (breaker != null) {
      body.putObject("storageBreaker")
          .put("state", breaker.state().name().toLowerCase(java.util.Locale.ROOT))
          .put("opened", breaker.openedCount())
          .put("closed", breaker.closedCount())
          .put("refused", breaker.refusedCount())
          .put("notOpened", breaker.notOpenedCount());
    }
    body.set("rebalance", rebalanceJson(ClusterConnections.get(Adapter.toTyped(system))));
    return complete(HttpErrors.json(200, body));
  }

  /** Connection rebalancing as this node sees it: its state, why, the moves, the cluster's counts. */
  private static ObjectNode rebalanceJson(ClusterConnections connections) {
    RebalancePlan.Decision decision = connections.lastDecision();
    ObjectNode rebalance = Frames.JSON.createObjectNode();
    rebalance
        .put("state", decision.state().name().toLowerCase(java.util.Locale.ROOT))
        .put("reason", decision.reason())
        .put("mean", Math.round(decision.mean() * 10) / 10.0)
        .put("refusingNewConnections", decision.refuseNewConnections());
    rebalance.putObject("moves")
        .put("requested", connections.movesRequested())
        .put("declined", connections.movesDeclined())
        .put("completed", connections.movesCompleted());
    ObjectNode perNode = rebalance.putObject("connectionsPerNode");
    connections.byAddress().forEach(perNode::put);
    return rebalance;
  }

  private Route authorized(Supplier<Route> inner) {
    return token.authorized(inner);
  }
}
