package dev.parley.gateway;

import static org.apache.pekko.http.javadsl.server.Directives.complete;
import static org.apache.pekko.http.javadsl.server.Directives.extractRequest;
import static org.apache.pekko.http.javadsl.server.Directives.extractWebSocketUpgrade;
import static org.apache.pekko.http.javadsl.server.Directives.get;
import static org.apache.pekko.http.javadsl.server.Directives.optionalHeaderValueByName;
import static org.apache.pekko.http.javadsl.server.Directives.parameterOptional;
import static org.apache.pekko.http.javadsl.server.Directives.path;

import dev.parley.ErrorCode;
import dev.parley.ParleyConfig;
import dev.parley.auth.Revocations;
import dev.parley.auth.Tokens;
import dev.parley.cluster.AdmissionControl;
import dev.parley.cluster.ClusterConnections;
import dev.parley.cluster.NodeLifecycle;
import dev.parley.conversation.Conversations;
import dev.parley.inbox.Inbox;
import java.time.Duration;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Supplier;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Props;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.headers.RetryAfter;
import org.apache.pekko.http.javadsl.server.PathMatchers;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.stream.Attributes;
import org.apache.pekko.stream.javadsl.BidiFlow;
import org.apache.pekko.stream.javadsl.Flow;
import org.apache.pekko.event.Logging;
import org.apache.pekko.http.scaladsl.settings.ServerSettings;
import org.apache.pekko.http.scaladsl.settings.WebSocketSettings;
import scala.concurrent.duration.FiniteDuration;

/**
 * {@code GET /v1/ws}: authenticates before the upgrade (a missing or invalid token is answered
 * 401 and no websocket is opened), then joins the connection to a new {@link Session}.
 */
public final class WebSocketRoute {

  private final ActorSystem<?> system;
  private final Tokens tokens;
  private final Conversations conversations;
  private final Inbox inbox;
  private final ConnectedSessions connectedSessions;
  private final ParleyConfig config;
  private final ParleyConfig.GatewaySettings settings;
  /**
   * {@link WebSocketFrames} (the websocket protocol: frames, control frames, close handshake) and a {@link SessionStream}:
   * one blueprint shared by every connection, which tells it its user by an attribute
   * ({@link ConnectionOf}). A graph joined per connection stayed referenced for the connection's
   * life (~2 KB of traversal builders, kept by Pekko HTTP's finished response renderer:
   * benchmarks.md, issue 19).
   */
  private final WebSocketFrames.Upgrades upgrades;

  /** Names of session actors: unique on this node (a random UUID cost a SecureRandom call per connection). */
  private static final AtomicLong SESSION_NUMBERS = new AtomicLong();

  /** Whose connection a materialization of the shared handler ({@link #upgrades}) is. */
  private record ConnectionOf(Tokens.Verified user) implements Attributes.Attribute {}
  /** How long a closing connection waits for the client's close frame (Pekko HTTP's own value). */
  private static final Duration CLOSE_TIMEOUT = Duration.ofSeconds(3);
  private final AdmissionControl connections;
  private final AdmissionControl resumes;
  private final NodeLifecycle lifecycle;
  private final Revocations revocations;
  private final OriginPolicy origins;
  private final UserLimits userLimits;

  public WebSocketRoute(
      ActorSystem<?> system,
      Tokens tokens,
      Conversations conversations,
      Inbox inbox,
      ConnectedSessions connectedSessions,
      ParleyConfig config,
      AdmissionControl connections,
      AdmissionControl resumes,
      UserLimits userLimits) {
    this.system = system;
    this.userLimits = userLimits;
    this.inbox = inbox;
    this.connectedSessions = connectedSessions;
    this.config = config;
    this.connections = connections;
    this.resumes = resumes;
    this.lifecycle = NodeLifecycle.get(system);
    this.revocations = Revocations.get(system);
    this.origins = new OriginPolicy(config.http().allowedOrigins());
    this.tokens = tokens;
    this.conversations = conversations;
    this.settings = config.gateway();
    WebSocketSettings websocket =
        ((ServerSettings) org.apache.pekko.http.javadsl.settings.ServerSettings.create(system.classicSystem())).websocketSettings();
    WebSocketFrames.Settings frames =
        WebSocketFrames.Settings.of(
            websocket,
            settings.maxFrameBytes(),
            CLOSE_TIMEOUT,
            IdleConnections.get(system),
            !pingsWithin(websocket, settings.idle().timeout()),
            Logging.getLogger(system.classicSystem(), WebSocketFrames.class));
    this.upgrades =
        new WebSocketFrames.Upgrades(
            BidiFlow.fromGraph(new WebSocketFrames(frames))
                .join(
                    Flow.fromGraph(
                        new SessionStream(
                            (attributes, outbound) ->
                                startSession(attributes.getAttribute(ConnectionOf.class).orElseThrow().user(), outbound),
                            lifecycle::frameReceived,
                            lifecycle::frameSent))));
  }

  /**
   * Whether the server pings a silent connection within {@code idleTimeout}: then every live client
   * answers (a pong) in time, and only frames from the client need to count as life.
   */
  static boolean pingsWithin(WebSocketSettings websocket, Duration idleTimeout) {
    return websocket.periodicKeepAliveMode().equals("ping")
        && websocket.periodicKeepAliveMaxIdle() instanceof FiniteDuration maxIdle
        && maxIdle.toNanos() < idleTimeout.toNanos();
  }

  public Route route() {
    return path(
        PathMatchers.segment("v1").slash("ws"),
        () ->
            get(
                () ->
                    parameterOptional(
                        "token",
                        queryToken ->
                            optionalHeaderValueByName(
                                "Authorization",
                                header -> allowedOrigin(() -> {
                                  String token = bearer(queryToken, header);
                                  Optional<Tokens.Verified> user = tokens.verifyToken(token);
                                  if (user.isEmpty()) {
                                    return complete(
                                        HttpErrors.response(ErrorCode.UNAUTHORIZED, "missing, invalid or expired token"));
                                  }
                                  if (revocations.isRevoked(user.get().user(), user.get().issued())) {
                                    return complete(HttpErrors.response(ErrorCode.UNAUTHORIZED, "token revoked"));
                                  }
                                  return admitted(() -> oneMoreConnectionOf(user.get()));
                                })))));
  }

  /** Cross-site websocket hijacking: a browser page of a foreign origin gets 403, see {@link OriginPolicy}. */
  private Route allowedOrigin(Supplier<Route> inner) {
    return optionalHeaderValueByName(
        "Origin",
        origin ->
            optionalHeaderValueByName(
                "Host",
                host ->
                    origins.allows(origin, host)
                        ? inner.get()
                        : complete(HttpErrors.response(ErrorCode.FORBIDDEN, "origin not allowed"))));
  }

  /**
   * A draining node takes no new connections, and a node past its connection rate answers 503
   * with a jittered Retry-After instead of queueing the upgrade: after a restart the herd is spread
   * out in time rather than served all at once. A node above its share of the cluster's connections
   * while another has room sends new ones there (503 too), so moved clients do not come back.
   */
  private Route admitted(Supplier<Route> inner) {
    if (lifecycle.isDraining()) {
      return complete(retryLater(1000 + ThreadLocalRandom.current().nextLong(4000), "node is draining, connect to another"));
    }
    if (ClusterConnections.get(system).refusesNewConnections()) {
      // Rebalancing: this node holds more than its share and another has room (RebalancePlan).
      return complete(retryLater(1000 + ThreadLocalRandom.current().nextLong(2000), "node holds more than its share of connections, connect to another"));
    }
    OptionalLong retryAfterMs = connections.tryAdmit();
    if (retryAfterMs.isPresent()) {
      return complete(retryLater(retryAfterMs.getAsLong(), "too many new connections, retry later"));
    }
    return inner.get();
  }

  /**
   * A user holding all of their connection slots on this node gets 429 before the upgrade. Only a
   * real upgrade request creates a session (and takes a slot): a plain GET is rejected first, so
   * it cannot leave behind a session that no stream will ever stop.
   */
  private Route oneMoreConnectionOf(Tokens.Verified user) {
    return extractWebSocketUpgrade(
        upgrade ->
            extractRequest(
                request -> {
                  if (!userLimits.tryConnect(user.user())) {
                    return complete(
                        HttpErrors.response(
                            ErrorCode.RATE_LIMITED,
                            "at most " + userLimits.limits().connectionsPerUser() + " connections per user on this node"));
                  }
                  return complete(upgrades.respond(request, Attributes.apply(new ConnectionOf(user))));
                }));
  }

  private static HttpResponse retryLater(long afterMs, String message) {
    long seconds = Math.max(1, (afterMs + 999) / 1000);
    return HttpErrors.response(ErrorCode.UNAVAILABLE, message).addHeader(RetryAfter.create(seconds));
  }

  static String bearer(Optional<String> queryToken, Optional<String> authorization) {
    if (queryToken.isPresent()) return queryToken.get();
    return authorization
        .filter(h -> h.regionMatches(true, 0, "Bearer ", 0, 7))
        .map(h -> h.substring(7).trim())
        .orElse(null);
  }

  /** The session that owns one connection, started by the connection's {@link SessionStream}. */
  private ActorRef<Session.Command> startSession(Tokens.Verified user, OutboundQueue outbound) {
    return system.systemActorOf(
        Session.create(user.user(), user.validUntil(), outbound, conversations, inbox, connectedSessions, config, resumes, userLimits),
        "session-" + SESSION_NUMBERS.incrementAndGet(),
        Props.empty());
  }
}
