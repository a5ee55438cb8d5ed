package dev.parley.bench;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/**
 * One websocket of the inbox bench: requests matched to their replies by {@code id}, and every
 * frame without an {@code id} (pushes such as {@code inbox_update}) handed to a listener together
 * with the nanoTime it arrived. No reconnect, no resend: the inbox bench measures a healthy node,
 * and a dropped socket fails what is outstanding so the run stops instead of measuring a retry.
 */
final class ProtocolSocket {

  /** A request answered with an {@code error} frame; {@code code} is the protocol's error code. */
  static final class Refused extends RuntimeException {
    private final String code;

    Refused(String code, String message) {
      super("server answered " + code + (message == null ? "" : ": " + message), null, false, false);
      this.code = code;
    }

    String code() {
      return code;
    }
  }

  /** A frame and the time it arrived ({@link System#nanoTime()}, taken before parsing). */
  record Received(JsonNode frame, long arrivedNanos) {}

  private static final ObjectMapper JSON = new ObjectMapper();

  private final Map<String, CompletableFuture<Received>> requests = new ConcurrentHashMap<>();
  private final AtomicLong nextId = new AtomicLong();
  private final Consumer<Received> pushes;
  private volatile WebSocket socket;
  // The JDK client allows one outstanding sendText at a time: chain them.
  private CompletableFuture<?> sending = CompletableFuture.completedFuture(null);

  private ProtocolSocket(Consumer<Received> pushes) {
    this.pushes = pushes;
  }

  /** Opens {@code url} with {@code token} in the upgrade request; {@code pushes} gets unsolicited frames. */
  static CompletableFuture<ProtocolSocket> open(HttpClient http, URI url, String token, Consumer<Received> pushes) {
    ProtocolSocket client = new ProtocolSocket(pushes);
    URI withToken = URI.create(url + (url.getQuery() == null ? "?" : "&") + "token=" + token);
    return http.newWebSocketBuilder()
        .connectTimeout(Duration.ofSeconds(10))
        .buildAsync(withToken, client.new Listener())
        .thenApply(ws -> {
          client.socket = ws;
          return client;
        });
  }

  static ObjectNode frame(String type) {
    return JSON.createObjectNode().put("type", type);
  }

  /** Sends {@code frame} with a fresh id; completes with the reply, or exceptionally with {@link Refused}. */
  CompletableFuture<Received> request(ObjectNode frame) {
    String id = "q" + nextId.incrementAndGet();
    CompletableFuture<Received> reply = new CompletableFuture<>();
    requests.put(id, reply);
    String text;
    try {
      text = JSON.writeValueAsString(frame.put("id", id));
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
    send(text).whenComplete((ws, e) -> {
      if (e != null && requests.remove(id) != null) reply.completeExceptionally(e);
    });
    return reply;
  }

  /** {@link #request} with a bound: a reply later than {@code timeout} fails the request. */
  CompletableFuture<Received> request(ObjectNode frame, Duration timeout) {
    return request(frame).orTimeout(timeout.toMillis(), TimeUnit.MILLISECONDS);
  }

  private synchronized CompletableFuture<?> send(String text) {
    WebSocket ws = socket;
    CompletableFuture<?> next = sending.handle((r, e) -> null).thenCompose(ignored -> ws.sendText(text, true));
    sending = next;
    return next;
  }

  void close() {
    WebSocket ws = socket;
    if (ws == null) return;
    ws.sendClose(WebSocket.NORMAL_CLOSURE, "bench done").orTimeout(2, TimeUnit.SECONDS).whenComplete((w, e) -> ws.abort());
  }

  private void onFrame(String text, long arrived) {
    JsonNode frame;
    try {
      frame = JSON.readTree(text);
    } catch (JsonProcessingException e) {
      return; // not JSON: nothing this bench asked for
    }
    JsonNode id = frame.get("id");
    if (id == null || id.isNull()) {
      pushes.accept(new Received(frame, arrived));
      return;
    }
    CompletableFuture<Received> waiting = requests.remove(id.asText());
    if (waiting == null) return;
    if ("error".equals(frame.path("type").asText())) {
      waiting.completeExceptionally(new Refused(frame.path("code").asText(), frame.path("message").asText(null)));
    } else {
      waiting.complete(new Received(frame, arrived));
    }
  }

  /** Completes with the nanoTime the connection closed or failed (the presence bench times a killed node by it). */
  CompletableFuture<Long> closed() {
    return closed;
  }

  private final CompletableFuture<Long> closed = new CompletableFuture<>();

  private void failAll(String why) {
    closed.complete(System.nanoTime());
    IllegalStateException failure = new IllegalStateException(why);
    requests.values().forEach(r -> r.completeExceptionally(failure));
    requests.clear();
  }

  private final class Listener implements WebSocket.Listener {
    private final StringBuilder partial = new StringBuilder();

    @Override
    public CompletionStage<?> onText(WebSocket ws, CharSequence data, boolean last) {
      if (!last) {
        partial.append(data);
      } else if (partial.length() > 0) {
        onFrame(partial.append(data).toString(), System.nanoTime());
        partial.setLength(0);
      } else {
        onFrame(data.toString(), System.nanoTime());
      }
      ws.request(1);
      return null;
    }

    @Override
    public CompletionStage<?> onClose(WebSocket ws, int statusCode, String reason) {
      failAll("connection closed by the server: " + statusCode + " " + reason);
      return null;
    }

    @Override
    public void onError(WebSocket ws, Throwable error) {
      failAll("connection failed: " + error);
    }
  }
}
