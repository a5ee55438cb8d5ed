package dev.parley.gateway;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The session's side of its connection ({@link SessionStream}): frames queued for the client, the
 * session's demand for the next client frame, and the end of the connection, completed at most once
 * by either side.
 *
 * <p>Why completion is guarded: the queue is completed from two directions. The session completes
 * it to close a connection (drain, slow consumer, expired token); the client's side ends it when the
 * client closes. The client can go between the session's decision and its call (a rolling
 * restart's drain, where clients close their old connection as the node closes it, did this dozens
 * of times per node).
 */
final class OutboundQueue {

  /** What the stream does with the session's calls; each runs on the stream's own thread, later. */
  interface Stream {
    void offer(String text);

    void complete();

    /** The session is gone: what its client has not taken waits at most the linger timeout, then is dropped. */
    void abandon();

    void demand();
  }

  private final AtomicInteger queued = new AtomicInteger();
  private final AtomicBoolean completed = new AtomicBoolean();
  private volatile Stream stream;

  void attach(Stream stream) {
    this.stream = stream;
  }

  /** Frames queued and not yet taken by the websocket. */
  int size() {
    return queued.get();
  }

  /** Queues a frame; a queue already completed (the client gone) drops it. */
  void offer(ObjectNode frame) {
    if (completed.get()) return;
    queued.incrementAndGet();
    stream.offer(Frames.write(frame));
  }

  /** The websocket took a frame. */
  void taken() {
    queued.decrementAndGet();
  }

  /** The session has room for the next client frame. */
  void demand() {
    if (!completed.get()) stream.demand();
  }

  /**
   * Ends the stream after the queued frames. Returns false when it had ended already, by this
   * session or by the client.
   */
  boolean complete() {
    if (!completed.compareAndSet(false, true)) return false;
    stream.complete();
    return true;
  }

  /**
   * The session is gone (its client left, or did not take what was queued within the session's
   * deadline): the frames still queued wait for the client at most the linger timeout, then are
   * dropped and the stream ends, so that a client that stopped reading does not keep them, nor its
   * connection, for good.
   */
  void abandon() {
    completed.set(true);
    stream.abandon();
  }

  /** The client's side ended: later frames are dropped. */
  void clientEnded() {
    completed.set(true);
  }
}
