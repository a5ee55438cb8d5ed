package dev.parley.testing;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.net.http.WebSocketHandshakeException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Predicate;

/**
 * A websocket client for end-to-end tests, built on the JDK's own {@link WebSocket} so that it
 * shares nothing with the server's implementation.
 *
 * <p>Every text message the server sends is reassembled from its fragments, parsed as JSON and
 * queued in arrival order. Tests take frames out with {@link #expect}: frames that do not match are
 * kept, in order, for later expectations, so a reply and an event racing each other can be taken
 * in either order, while {@link #framesBeforePong()} still shows everything left unread (that is
 * how a test proves that nothing more, e.g. a duplicate, was sent). Nothing here sleeps: waiting
 * is always a poll of the queue with a deadline.
 */
public final class WsClient implements AutoCloseable {

  public static final Duration TIMEOUT = Duration.ofSeconds(15);
  public static final ObjectMapper JSON = new ObjectMapper();
  /** Frame types that are timeline events (they carry {@code conversation} and {@code seq}). */
  public static final Set<String> TIMELINE_TYPES =
      Set.of("conversation_created", "member_joined", "member_left", "message", "message_edited", "message_deleted", "handoff");

  private static final HttpClient HTTP =
      HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(TIMEOUT).build();
  private static final AtomicLong REQUEST_IDS = new AtomicLong();
  /** RFC 6455's code for a connection that went away without a close frame. */
  public static final int ABNORMAL_CLOSURE = 1006;

  private final WebSocket socket;
  private final Listener listener;
  /** Received and parsed, not yet looked at by the test. */
  private final LinkedBlockingQueue<ObjectNode> received;
  /** Looked at by an expectation that wanted something else: still unconsumed, in arrival order. */
  private final List<ObjectNode> unconsumed = new ArrayList<>();

  private WsClient(WebSocket socket, Listener listener) {
    this.socket = socket;
    this.listener = listener;
    this.received = listener.frames;
  }

  /** Opens a websocket; fails the test if the upgrade is refused. */
  public static WsClient connect(URI uri) {
    Listener listener = new Listener();
    try {
      WebSocket socket = HTTP.newWebSocketBuilder().connectTimeout(TIMEOUT).buildAsync(uri, listener).get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
      return new WsClient(socket, listener);
    } catch (ExecutionException e) {
      throw new AssertionError("websocket upgrade to " + redacted(uri) + " failed: " + describe(e.getCause()), e.getCause());
    } catch (InterruptedException | TimeoutException e) {
      throw new AssertionError("websocket upgrade to " + redacted(uri) + " did not complete", e);
    }
  }

  /** The HTTP status of a refused upgrade; fails the test if the upgrade succeeds. */
  public static int refusedUpgradeStatus(URI uri) {
    try {
      WebSocket socket =
          HTTP.newWebSocketBuilder().connectTimeout(TIMEOUT).buildAsync(uri, new Listener()).get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
      socket.abort();
      throw new AssertionError("the websocket upgrade to " + redacted(uri) + " was accepted, expected it to be refused");
    } catch (ExecutionException e) {
      if (e.getCause() instanceof WebSocketHandshakeException refused) return refused.getResponse().statusCode();
      throw new AssertionError("websocket upgrade failed without an HTTP answer: " + describe(e.getCause()), e.getCause());
    } catch (InterruptedException | TimeoutException e) {
      throw new AssertionError("websocket upgrade did not complete", e);
    }
  }

  /** A new client frame {@code {"type": type}} to fill in with {@code put}. */
  public static ObjectNode frame(String type) {
    return JSON.createObjectNode().put("type", type);
  }

  // ---- sending --------------------------------------------------------------------------------

  public void send(ObjectNode frame) {
    sendText(frame.toString());
  }

  /** Sends any text as one websocket text message, JSON or not. */
  public void sendText(String text) {
    await(socket.sendText(text, true), "sending a text frame");
  }

  public void sendBinary(byte[] bytes) {
    await(socket.sendBinary(ByteBuffer.wrap(bytes), true), "sending a binary frame");
  }

  /**
   * Sends {@code frame} with a fresh request id (unless it has one) and returns the server's
   * frame echoing that id (the reply or an error); other frames stay unconsumed.
   */
  public ObjectNode request(ObjectNode frame) {
    if (!frame.has("id")) frame.put("id", "req-" + REQUEST_IDS.incrementAndGet());
    JsonNode id = frame.get("id");
    send(frame);
    return expect(f -> id.equals(f.get("id")), "the reply to " + frame);
  }

  // ---- receiving ------------------------------------------------------------------------------

  /** The first unconsumed frame matching {@code wanted}, waiting up to {@link #TIMEOUT}. */
  public ObjectNode expect(Predicate<ObjectNode> wanted, String description) {
    for (Iterator<ObjectNode> it = unconsumed.iterator(); it.hasNext(); ) {
      ObjectNode f = it.next();
      if (wanted.test(f)) {
        it.remove();
        return f;
      }
    }
    long deadline = System.nanoTime() + TIMEOUT.toNanos();
    while (true) {
      long left = deadline - System.nanoTime();
      ObjectNode f = left <= 0 ? null : poll(left);
      if (f == null) {
        throw new AssertionError(
            "expected " + description + " within " + TIMEOUT + "; unconsumed frames: " + unconsumed
                + (listener.closed.isDone() ? "; the connection is closed: " + closeDescription() : ""));
      }
      if (wanted.test(f)) return f;
      unconsumed.add(f);
    }
  }

  /** The first unconsumed frame of this {@code type}. */
  public ObjectNode expect(String type) {
    return expect(f -> type.equals(f.path("type").asText()), "a '" + type + "' frame");
  }

  /** The next {@code count} timeline events of {@code conversation}, in the order received. */
  public List<ObjectNode> expectEvents(String conversation, int count) {
    List<ObjectNode> events = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      events.add(
          expect(
              f -> isEventOf(conversation, f),
              "timeline event " + (i + 1) + " of " + count + " of " + conversation + " (got " + seqs(events) + ")"));
    }
    return events;
  }

  public ObjectNode expectEvent(String conversation) {
    return expectEvents(conversation, 1).get(0);
  }

  /**
   * Sends a {@code ping} and returns, in order, every frame that arrived before its {@code pong}
   * and was not consumed yet; they are consumed. The session answers frames in order, so this is
   * "everything the server had queued for this client when it read the ping".
   */
  public List<ObjectNode> framesBeforePong() {
    String id = "sync-" + REQUEST_IDS.incrementAndGet();
    send(frame("ping").put("id", id));
    expect(f -> "pong".equals(f.path("type").asText()) && id.equals(f.path("id").asText()), "the pong to " + id);
    List<ObjectNode> before = new ArrayList<>(unconsumed);
    unconsumed.clear();
    return before;
  }

  /** Proves the connection is open and usable: a ping with an id is answered by a pong echoing it. */
  public ObjectNode pingPong() {
    ObjectNode pong = request(frame("ping"));
    if (!"pong".equals(pong.path("type").asText())) throw new AssertionError("expected a pong, got " + pong);
    return pong;
  }

  public static boolean isEventOf(String conversation, JsonNode f) {
    return TIMELINE_TYPES.contains(f.path("type").asText()) && conversation.equals(f.path("conversation").asText());
  }

  public static List<Long> seqs(List<? extends JsonNode> events) {
    return events.stream().map(e -> e.path("seq").asLong()).toList();
  }

  private ObjectNode poll(long nanos) {
    try {
      return received.poll(nanos, TimeUnit.NANOSECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError("interrupted while waiting for a frame", e);
    }
  }

  // ---- closing --------------------------------------------------------------------------------

  public boolean isOpen() {
    return !socket.isInputClosed() && !socket.isOutputClosed() && !listener.closed.isDone();
  }

  /** Waits for the server to close the connection and returns the close status code. */
  public int awaitClosed() {
    try {
      return listener.closed.get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
    } catch (ExecutionException e) {
      return ABNORMAL_CLOSURE;
    } catch (InterruptedException | TimeoutException e) {
      throw new AssertionError("the server did not close the connection within " + TIMEOUT, e);
    }
  }

  /** Drops the TCP connection without a close handshake, as a lost network would. */
  public void abort() {
    socket.abort();
  }

  /** Closes politely, falling back to dropping the connection. */
  @Override
  public void close() {
    try {
      if (!socket.isOutputClosed()) {
        socket.sendClose(WebSocket.NORMAL_CLOSURE, "bye").get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
        listener.closed.get(5, TimeUnit.SECONDS);
      }
    } catch (Exception e) {
      // Closing is best effort: the connection is aborted below in any case.
    } finally {
      socket.abort();
    }
  }

  private String closeDescription() {
    try {
      Integer status = listener.closed.getNow(null);
      return status == null ? "not by the server (no close frame yet)" : "status " + status + " \"" + listener.closeReason + "\"";
    } catch (RuntimeException e) {
      return describe(e.getCause() == null ? e : e.getCause());
    }
  }

  private void await(CompletableFuture<WebSocket> sent, String what) {
    try {
      sent.get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
    } catch (ExecutionException e) {
      // Usually the server closed the connection: say how, and what it sent before (an error frame
      // naming the reason, e.g. a slow consumer or an expired token).
      received.drainTo(unconsumed);
      throw new AssertionError(
          what + " failed: " + describe(e.getCause()) + "; the connection is closed: " + closeDescription() + "; unconsumed frames: " + unconsumed,
          e.getCause());
    } catch (InterruptedException | TimeoutException e) {
      throw new AssertionError(what + " did not complete", e);
    }
  }

  private static String describe(Throwable t) {
    return t == null ? "unknown" : t.getClass().getSimpleName() + ": " + t.getMessage();
  }

  private static String redacted(URI uri) {
    return uri.toString().replaceAll("token=[^&]*", "token=...");
  }

  /** Receives on the JDK's thread: reassembles text, parses it and queues it; one message at a time. */
  private static final class Listener implements WebSocket.Listener {
    final LinkedBlockingQueue<ObjectNode> frames = new LinkedBlockingQueue<>();
    final CompletableFuture<Integer> closed = new CompletableFuture<>();
    volatile String closeReason = "";
    private final StringBuilder partial = new StringBuilder();

    @Override
    public void onOpen(WebSocket webSocket) {
      webSocket.request(1);
    }

    @Override
    public CompletionStage<?> onText(WebSocket webSocket, CharSequence data, boolean last) {
      partial.append(data);
      if (last) {
        String text = partial.toString();
        partial.setLength(0);
        frames.add(parse(text));
      }
      webSocket.request(1);
      return null;
    }

    @Override
    public CompletionStage<?> onBinary(WebSocket webSocket, ByteBuffer data, boolean last) {
      // The protocol is text only: surface a binary message as a frame no expectation accepts by accident.
      if (last) frames.add(JSON.createObjectNode().put("type", "<binary from server>"));
      webSocket.request(1);
      return null;
    }

    @Override
    public CompletionStage<?> onClose(WebSocket webSocket, int statusCode, String reason) {
      closeReason = reason;
      closed.complete(statusCode);
      return null;
    }

    @Override
    public void onError(WebSocket webSocket, Throwable error) {
      closed.completeExceptionally(error);
    }

    private static ObjectNode parse(String text) {
      try {
        JsonNode node = JSON.readTree(text);
        if (node instanceof ObjectNode object) return object;
      } catch (JsonProcessingException e) {
        // reported below
      }
      return JSON.createObjectNode().put("type", "<not a JSON object>").put("raw", Objects.toString(text));
    }
  }
}
