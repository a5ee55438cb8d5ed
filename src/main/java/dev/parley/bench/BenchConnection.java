package dev.parley.bench;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongUnaryOperator;

/**
 * One simulated client: a websocket to a node, as one user, subscribed to that user's
 * conversations. It behaves as the protocol asks real clients to: when the connection drops it
 * reconnects after a full-jitter backoff (to another URL chosen at random, for clusters), resubscribes each
 * conversation with {@code since} = the last seq it has, and sends again every message whose ack it
 * did not get, with the same {@code clientMsgId}, so a lost ack is not a lost message.
 */
final class BenchConnection {

  /**
   * A send not yet acknowledged; {@code frame} is resent verbatim after a reconnect or a refusal.
   * {@code attemptNanos}: when it was last put on the wire (first send, retry or resend);
   * {@code resendAtNanos}: when it is sent again if still unanswered ({@link #resendUnanswered}).
   */
  private record PendingSend(long sendIndex, String conversation, String frame, int refusals, long attemptNanos, long resendAtNanos) {
    PendingSend refusedOnceMore() {
      return new PendingSend(sendIndex, conversation, frame, refusals + 1, attemptNanos, resendAtNanos);
    }

    PendingSend attempted(long nanos) {
      return new PendingSend(sendIndex, conversation, frame, refusals, nanos, resendAtNanos);
    }

    PendingSend resent(long nanos) {
      return new PendingSend(sendIndex, conversation, frame, refusals, nanos, nanos + ANSWER_TIMEOUT.toNanos());
    }
  }

  /** Refusals the protocol says to retry; anything else fails the send. */
  private static final Set<String> RETRYABLE = Set.of("unavailable", "rate_limited");
  /** Tries of a setup request (create, subscribe) answered unavailable or rate_limited. */
  private static final int SETUP_ATTEMPTS = 20;

  private static final ObjectMapper JSON = new ObjectMapper();

  /**
   * How long a request (or a send) may go unanswered before it is asked again, as the browser
   * client does: the server answers within its ask timeout, so silence means the frame was lost
   * on the way (written to a socket that was being replaced, for one).
   */
  private static final Duration ANSWER_TIMEOUT = Duration.ofSeconds(10);

  /** A request the server did not answer within {@link #ANSWER_TIMEOUT}: retried like a refusal. */
  private static final class NoAnswer extends IllegalStateException {
    NoAnswer() {
      super("no answer in time");
    }
  }

  final int index;
  /** Null unless the run has a bot in every conversation ({@code --bot}). */
  private final BotReplies botReplies;
  private final String token;
  private final List<URI> urls;
  /** Index in {@code urls} every first connection goes to, or -1: spread round-robin by connection index. */
  private final int firstUrlIndex;
  private final List<String> conversations;
  private final SelectorLoop loop;
  private final ScheduledExecutorService timers;
  private final Backoff backoff;
  private final DeliveryTracker tracker;
  private final BenchCounters counters;
  private final LatencyRecorder ackLatency;
  private final LatencyRecorder deliveryLatency;
  private final LongUnaryOperator intendedNanosOfSend;

  private final Map<String, PendingSend> pending = new ConcurrentHashMap<>();
  /** Refused sends waiting for their retry pause; a {@code writes_resumed} retries them at once. */
  private final Set<String> awaitingRetry = ConcurrentHashMap.newKeySet();
  /** Every send of this connection while a server's retry hint lasts (protocol.md, "Overload and rate limits"). */
  private final SendHold hold = new SendHold();
  private final Map<String, CompletableFuture<ServerFrame>> requests = new ConcurrentHashMap<>();
  /**
   * Per conversation, the start of its send frames (type, conversation, text: the same for every send
   * of it), so a send only appends its clientMsgId; filled by the pacer's thread.
   */
  private final Map<String, String> sendFramePrefixes = new ConcurrentHashMap<>();
  private volatile String prefixText;
  private final AtomicLong nextRequestId = new AtomicLong();
  /** Subscribe frames built per conversation since the current socket opened (for the duplicate log). */
  private final Map<String, Integer> subscribesOnSocket = new java.util.HashMap<>();
  private static final AtomicLong LOGGED_DUPLICATES = new AtomicLong();

  // Connection state, guarded by this.
  private ClientWebSocket socket;
  /** The listener of {@link #socket}; frames and closes of any other link are of a socket replaced or never used. */
  private Link currentLink;
  /** Bumped whenever the current socket changes (installed or dropped): requests of an older one are void. */
  private int generation;
  private static final AtomicLong NEXT_LINK = new AtomicLong();
  private int failedAttempts;
  /** Index in {@code urls} of the node this connection last tried. */
  private int urlIndex;
  /** Index in {@code urls} of the node the current (or last) socket is connected to. */
  private int socketUrlIndex = -1;
  private long serverAskedDelayMs = -1;
  /** Opening the next socket on a reconnect hint while the current one still works. */
  private boolean handoverInFlight;
  /** When the current socket got its reconnect hint (System.nanoTime), or 0. */
  private long hintedAtNanos;
  private static final AtomicLong LOGGED_DROPS = new AtomicLong();
  private static final long T0 = System.nanoTime();
  /** The last lifecycle steps of this connection (sockets, hints, subscribes and their answers), for a failed run's log. */
  private final java.util.ArrayDeque<Step> history = new java.util.ArrayDeque<>();
  private static final AtomicLong LOGGED_CONNECT_FAILURES = new AtomicLong();
  private boolean stopping;

  BenchConnection(
      int index,
      String token,
      List<URI> urls,
      int firstUrlIndex,
      List<String> conversations,
      SelectorLoop loop,
      ScheduledExecutorService timers,
      Backoff backoff,
      DeliveryTracker tracker,
      BenchCounters counters,
      LatencyRecorder ackLatency,
      LatencyRecorder deliveryLatency,
      LongUnaryOperator intendedNanosOfSend,
      BotReplies botReplies) {
    this.index = index;
    this.botReplies = botReplies;
    this.token = token;
    this.urls = urls;
    this.firstUrlIndex = firstUrlIndex;
    this.conversations = conversations;
    this.loop = loop;
    this.timers = timers;
    this.backoff = backoff;
    this.tracker = tracker;
    this.counters = counters;
    this.ackLatency = ackLatency;
    this.deliveryLatency = deliveryLatency;
    this.intendedNanosOfSend = intendedNanosOfSend;
  }

  // ---- lifecycle ------------------------------------------------------------------------------

  /** The first connection; fails rather than retries, so a wrong URL or secret fails the run fast. */
  CompletableFuture<Void> connect() {
    synchronized (this) {
      urlIndex = firstUrlIndex >= 0 ? firstUrlIndex : index % urls.size();
    }
    return open(urls.get(urlIndex), false).thenAccept(ws -> {});
  }

  /**
   * Opens a socket and installs it as this connection's current one. A plain (re)connect installs
   * it if no other socket was installed meanwhile. A handover installs it over the live socket it
   * replaces, or in its place if that one dropped meanwhile; the replaced socket is retired: only
   * its acks still count. A socket that closed before it could be installed fails the future, so
   * the caller tries again.
   */
  private CompletableFuture<ClientWebSocket> open(URI url, boolean handover) {
    URI withToken = URI.create(url + (url.getQuery() == null ? "?" : "&") + "token=" + token);
    Link link = new Link(NEXT_LINK.incrementAndGet());
    return ClientWebSocket.open(loop, withToken, link, Duration.ofSeconds(10))
        .thenApply(
            ws -> {
              ClientWebSocket retired = null;
              synchronized (this) {
                if (handover) handoverInFlight = false;
                if (stopping) {
                  ws.abort();
                  return null;
                }
                if (link.closed) {
                  throw new java.util.concurrent.CompletionException(new java.io.IOException("socket closed before it could be used"));
                }
                if (socket != null && !handover) {
                  ws.abort();
                  return null; // another attempt installed a socket meanwhile
                }
                if (socket != null) {
                  retired = socket;
                  counters.connected.decrementAndGet();
                }
                generation++;
                currentLink = link;
                // Frames made while no socket was installed were dropped (a stale subscribe would
                // rewind the server's cursor and replay events twice). Unacked sends are resent by resume().
                subscribesOnSocket.clear();
                socket = ws;
                socketUrlIndex = urls.indexOf(url);
                hintedAtNanos = 0;
                failedAttempts = 0;
                serverAskedDelayMs = -1;
              }
              counters.connected.incrementAndGet();
              note("socket #" + link.number + " to " + url + (retired != null ? " (handover)" : ""));
              if (retired != null) {
                // The old socket's requests in flight are answered there or not at all: resume()
                // asks again on this one.
                failRequests("connection replaced");
                ClientWebSocket old = retired;
                old.sendClose(WebSocketClientFrames.NORMAL_CLOSURE, "moved").orTimeout(2, TimeUnit.SECONDS).whenComplete((w, e) -> old.abort());
              }
              return ws;
            });
  }

  /** Called when a socket closes or fails; only the current one matters. */
  private void dropped(Link link) {
    long delayMs;
    boolean handoverWillReplaceIt;
    synchronized (this) {
      if (link != currentLink || stopping) return;
      currentLink = null;
      generation++;
      if (socket != null) counters.connected.decrementAndGet();
      socket = null;
      delayMs = serverAskedDelayMs >= 0 ? serverAskedDelayMs : backoff.delay(failedAttempts).toMillis();
      serverAskedDelayMs = -1;
      handoverWillReplaceIt = handoverInFlight;
      if (hintedAtNanos != 0 && LOGGED_DROPS.incrementAndGet() <= 20) {
        // A socket the server asked us to leave closed before we had moved: say how late we were.
        System.err.printf(
            "dropped before the handover: connection %d, %d ms after its reconnect hint, %s%n",
            index, (System.nanoTime() - hintedAtNanos) / 1_000_000, handoverInFlight ? "new socket still opening" : "no new socket opening");
      }
      hintedAtNanos = 0;
    }
    note("socket #" + link.number + " dropped" + (handoverWillReplaceIt ? ", handover opening" : ""));
    failRequests("connection dropped");
    // A handover already opening the next socket installs it in place of this one (or, failing,
    // schedules the reconnect).
    if (!handoverWillReplaceIt) scheduleReconnect(delayMs);
  }

  /** The exception chain of a failed connection attempt, outermost first, for the log. */
  private static String rootCause(Throwable failure) {
    StringBuilder chain = new StringBuilder();
    for (Throwable cause = failure; cause != null; cause = cause.getCause() == cause ? null : cause.getCause()) {
      if (chain.length() > 0) chain.append(" <- ");
      chain.append(cause.getClass().getSimpleName()).append(": ").append(cause.getMessage());
    }
    return chain.toString();
  }

  private void failRequests(String why) {
    requests.values().forEach(r -> r.completeExceptionally(new IllegalStateException(why)));
    requests.clear();
  }

  private void scheduleReconnect(long delayMs) {
    timers.schedule(this::reconnect, delayMs, TimeUnit.MILLISECONDS);
  }

  /**
   * Any node but the one this connection is (or was last) on, which is draining or dropped it, and
   * but the one it last tried, chosen at random: what a load balancer in front of the nodes does
   * (a draining node is unready, so the balancer stops routing to it; at random, so one node's
   * clients spread over the others instead of all moving to its neighbour). Holds the lock.
   */
  private URI nextUrl() {
    List<Integer> candidates = new ArrayList<>();
    for (int i = 0; i < urls.size(); i++) if (i != socketUrlIndex && i != urlIndex) candidates.add(i);
    if (candidates.isEmpty()) {
      for (int i = 0; i < urls.size(); i++) if (i != socketUrlIndex) candidates.add(i);
    }
    if (!candidates.isEmpty()) urlIndex = candidates.get(java.util.concurrent.ThreadLocalRandom.current().nextInt(candidates.size()));
    return urls.get(urlIndex);
  }

  private void reconnect() {
    URI url;
    synchronized (this) {
      if (stopping || socket != null) return;
      failedAttempts++;
      url = nextUrl();
    }
    open(url, false)
        .whenComplete(
            (ws, failure) -> {
              if (failure != null) {
                counters.error("connect_failed");
                if (LOGGED_CONNECT_FAILURES.incrementAndGet() <= 10) {
                  System.err.printf("reconnect failed: connection %d to %s: %s%n", index, url, rootCause(failure));
                }
                long delayMs;
                synchronized (this) {
                  if (stopping) return;
                  delayMs = backoff.delay(failedAttempts).toMillis();
                }
                scheduleReconnect(delayMs);
              } else if (ws != null) {
                counters.reconnects.increment();
                resume();
              }
            });
  }

  /**
   * The server drains this socket's node but keeps the socket working for {@code closeInMs}: open
   * the next socket first, move over to it, then close this one, so no send waits for a
   * connection. If the next socket cannot be opened yet (admission), try again while the old one
   * works; once it is gone, this is an ordinary reconnect.
   */
  private void handover(Link from) {
    URI url;
    synchronized (this) {
      if (stopping || socket == null || currentLink != from || handoverInFlight) return;
      handoverInFlight = true;
      url = nextUrl();
    }
    open(url, true)
        .whenComplete(
            (ws, failure) -> {
              if (failure != null) {
                long delayMs;
                boolean oldSocketGone;
                counters.error("connect_failed");
                if (LOGGED_CONNECT_FAILURES.incrementAndGet() <= 10) {
                  System.err.printf("handover failed: connection %d to %s: %s%n", index, url, rootCause(failure));
                }
                synchronized (this) {
                  handoverInFlight = false;
                  if (stopping) return;
                  failedAttempts++;
                  delayMs = backoff.delay(failedAttempts).toMillis();
                  oldSocketGone = socket == null;
                }
                if (oldSocketGone) scheduleReconnect(delayMs);
                else timers.schedule(() -> handover(from), delayMs, TimeUnit.MILLISECONDS);
              } else if (ws != null) {
                counters.reconnects.increment();
                counters.handovers.increment();
                resume();
              }
            });
  }

  /** Subscribes again from where each conversation stands, then retries every unacked send. */
  private void resume() {
    // Unlike the setup, a resume never gives up while the run goes on: a real client keeps trying,
    // and a subscription abandoned here would show as messages the server never delivered.
    subscribeAll(Integer.MAX_VALUE);
    List<PendingSend> retries = new ArrayList<>(pending.values());
    retries.sort(Comparator.comparingLong(PendingSend::sendIndex));
    for (PendingSend retry : retries) {
      counters.resentSends.increment();
      pending.computeIfPresent(clientMsgIdOf(retry.sendIndex()), (id, send) -> send.attempted(System.nanoTime()));
      transmit(retry.sendIndex(), retry.frame());
    }
  }

  void close() {
    ClientWebSocket ws;
    synchronized (this) {
      stopping = true;
      ws = socket;
      socket = null;
    }
    if (ws != null) {
      counters.connected.decrementAndGet();
      ws.sendClose(WebSocketClientFrames.NORMAL_CLOSURE, "bench done")
          .orTimeout(2, TimeUnit.SECONDS)
          .whenComplete((w, e) -> ws.abort());
    }
  }

  // ---- requests -------------------------------------------------------------------------------

  /** Subscribes to every conversation of this user from its cursor; completes when all answered. */
  CompletableFuture<Void> subscribeAll() {
    return subscribeAll(SETUP_ATTEMPTS);
  }

  private CompletableFuture<Void> subscribeAll(int attempts) {
    List<CompletableFuture<ServerFrame>> answers = new ArrayList<>();
    for (String conversation : conversations) answers.add(requestRetrying(() -> subscribeFrame(conversation), attempts));
    return CompletableFuture.allOf(answers.toArray(CompletableFuture[]::new));
  }

  private ObjectNode subscribeFrame(String conversation) {
    synchronized (this) {
      subscribesOnSocket.merge(conversation, 1, Integer::sum);
    }
    long since = tracker.cursor(index, conversation);
    note("subscribe " + conversation + " since " + since + " on #" + generation);
    return JSON.createObjectNode()
        .put("type", "subscribe")
        .put("conversation", conversation)
        .put("since", since);
  }

  CompletableFuture<ServerFrame> create(String conversation, List<String> otherMembers) {
    return requestRetrying(
        () -> {
          ObjectNode frame = JSON.createObjectNode().put("type", "create").put("conversation", conversation).put("title", "bench");
          otherMembers.forEach(frame.putArray("members")::add);
          return frame;
        },
        SETUP_ATTEMPTS);
  }

  /**
   * A setup request, retried after a jittered 0.25-1 s pause while the server answers
   * {@code unavailable} or {@code rate_limited}, as protocol.md asks of clients: a create is
   * idempotent for its creator and a subscribe is a read, so a cold or busy cluster (a create's
   * first persist answered after the ask timeout) delays the setup instead of failing it. The
   * setup timeout still bounds the whole.
   */
  private CompletableFuture<ServerFrame> requestRetrying(java.util.function.Supplier<ObjectNode> frame, int attemptsLeft) {
    CompletableFuture<ServerFrame> result = new CompletableFuture<>();
    int socketGeneration;
    synchronized (this) {
      socketGeneration = generation;
    }
    request(frame.get()).whenComplete((answer, error) -> {
      if (error == null) {
        result.complete(answer);
        return;
      }
      String message = String.valueOf(error.getMessage());
      boolean retryable = error instanceof NoAnswer || RETRYABLE.stream().anyMatch(code -> message.endsWith("answered " + code));
      if (!retryable || attemptsLeft <= 1 || stopping) {
        result.completeExceptionally(error);
        return;
      }
      long delayMs = 250 + java.util.concurrent.ThreadLocalRandom.current().nextLong(750);
      timers.schedule(
          () -> {
            synchronized (this) {
              if (generation != socketGeneration) {
                // The socket was replaced meanwhile and its resume subscribes afresh: a retry from
                // the old socket would be a second subscribe in flight on the new one.
                result.completeExceptionally(new IllegalStateException("connection replaced"));
                return;
              }
            }
            requestRetrying(frame, attemptsLeft - 1).whenComplete((a, e) -> {
              if (e == null) result.complete(a);
              else result.completeExceptionally(e);
            });
          },
          delayMs,
          TimeUnit.MILLISECONDS);
    });
    return result;
  }

  private CompletableFuture<ServerFrame> request(ObjectNode frame) {
    String id = "r" + nextRequestId.incrementAndGet();
    CompletableFuture<ServerFrame> answer = new CompletableFuture<>();
    requests.put(id, answer);
    enqueue(write(frame.put("id", id)));
    timers.schedule(
        () -> {
          if (requests.remove(id, answer)) answer.completeExceptionally(new NoAnswer());
        },
        ANSWER_TIMEOUT.toMillis(),
        TimeUnit.MILLISECONDS);
    return answer;
  }

  private static String clientMsgIdOf(long sendIndex) {
    return "s" + sendIndex;
  }

  /**
   * A send due at {@code intendedNanos}; the request id is the clientMsgId, so errors map back. The
   * frame is its conversation's prefix ({@link #sendFramePrefix}) and the two ids: no JSON tree, no
   * escaping per send.
   */
  void send(long sendIndex, String conversation, String text) {
    String clientMsgId = clientMsgIdOf(sendIndex);
    String frame = sendFramePrefix(conversation, text) + clientMsgId + "\",\"clientMsgId\":\"" + clientMsgId + "\"}";
    long now = System.nanoTime();
    pending.put(clientMsgId, new PendingSend(sendIndex, conversation, frame, 0, now, now + ANSWER_TIMEOUT.toNanos()));
    counters.sent.increment();
    transmit(sendIndex, frame);
  }

  /** {@code {"type":"send","conversation":…,"text":…,"id":"}, escaped once per conversation and text. */
  private String sendFramePrefix(String conversation, String text) {
    if (text != prefixText) {
      // the run sends one text throughout; another one (by identity) starts the cache afresh
      sendFramePrefixes.clear();
      prefixText = text;
    }
    String prefix = sendFramePrefixes.get(conversation);
    if (prefix == null) {
      prefix = "{\"type\":\"send\",\"conversation\":" + quoted(conversation) + ",\"text\":" + quoted(text) + ",\"id\":\"";
      sendFramePrefixes.put(conversation, prefix);
    }
    return prefix;
  }

  private static String quoted(String value) {
    try {
      return JSON.writeValueAsString(value);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }

  /**
   * Sends again, with the same clientMsgId, every send still unanswered {@link #ANSWER_TIMEOUT} after
   * it was sent (and again every {@link #ANSWER_TIMEOUT}). Called about once a second for every
   * connection by the run: one sweep instead of a timer per send.
   */
  void resendUnanswered(long nowNanos) {
    if (stopping || pending.isEmpty()) return;
    for (PendingSend unanswered : pending.values()) {
      if (nowNanos - unanswered.resendAtNanos() < 0) continue;
      // A send a retry hint holds is not on the wire: nothing to resend (it goes out when released).
      if (hold.holds(unanswered.sendIndex())) continue;
      String clientMsgId = clientMsgIdOf(unanswered.sendIndex());
      if (pending.computeIfPresent(clientMsgId, (id, send) -> send.resent(nowNanos)) == null) continue;
      counters.resentSends.increment();
      note("resend " + clientMsgId + " after " + ANSWER_TIMEOUT.toSeconds() + " s without an answer");
      transmit(unanswered.sendIndex(), unanswered.frame());
    }
  }

  int pendingSends() {
    return pending.size();
  }

  /** One lifecycle step; formatted only when a failed run's log asks for the history. */
  private record Step(long nanos, String what) {
    @Override
    public String toString() {
      return String.format("%.3fs %s", (nanos - T0) / 1e9, what);
    }
  }

  private void note(String step) {
    Step noted = new Step(System.nanoTime(), step);
    synchronized (history) {
      if (history.size() == 120) history.removeFirst();
      history.addLast(noted);
    }
  }

  List<String> history() {
    synchronized (history) {
      return history.stream().map(Step::toString).toList();
    }
  }

  // ---- outbound -------------------------------------------------------------------------------

  /**
   * Writes {@code frame} on the current socket; with none (between a drop and the next socket) it is
   * dropped: a stale subscribe would rewind the server's cursor, and unacked sends are resent by
   * {@link #resume()} on the next socket.
   */
  private void enqueue(String frame) {
    ClientWebSocket ws = liveSocket();
    if (ws != null) ws.sendText(frame);
  }

  /**
   * A send's frame goes out now, unless the connection's window is full or a retry hint holds its
   * sends ({@link SendHold}).
   */
  private void transmit(long sendIndex, String frame) {
    if (hold.admit(sendIndex, frame, System.nanoTime())) enqueue(frame);
  }

  private synchronized ClientWebSocket liveSocket() {
    return socket;
  }

  private static String write(ObjectNode frame) {
    try {
      return JSON.writeValueAsString(frame);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }

  // ---- inbound --------------------------------------------------------------------------------

  /** A frame read from the socket of {@code link} (the current one, or one replaced since). */
  private void onFrame(ServerFrame frame, Link link) {
    long now = System.nanoTime();
    if ("ack".equals(frame.type())) {
      // Whichever socket it comes on, an ack means the message is stored.
      onAck(frame, now);
      return;
    }
    synchronized (this) {
      // A replaced socket's events, errors and answers belong to subscriptions and requests made
      // again on the new socket.
      if (link != currentLink) return;
    }
    if (frame.isTimelineEvent()) {
      onEvent(frame, now, link);
    } else if ("error".equals(frame.type())) {
      onError(frame);
    } else if ("subscribed".equals(frame.type())) {
      note("subscribed " + frame.conversation() + " lastSeq " + frame.lastSeq() + " recovered " + frame.recovered() + " on #" + link.number);
      if (Boolean.FALSE.equals(frame.recovered())) {
        tracker.resumeNotRecovered(index, frame.conversation(), frame.lastSeq());
      }
      answer(frame);
    } else if ("writes_resumed".equals(frame.type())) {
      // The node's writes work again (protocol.md): retry what it refused now, not after the pause.
      note("writes_resumed on #" + link.number + ", " + awaitingRetry.size() + " refused sends retried now");
      for (String clientMsgId : List.copyOf(awaitingRetry)) {
        PendingSend refused = pending.computeIfPresent(clientMsgId, (id, send) -> send.attempted(System.nanoTime()));
        if (awaitingRetry.remove(clientMsgId) && refused != null) transmit(refused.sendIndex(), refused.frame());
      }
      sendHeld(hold.releaseAll(System.nanoTime()));
    } else if ("reconnect".equals(frame.type())) {
      long afterMs = frame.afterMs() == null ? 0 : frame.afterMs();
      if (frame.closeInMs() != null && frame.closeInMs() > 0) {
        synchronized (this) {
          hintedAtNanos = System.nanoTime();
        }
        note("reconnect hint on #" + link.number + ": afterMs " + afterMs + ", closeInMs " + frame.closeInMs());
        timers.schedule(() -> handover(link), afterMs, TimeUnit.MILLISECONDS);
      } else {
        synchronized (this) {
          serverAskedDelayMs = frame.afterMs() == null ? -1 : afterMs;
        }
      }
    } else {
      answer(frame);
    }
  }

  private void onAck(ServerFrame ack, long now) {
    PendingSend sent = pending.remove(ack.clientMsgId());
    // An ack for a send no longer pending answers a retry: the tracker still checks its seq.
    tracker.acked(ack.conversation(), ack.seq(), ack.clientMsgId());
    if (sent == null) return;
    sendHeld(hold.settled(sent.sendIndex(), now));
    counters.acked.increment();
    if (counters.inWindow(now)) counters.ackedInWindow.increment();
    long intended = intendedNanosOfSend.applyAsLong(sent.sendIndex());
    if (counters.inWindow(intended)) {
      ackLatency.record(now - intended);
      counters.lastTryToAck.record(now - sent.attemptNanos());
      if (sent.refusals() == 0) counters.ackedAtFirstTry.increment();
    }
    AckLog log = counters.ackLog;
    if (log != null) log.acked(sent.conversation(), intended, now, sent.attemptNanos(), ack.seq());
  }

  private void onEvent(ServerFrame event, long now, Link link) {
    DeliveryTracker.Delivery delivery;
    synchronized (this) {
      // Under the lock a handover takes: once the socket is replaced (and the new one subscribes
      // from the cursors as they stand), the old one moves no cursor.
      if (link != currentLink) return;
      delivery = tracker.delivered(index, event.conversation(), event.seq());
    }
    note(event.type() + " " + event.conversation() + " seq " + event.seq() + " on #" + link.number + (delivery == DeliveryTracker.Delivery.DUPLICATE ? " (duplicate)" : ""));
    if (delivery == DeliveryTracker.Delivery.DUPLICATE && LOGGED_DUPLICATES.incrementAndGet() <= 20) {
      // The counters say that a duplicate happened; these lines say where, for whoever looks into it.
      int socketNumber, subscribes;
      synchronized (this) {
        socketNumber = generation;
        subscribes = subscribesOnSocket.getOrDefault(event.conversation(), 0);
      }
      System.err.printf(
          "duplicate delivery: connection %d, conversation %s, seq %d, on its socket #%d after %d subscribe(s) to it on that socket%n",
          index, event.conversation(), event.seq(), socketNumber, subscribes);
    }
    if (!"message".equals(event.type())) return;
    if (botReplies != null && delivery != DeliveryTracker.Delivery.DUPLICATE) {
      botReplies.message(event.conversation(), event.seq(), event.sender(), event.clientMsgId(), event.ts());
    }
    counters.delivered.increment();
    if (counters.inWindow(now)) counters.deliveredInWindow.increment();
    String id = event.clientMsgId();
    if (id != null && id.startsWith("s")) {
      long intended = intendedNanosOfSend.applyAsLong(Long.parseLong(id, 1, id.length(), 10));
      if (counters.inWindow(intended)) deliveryLatency.record(now - intended);
    }
  }

  private void onError(ServerFrame error) {
    counters.error(error.code());
    if (error.conversation() != null && !pending.containsKey(String.valueOf(error.id()))) {
      note("error " + error.code() + " for " + error.conversation() + " id " + error.id());
    }
    if (error.conversation() != null && error.id() == null && "unavailable".equals(error.code())) {
      // The server gave up on a subscription it was re-establishing by itself (protocol.md: "should
      // subscribe again later"). An error that answers one of our subscribe requests (it has an id)
      // is retried by requestRetrying; subscribing here as well would put two subscribes in flight,
      // and the later one, with an older since, would replay events already on their way.
      resubscribeLater(error.conversation());
    }
    if (error.id() == null) return;
    if (RETRYABLE.contains(error.code())) {
      PendingSend refused = pending.computeIfPresent(error.id(), (id, send) -> send.refusedOnceMore());
      if (refused != null) {
        long retryAfterMs = error.retryAfterMs() == null ? 0 : error.retryAfterMs();
        if (retryAfterMs > 0) holdSends(refused, retryAfterMs);
        else retryLater(error.id(), refused);
        return;
      }
    } else {
      PendingSend failed = pending.remove(error.id());
      if (failed != null) {
        counters.failedSends.increment();
        sendHeld(hold.settled(failed.sendIndex(), System.nanoTime()));
        return;
      }
    }
    CompletableFuture<ServerFrame> waiting = requests.remove(error.id());
    if (waiting != null) waiting.completeExceptionally(new IllegalStateException("server answered " + error.code()));
  }

  private void resubscribeLater(String conversation) {
    int socketGeneration;
    synchronized (this) {
      socketGeneration = generation;
    }
    timers.schedule(
        () -> {
          synchronized (this) {
            // A new socket (reconnect or handover) resubscribes everything anyway.
            if (stopping || socket == null || generation != socketGeneration) return;
          }
          // Retried like a resume, until the run ends: one refused attempt must not leave this
          // subscriber without its conversation.
          requestRetrying(() -> subscribeFrame(conversation), Integer.MAX_VALUE)
              .whenComplete((answer, error) -> {
                if (error != null && !stopping && LOGGED_DROPS.incrementAndGet() <= 20) {
                  System.err.printf("resubscribe ended: connection %d, conversation %s: %s%n", index, conversation, error.getMessage());
                }
              });
        },
        backoff.delay(2).toMillis(),
        TimeUnit.MILLISECONDS);
  }

  /**
   * A refusal with a retry hint (an overloaded node, a rate limit), as protocol.md asks of a client:
   * this connection sends nothing until the hint has passed, with up to half of it again as jitter
   * so that the clients refused in the same moment do not return in one; then the held sends go
   * out oldest first through the connection's window, halved by the hold ({@link SendHold}), each
   * with its own clientMsgId (it posts at most once).
   */
  private void holdSends(PendingSend refused, long retryAfterMs) {
    counters.retriedSends.increment();
    long delayMs =
        Math.max(
            backoff.delay(Math.min(refused.refusals(), 6)).toMillis(),
            retryAfterMs + java.util.concurrent.ThreadLocalRandom.current().nextLong(retryAfterMs / 2 + 1));
    long now = System.nanoTime();
    long until = hold.hold(refused.sendIndex(), refused.frame(), now + TimeUnit.MILLISECONDS.toNanos(delayMs));
    timers.schedule(this::releaseWhenDue, Math.max(0, until - now), TimeUnit.NANOSECONDS);
  }

  /** Ends a hold once its time has come; checked again later when a later hint extended it. */
  private void releaseWhenDue() {
    long remaining = hold.remainingNanos(System.nanoTime());
    if (remaining > 0) timers.schedule(this::releaseWhenDue, remaining, TimeUnit.NANOSECONDS);
    else sendHeld(hold.release(System.nanoTime()));
  }

  /** Puts on the wire sends that a retry hint held, oldest first. */
  private void sendHeld(List<Map.Entry<Long, String>> released) {
    for (Map.Entry<Long, String> held : released) {
      // On the wire from now: its answer is awaited from now (resendUnanswered skipped it while held).
      pending.computeIfPresent(clientMsgIdOf(held.getKey()), (id, send) -> send.resent(System.nanoTime()));
      enqueue(held.getValue());
    }
  }

  /**
   * A refusal without a hint (a conversation moving, the node's storage breaker): the same
   * clientMsgId again after a jittered backoff, so it posts at most once.
   */
  private void retryLater(String clientMsgId, PendingSend refused) {
    counters.retriedSends.increment();
    long delayMs = backoff.delay(Math.min(refused.refusals(), 6)).toMillis();
    awaitingRetry.add(clientMsgId);
    timers.schedule(
        () -> {
          // Not when a writes_resumed retried it already.
          if (awaitingRetry.remove(clientMsgId) && pending.computeIfPresent(clientMsgId, (id, send) -> send.attempted(System.nanoTime())) != null) {
            transmit(refused.sendIndex(), refused.frame());
          }
        },
        delayMs,
        TimeUnit.MILLISECONDS);
  }

  private void answer(ServerFrame reply) {
    if (reply.id() == null) return;
    CompletableFuture<ServerFrame> waiting = requests.remove(reply.id());
    if (waiting != null) waiting.complete(reply);
  }

  /** The listener of one socket; frames of a socket that is not (or no longer) the current one are ignored. */
  private final class Link implements ClientWebSocket.Listener {
    final long number;
    /** Closed or failed; set before {@link #dropped}, read when the socket is installed. */
    volatile boolean closed;

    Link(long number) {
      this.number = number;
    }

    @Override
    public void onText(byte[] utf8, int offset, int length) {
      ServerFrame frame;
      try {
        frame = ServerFrameReader.read(utf8, offset, length);
      } catch (IOException e) {
        counters.error("unparseable_frame");
        return;
      }
      onFrame(frame, this);
    }

    @Override
    public void onClosed(int status, String reason) {
      closed = true;
      dropped(this);
    }
  }
}
