package dev.parley.gateway;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.parley.ErrorCode;
import java.time.Duration;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import org.slf4j.Logger;

/**
 * What a {@link Session} sends its client: frames into the connection's bounded queue
 * ({@link OutboundQueue}) under the slow-consumer rule, and the end of the connection. Confined to
 * the session's actor.
 */
final class ClientOutbound {

  /** How long a closed connection's session waits for its client to read the last frames. */
  private static final Duration CLIENT_GONE_DEADLINE = Duration.ofSeconds(5);

  private final OutboundQueue queue;
  private final int buffer;
  private final TimerScheduler<Session.Command> timers;
  private final Logger log;
  private final String user;
  private boolean closing;

  /** Why the server ends a connection; the log says it (the client was sent its own frame first). */
  enum CloseReason {
    SLOW_CONSUMER("slow consumer: outbound buffer full"),
    TOKEN_EXPIRED("token expired"),
    TOKEN_REVOKED("token revoked"),
    /** A drain or a rebalancing move: expected, and thousands at a deploy, so logged at DEBUG. */
    RECONNECT_HINTED("told to reconnect elsewhere");

    final String description;

    CloseReason(String description) {
      this.description = description;
    }
  }

  ClientOutbound(OutboundQueue queue, int buffer, TimerScheduler<Session.Command> timers, Logger log, String user) {
    this.queue = queue;
    this.buffer = buffer;
    this.timers = timers;
    this.log = log;
    this.user = user;
  }

  /**
   * Queues a frame for the client. The queue holds {@code outbound-buffer} frames plus room for a
   * last word: a client that falls that far behind gets an error frame and is disconnected (it
   * resumes with {@code subscribe ... since}); it never blocks a conversation or grows the heap.
   */
  void push(ObjectNode frame) {
    if (closing) return;
    if (queue.size() >= buffer) {
      queue.offer(Frames.error(null, ErrorCode.UNAVAILABLE, "slow consumer: too many frames queued; reconnect and subscribe with since"));
      close(CloseReason.SLOW_CONSUMER);
      return;
    }
    queue.offer(frame);
  }

  /** Frames queued and not yet taken by the websocket. */
  int queued() {
    return queue.size();
  }

  /** The session has room for the next client frame. */
  void demand() {
    queue.demand();
  }

  /** The session is closing the connection: it takes no more frames to send and no client frames. */
  boolean isClosing() {
    return closing;
  }

  /**
   * Ends the connection after the frames queued. A session never stops itself when it closes a
   * connection (slow consumer, drain, token): it stays until its client has read what was queued
   * ({@link Session.ClientGone}), because stopping at once would cancel the coupled stream and drop
   * the last frames, the reason included. A client that never finishes the close does not keep it.
   */
  void close(CloseReason reason) {
    if (closing) return;
    closing = true;
    // A connection the server ends is worth a line (a support case starts with "why was I
    // disconnected"). The user is in the text: at INFO the session fills no MDC. Drains and moves
    // are routine and many.
    if (reason == CloseReason.RECONNECT_HINTED) log.debug("closing {}'s connection: {}", user, reason.description);
    else log.info("closing {}'s connection: {}", user, reason.description);
    queue.complete();
    timers.startSingleTimer(Session.ClientGone.INSTANCE, Session.ClientGone.INSTANCE, CLIENT_GONE_DEADLINE);
  }

  /**
   * The client is gone, or did not take the last frames within {@code CLIENT_GONE_DEADLINE} of a
   * close: what is still queued is dropped and the stream ends now (a client that stopped reading
   * would otherwise keep its queued frames and its connection for good; it resumes with since).
   */
  void clientGone() {
    queue.abandon();
  }

  /** The session stopped: whatever is still queued goes, and the stream ends if it had not. */
  void sessionStopped() {
    queue.complete();
  }
}
