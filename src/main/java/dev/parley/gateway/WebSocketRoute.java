package dev.parley.gateway;

import static org.apache.pekko.http.javadsl.server.Directives.complete;
import static org.apache.pekko.http.javadsl.server.Directives.get;
import static org.apache.pekko.http.javadsl.server.Directives.handleWebSocketMessages;
import static org.apache.pekko.http.javadsl.server.Directives.optionalHeaderValueByName;
import static org.apache.pekko.http.javadsl.server.Directives.parameterOptional;
import static org.apache.pekko.http.javadsl.server.Directives.path;

import dev.parley.ErrorCode;
import dev.parley.ParleyConfig;
import dev.parley.auth.Revocations;
import dev.parley.auth.Tokens;
import dev.parley.cluster.AdmissionControl;
import dev.parley.cluster.NodeLifecycle;
import dev.parley.conversation.Conversations;
import dev.parley.inbox.Inbox;
import java.time.Duration;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Supplier;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Props;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.headers.RetryAfter;
import org.apache.pekko.http.javadsl.model.ws.Message;
import org.apache.pekko.http.javadsl.model.ws.TextMessage;
import org.apache.pekko.http.javadsl.server.PathMatchers;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.japi.Pair;
import org.apache.pekko.stream.BoundedSourceQueue;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.javadsl.Flow;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.stream.typed.javadsl.ActorSink;

/**
 * {@code GET /v1/ws}: authenticates before the upgrade (a missing or invalid token is answered
 * 401 and no websocket is opened), then joins the connection to a new {@link Session}.
 */
public final class WebSocketRoute {

  private final ActorSystem<?> system;
  private final Tokens tokens;
  private final Conversations conversations;
  private final Inbox inbox;
  private final ActorRef<ConnectedUsers.Command> connectedUsers;
  private final ParleyConfig config;
  private final ParleyConfig.GatewaySettings settings;
  private final Materializer materializer;
  private final AdmissionControl connections;
  private final AdmissionControl resumes;
  private final NodeLifecycle lifecycle;
  private final Revocations revocations;
  private final OriginPolicy origins;

  public WebSocketRoute(
      ActorSystem<?> system,
      Tokens tokens,
      Conversations conversations,
      Inbox inbox,
      ActorRef<ConnectedUsers.Command> connectedUsers,
      ParleyConfig config,
      AdmissionControl connections,
      AdmissionControl resumes) {
    this.system = system;
    this.inbox = inbox;
    this.connectedUsers = connectedUsers;
    this.config = config;
    this.connections = connections;
    this.resumes = resumes;
    this.lifecycle = NodeLifecycle.get(system);
    this.revocations = Revocations.get(system);
    this.origins = new OriginPolicy(config.http().allowedOrigins());
    this.tokens = tokens;
    this.conversations = conversations;
    this.settings = config.gateway();
    this.materializer = Materializer.matFromSystem(system);
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
                                  Optional<String> user = tokens.verify(token);
                                  if (user.isEmpty()) {
                                    return complete(
                                        HttpErrors.response(ErrorCode.UNAUTHORIZED, "missing, invalid or expired token"));
                                  }
                                  if (revocations.isRevoked(user.get(), Revocations.issuedAt(token))) {
                                    return complete(HttpErrors.response(ErrorCode.UNAUTHORIZED, "token revoked"));
                                  }
                                  return admitted(() -> handleWebSocketMessages(connection(user.get())));
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
   * out in time rather than served all at once.
   */
  private Route admitted(Supplier<Route> inner) {
    if (lifecycle.isDraining()) {
      return complete(retryLater(1000 + ThreadLocalRandom.current().nextLong(4000), "node is draining, connect to another"));
    }
    OptionalLong retryAfterMs = connections.tryAdmit();
    if (retryAfterMs.isPresent()) {
      return complete(retryLater(retryAfterMs.getAsLong(), "too many new connections, retry later"));
    }
    return inner.get();
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

  /** The stream of one connection: collected, size-checked frames in; the session's bounded queue out. */
  private Flow<Message, Message, NotUsed> connection(String user) {
    // Room for one last frame beyond the buffer: the notice sent to a client that fell behind.
    Pair<BoundedSourceQueue<Message>, Source<Message, NotUsed>> outbound =
        Source.<Message>queue(settings.outboundBuffer() + 2).preMaterialize(materializer);
    ActorRef<Session.Command> session =
        system.systemActorOf(
            Session.create(user, outbound.first(), conversations, inbox, connectedUsers, config, resumes),
            "session-" + UUID.randomUUID(),
            Props.empty());
    Sink<Message, NotUsed> inbound =
        Flow.<Message>create()
            .mapAsync(1, message -> collect(message, settings.maxFrameBytes(), materializer))
            .to(
                ActorSink.actorRefWithBackpressure(
                    session,
                    Session.Incoming::new,
                    Session.StreamStarted::new,
                    Session.StreamAck.ACK,
                    Session.ClientGone.INSTANCE,
                    Session.ClientFailed::new));
    return Flow.fromSinkAndSourceCoupled(inbound, outbound.second());
  }

  /**
   * Reads a whole websocket message, keeping at most {@code maxBytes} of it: a larger message is
   * drained and reported as {@link IncomingFrame.Oversized}, never buffered whole.
   */
  static CompletionStage<IncomingFrame> collect(Message message, int maxBytes, Materializer materializer) {
    if (message.isText()) {
      TextMessage text = message.asTextMessage();
      if (text.isStrict()) {
        String strict = text.getStrictText();
        return CompletableFuture.completedFuture(
            Utf8.length(strict) > maxBytes ? new IncomingFrame.Oversized() : new IncomingFrame.Text(strict));
      }
      return text.getStreamedText()
          .runFold(new BoundedText(maxBytes), BoundedText::append, materializer)
          .thenApply(BoundedText::result);
    }
    return message.asBinaryMessage()
        .getStreamedData()
        .runWith(Sink.ignore(), materializer)
        .thenApply(done -> new IncomingFrame.Binary());
  }

  /** Accumulates a streamed text message up to a byte limit, then only counts. */
  private static final class BoundedText {
    private final int maxBytes;
    private final StringBuilder text = new StringBuilder();
    private long bytes;

    BoundedText(int maxBytes) {
      this.maxBytes = maxBytes;
    }

    BoundedText append(String part) {
      bytes += Utf8.length(part);
      if (bytes <= maxBytes) text.append(part);
      return this;
    }

    IncomingFrame result() {
      return bytes > maxBytes ? new IncomingFrame.Oversized() : new IncomingFrame.Text(text.toString());
    }
  }
}
