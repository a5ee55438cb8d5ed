package dev.parley.gateway;


import dev.parley.ErrorCode;
import dev.parley.auth.Revocations;
import dev.parley.auth.Tokens;
import dev.parley.cluster.AdmissionControl;
import dev.parley.cluster.ClusterConnections;
import dev.parley.cluster.NodeLifecycle;
import dev.parley.conversation.Conversations;
import dev.parley.inbox.Inbox;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Props;
import org.apache.pekko.event.Logging;
import org.apache.pekko.http.javadsl.model.AttributeKeys;
import org.apache.pekko.http.javadsl.model.HttpHeader;
import org.apache.pekko.http.javadsl.model.HttpMethods;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.StatusCode;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.model.headers.RetryAfter;
import org.apache.pekko.http.scaladsl.settings.ServerSettings;
import org.apache.pekko.http.scaladsl.settings.WebSocketSettings;
import org.apache.pekko.stream.Attributes;
import org.apache.pekko.stream.javadsl.BidiFlow;
import org.apache.pekko.stream.javadsl.Flow;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import scala.concurrent.duration.FiniteDuration;

/**
 * {@code GET /v1/ws}: authenticates before the upgrade (a missing or invalid token is answered
 * 401 and no websocket is opened), then joins the connection to a new {@link Session}. Asked by
 * each connection's {@link RoutedRequests} before the node's routes ({@link #answer(HttpRequest)}).
 */
public final class WebSocketRoute {

  private static final Logger log = LoggerFactory.getLogger(WebSocketRoute.class);

  private final ActorSystem<?> system;
  private final Tokens tokens;
  private final Conversations conversations;
  private final Inbox inbox;
  private final ConnectedSessions connectedSessions;
  private final Session.Settings sessions;
  private final GatewaySettings settings;
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
      Session.Settings sessions,
      List<String> allowedOrigins,
      AdmissionControl connections,
      AdmissionControl resumes,
      UserLimits userLimits) {
    this.system = system;
    this.userLimits = userLimits;
    this.inbox = inbox;
    this.connectedSessions = connectedSessions;
    this.sessions = sessions;
    this.connections = connections;
    this.resumes = resumes;
    this.lifecycle = NodeLifecycle.get(system);
    this.revocations = Revocations.get(system);
    this.origins = new OriginPolicy(allowedOrigins);
    this.tokens = tokens;
    this.conversations = conversations;
    this.settings = sessions.gateway();
    ServerSettings server = (ServerSettings) org.apache.pekko.http.javadsl.settings.ServerSettings.create(system.classicSystem());
    WebSocketSettings websocket = server.websocketSettings();
    Optional<Duration> lingerTimeout = ConnectionSwitch.lingerTimeout(server);
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
                            lifecycle::frameSent,
                            lingerTimeout))));
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

  /**
   * The answer to every request for {@code /v1/ws}, or empty for any other path (the node's routes
   * answer those). Not a route of the routing DSL: a connect storm's directives (closures, the
   * rejection bookkeeping, marshalling, a {@code RequestContext} per step) cost more than the steps
   * themselves (benchmarks.md, issue 19, 2026-12-06). The answers are the ones the route gave,
   * in its order: a method other than GET, a malformed query, then origin, token, revocation,
   * admission, the upgrade and the per-user limit (see {@link #answer(HttpRequest, String, Optional, Optional)});
   * what the route left to the node's rejection handler is answered here as that handler rendered
   * it ({@link #rejected}), and an unexpected failure as its exception handler did.
   */
  public Optional<HttpResponse> answer(HttpRequest request) {
    if (!WS_PATH.equals(request.getUri().path())) return Optional.empty();
    if (!request.method().equals(HttpMethods.GET)) return Optional.of(rejected(StatusCodes.METHOD_NOT_ALLOWED));
    try {
      Optional<String> queryToken;
      try {
        queryToken = queryToken(request.getUri());
      } catch (RuntimeException malformed) {
        // A query that does not parse: the route's parameter directive rejected it, a 400.
        return Optional.of(rejected(StatusCodes.BAD_REQUEST));
      }
      String token = bearer(queryToken, headerValue(request, "Authorization"));
      HttpResponse answer = answer(request, token, headerValue(request, "Origin"), headerValue(request, "Host"));
      // Not an upgrade request: refused as Pekko HTTP's websocket directive refuses it.
      return Optional.of(answer != null ? answer : rejected(StatusCodes.BAD_REQUEST));
    } catch (RuntimeException e) {
      log.error("unexpected failure serving a request", e);
      return Optional.of(HttpErrors.response(ErrorCode.INTERNAL, "internal error"));
    }
  }

  private static final String WS_PATH = "/v1/ws";

  /**
   * The query's {@code token}, as Pekko HTTP's query parser reads it. The query a client sends is
   * usually {@code token=} and a JWT, all of it unreserved characters (base64url and dots): such a
   * query is read here without the parser (a parboiled parser built and run per connection, ~3 % of
   * a warm connect storm's samples; benchmarks.md, issue 19, 2026-12-06 (second session)); nothing
   * in it is decoded, so the parser would give the same value. Any other query goes to the parser,
   * which throws on a malformed one.
   */
  static Optional<String> queryToken(org.apache.pekko.http.javadsl.model.Uri uri) {
    Optional<String> raw = uri.rawQueryString();
    if (raw.isPresent() && raw.get().startsWith(TOKEN_PARAMETER) && unreserved(raw.get(), TOKEN_PARAMETER.length())) {
      return Optional.of(raw.get().substring(TOKEN_PARAMETER.length()));
    }
    return uri.query().get("token");
  }

  private static final String TOKEN_PARAMETER = "token=";

  /** Whether {@code text} from {@code from} holds only RFC 3986 unreserved characters (nothing a query parser decodes or splits on). */
  private static boolean unreserved(String text, int from) {
    for (int i = from; i < text.length(); i++) {
      char c = text.charAt(i);
      boolean ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~';
      if (!ok) return false;
    }
    return true;
  }

  /** As the node's rejection handler renders a rejection with this status (Node.withJsonErrors). */
  private static HttpResponse rejected(StatusCode status) {
    return HttpErrors.json(status.intValue(), Frames.error(null, ErrorCode.BAD_REQUEST, status.reason()));
  }

  private static Optional<String> headerValue(HttpRequest request, String name) {
    return request.getHeader(name).map(HttpHeader::value);
  }

  /**
   * Origin (cross-site websocket hijacking: a page of a foreign origin gets 403, {@link OriginPolicy}),
   * token, revocation, admission, upgrade, per-user limit, in this order; null when everything
   * before the upgrade passed and {@code request} is not a websocket upgrade request.
   */
  private HttpResponse answer(HttpRequest request, String token, Optional<String> origin, Optional<String> host) {
    if (!origins.allows(origin, host)) return HttpErrors.response(ErrorCode.FORBIDDEN, "origin not allowed");
    Optional<Tokens.Verified> user = tokens.verifyToken(token);
    if (user.isEmpty()) return HttpErrors.response(ErrorCode.UNAUTHORIZED, "missing, invalid or expired token");
    if (revocations.isRevoked(user.get().user(), user.get().issued())) return HttpErrors.response(ErrorCode.UNAUTHORIZED, "token revoked");
    HttpResponse refused = refusedAdmission();
    if (refused != null) return refused;
    if (request.getAttribute(AttributeKeys.webSocketUpgrade).isEmpty()) return null;
    return oneMoreConnectionOf(user.get(), request);
  }

  /**
   * A draining node takes no new connections, and a node past its connection rate answers 503
   * with a jittered Retry-After instead of queueing the upgrade: after a restart the herd is spread
   * out in time rather than served all at once. A node above its share of the cluster's connections
   * while another has room sends new ones there (503 too), so moved clients do not come back.
   */
  private HttpResponse refusedAdmission() {
    if (lifecycle.isDraining()) {
      return retryLater(1000 + ThreadLocalRandom.current().nextLong(4000), "node is draining, connect to another");
    }
    if (ClusterConnections.get(system).refusesNewConnections()) {
      // Rebalancing: this node holds more than its share and another has room (RebalancePlan).
      return retryLater(1000 + ThreadLocalRandom.current().nextLong(2000), "node holds more than its share of connections, connect to another");
    }
    OptionalLong retryAfterMs = connections.tryAdmit();
    if (retryAfterMs.isPresent()) {
      return retryLater(retryAfterMs.getAsLong(), "too many new connections, retry later");
    }
    return null;
  }

  /**
   * A user holding all of their connection slots on this node gets 429 before the upgrade. Only a
   * real upgrade request creates a session (and takes a slot): a plain GET is refused first, so
   * it cannot leave behind a session that no stream will ever stop.
   */
  private HttpResponse oneMoreConnectionOf(Tokens.Verified user, HttpRequest request) {
    if (!userLimits.tryConnect(user.user())) {
      return HttpErrors.response(
          ErrorCode.RATE_LIMITED, "at most " + userLimits.limits().connectionsPerUser() + " connections per user on this node");
    }
    return upgrades.respond(request, Attributes.apply(new ConnectionOf(user)));
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
        Session.create(user.user(), user.validUntil(), outbound, conversations, inbox, connectedSessions, sessions, resumes, userLimits),
        "session-" + SESSION_NUMBERS.incrementAndGet(),
        Props.empty());
  }
}
