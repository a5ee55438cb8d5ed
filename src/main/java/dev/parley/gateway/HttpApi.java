package dev.parley.gateway;

import static org.apache.pekko.http.javadsl.server.Directives.complete;
import static org.apache.pekko.http.javadsl.server.Directives.completeWithFuture;
import static org.apache.pekko.http.javadsl.server.Directives.concat;
import static org.apache.pekko.http.javadsl.server.Directives.entity;
import static org.apache.pekko.http.javadsl.server.Directives.get;
import static org.apache.pekko.http.javadsl.server.Directives.optionalHeaderValueByName;
import static org.apache.pekko.http.javadsl.server.Directives.parameterMap;
import static org.apache.pekko.http.javadsl.server.Directives.path;
import static org.apache.pekko.http.javadsl.server.Directives.pathEndOrSingleSlash;
import static org.apache.pekko.http.javadsl.server.Directives.post;
import static org.apache.pekko.http.javadsl.server.Directives.withSizeLimit;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.parley.ErrorCode;
import dev.parley.auth.Revocations;
import dev.parley.auth.Tokens;
import dev.parley.conversation.Conversation;
import dev.parley.conversation.Conversations;
import dev.parley.inbox.Inbox;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.function.Function;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.headers.RetryAfter;
import org.apache.pekko.http.javadsl.server.PathMatchers;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.http.javadsl.unmarshalling.Unmarshaller;

/**
 * The HTTP API for integrations and bots: the same operations and guarantees as the websocket
 * (a message is acknowledged with its seq only once persisted; retries with the same clientMsgId
 * are idempotent), authenticated with {@code Authorization: Bearer JWT}, errors as JSON with the
 * protocol's codes.
 */
public final class HttpApi {

  private final Tokens tokens;
  private final Revocations revocations;
  private final Conversations conversations;
  private final GatewaySettings settings;
  private final Frames frames;
  private final Inbox inbox;
  private final int inboxMaxPage;
  private final UserLimits userLimits;

  public HttpApi(
      Tokens tokens,
      Revocations revocations,
      Conversations conversations,
      Inbox inbox,
      GatewaySettings settings,
      int inboxMaxPage,
      UserLimits userLimits) {
    this.tokens = tokens;
    this.revocations = revocations;
    this.userLimits = userLimits;
    this.conversations = conversations;
    this.inbox = inbox;
    this.inboxMaxPage = inboxMaxPage;
    this.settings = settings;
    this.frames = new Frames(settings);
  }

  public Route route() {
    return concat(
        path(
            PathMatchers.segment("v1").slash("conversations"),
            () -> post(() -> authenticated(user -> jsonBody(body -> createConversation(user, body))))),
        path(
            PathMatchers.segment("v1").slash("conversations").slash(PathMatchers.segment()).slash("messages"),
            conversation ->
                concat(
                    post(() -> authenticated(user -> jsonBody(body -> send(user, conversation, body)))),
                    get(() -> authenticated(user -> parameterMap(params -> history(user, conversation, params)))))),
        path(
            PathMatchers.segment("v1").slash("conversations").slash(PathMatchers.segment()).slash("read"),
            conversation -> post(() -> authenticated(user -> jsonBody(body -> markRead(user, conversation, body))))),
        path(
            PathMatchers.segment("v1").slash("conversations").slash(PathMatchers.segment()).slash("mute"),
            conversation -> post(() -> authenticated(user -> jsonBody(body -> mute(user, conversation, body))))),
        path(
            PathMatchers.segment("v1").slash("inbox"),
            () -> get(() -> authenticated(user -> parameterMap(params -> inboxPage(user, params))))),
        path(
            "health",
            () -> pathEndOrSingleSlash(() -> get(() -> complete(HttpErrors.json(200, Frames.JSON.createObjectNode().put("status", "ok")))))));
  }

  private CompletionStage<HttpResponse> createConversation(String user, FrameFields body) {
    String optional = Frames.optionalConversation(body);
    String id = optional != null ? optional : UUID.randomUUID().toString();
    String title = Frames.title(body);
    java.util.OptionalLong retryAfterMs = userLimits.tryCreateConversation(user);
    if (retryAfterMs.isPresent()) {
      return CompletableFuture.completedFuture(
          HttpErrors.response(ErrorCode.RATE_LIMITED, "too many conversations created, retry later")
              .addHeader(RetryAfter.create(Math.max(1, (retryAfterMs.getAsLong() + 999) / 1000))));
    }
    return answer(
        conversations.create(id, user, Frames.members(body), title),
        201,
        reply -> Frames.JSON.createObjectNode().put("conversation", id));
  }

  private CompletionStage<HttpResponse> send(String user, String conversation, FrameFields body) {
    Frames.validConversationId(conversation);
    String clientMsgId = Frames.clientMsgId(body);
    String text = frames.messageText(body);
    return answer(
        conversations.send(conversation, user, clientMsgId, text),
        201,
        reply ->
            Frames.JSON.createObjectNode()
                .put("conversation", conversation)
                .put("seq", ((Conversation.Sent) reply).seq())
                .put("clientMsgId", clientMsgId));
  }

  private Route history(String user, String conversation, Map<String, String> params) {
    return respond(
        () -> {
          Frames.validConversationId(conversation);
          FrameFields query = FrameFields.empty();
          params.forEach(
              (k, v) -> {
                try {
                  query.with(k, Long.parseLong(v));
                } catch (NumberFormatException e) {
                  throw new ProtocolException(ErrorCode.BAD_REQUEST, k + " must be a whole number");
                }
              });
          long before = Frames.number(query, FrameFields.Field.BEFORE, 1, 0);
          int limit = frames.limit(query);
          return answer(
              conversations.history(conversation, user, before, limit),
              200,
              reply -> {
                ObjectNode page = Frames.JSON.createObjectNode().put("conversation", conversation);
                page.set("events", Frames.events(conversation, ((Conversation.HistoryPage) reply).events()));
                return page;
              });
        });
  }

  private Route inboxPage(String user, Map<String, String> params) {
    return respond(
        () -> {
          FrameFields query = FrameFields.empty();
          if (params.containsKey("limit")) {
            try {
              query.with("limit", Long.parseLong(params.get("limit")));
            } catch (NumberFormatException e) {
              throw new ProtocolException(ErrorCode.BAD_REQUEST, "limit must be a whole number");
            }
          }
          if (params.containsKey("cursor")) query.with("cursor", params.get("cursor"));
          int limit = Math.min(Frames.inboxLimit(query), inboxMaxPage);
          return inboxAnswer(
              inbox.page(user, limit, Frames.cursor(query)),
              page -> {
                ObjectNode body = Frames.inboxPage(null, page);
                body.remove("type");
                return body;
              });
        });
  }

  private CompletionStage<HttpResponse> markRead(String user, String conversation, FrameFields body) {
    Frames.validConversationId(conversation);
    long seq = Frames.number(body, FrameFields.Field.SEQ, 0, Long.MIN_VALUE);
    return inboxAnswer(
        inbox.markRead(user, conversation, seq),
        marked -> {
          ObjectNode reply = Frames.JSON.createObjectNode().put("conversation", conversation).put("seq", marked.seq());
          marked.item().ifPresent(item -> reply.put("unread", item.unread()));
          return reply;
        });
  }

  /** The mute frame over HTTP: the same membership check, the same setting, the same push to the user's connections. */
  private CompletionStage<HttpResponse> mute(String user, String conversation, FrameFields body) {
    Frames.validConversationId(conversation);
    boolean muted = Frames.muted(body);
    return inboxAnswer(
        inbox.setMuted(user, conversation, muted),
        stored -> Frames.JSON.createObjectNode().put("conversation", conversation).put("muted", stored.muted()));
  }

  private static <T> CompletionStage<HttpResponse> inboxAnswer(CompletionStage<T> result, Function<T, ObjectNode> body) {
    return result.handle(
        (value, failure) -> {
          if (failure == null) return HttpErrors.json(200, body.apply(value));
          Throwable cause = failure instanceof CompletionException ? failure.getCause() : failure;
          if (cause instanceof Inbox.Refused refused) return HttpErrors.response(refused.code(), refused.getMessage());
          return HttpErrors.response(ErrorCode.UNAVAILABLE, "unavailable, retry");
        });
  }

  private static CompletionStage<HttpResponse> answer(
      CompletionStage<Conversation.Reply> reply, int status, Function<Conversation.Reply, ObjectNode> body) {
    return reply.thenApply(
        r -> {
          if (r instanceof Conversation.Rejected rejected) {
            HttpResponse refusal = HttpErrors.response(rejected.code(), rejected.reason());
            // An overloaded node says when to come back (protocol.md: Retry-After, in whole seconds).
            return rejected.retryAfterMs() > 0
                ? refusal.addHeader(RetryAfter.create(Math.max(1, (rejected.retryAfterMs() + 999) / 1000)))
                : refusal;
          }
          return HttpErrors.json(status, body.apply(r));
        });
  }

  private Route authenticated(Function<String, Route> inner) {
    return optionalHeaderValueByName(
        "Authorization",
        header -> {
          String token = WebSocketRoute.bearer(Optional.empty(), header);
          Optional<String> user = tokens.verify(token);
          if (user.isEmpty()) {
            return complete(HttpErrors.response(ErrorCode.UNAUTHORIZED, "missing, invalid or expired bearer token"));
          }
          if (revocations.isRevoked(user.get(), Revocations.issuedAt(token))) {
            return complete(HttpErrors.response(ErrorCode.UNAUTHORIZED, "token revoked"));
          }
          return inner.apply(user.get());
        });
  }

  /** A JSON object body of at most max-frame-bytes; anything else is a 400 or 413 with a JSON error. */
  private Route jsonBody(Function<FrameFields, CompletionStage<HttpResponse>> handler) {
    return withSizeLimit(
        settings.maxFrameBytes(),
        () -> entity(Unmarshaller.entityToString(), text -> respond(() -> handler.apply(FrameFields.parse(text)))));
  }

  private static Route respond(java.util.function.Supplier<CompletionStage<HttpResponse>> action) {
    CompletionStage<HttpResponse> response;
    try {
      response = action.get();
    } catch (ProtocolException e) {
      response = CompletableFuture.completedFuture(HttpErrors.response(e.code(), e.getMessage()));
    }
    return completeWithFuture(response);
  }
}
