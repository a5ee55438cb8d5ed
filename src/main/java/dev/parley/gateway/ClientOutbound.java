package dev.parley.gateway;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.parley.ErrorCode;
import java.time.Duration;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;

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
  private boolean closing;

  ClientOutbound(OutboundQueue queue, int buffer, TimerScheduler<Session.Command> timers) {
    this.queue = queue;
    this.buffer = buffer;
    this.timers = timers;
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
      close();
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
  void close() {
    if (closing) return;
    closing = true;
    queue.complete();
    timers.startSingleTimer(Session.ClientGone.INSTANCE, Session.ClientGone.INSTANCE, CLIENT_GONE_DEADLINE);
  }

  /** The session stopped: whatever is still queued goes, and the stream ends if it had not. */
  void sessionStopped() {
    queue.complete();
  }
}
