package dev.parley.gateway;

import com.fasterxml.jackson.databind.node.ObjectNode;
import org.apache.pekko.http.javadsl.model.ws.Message;
import org.apache.pekko.http.javadsl.model.ws.TextMessage;
import org.apache.pekko.stream.BoundedSourceQueue;

/**
 * The frames queued for one websocket client, completed at most once by either side.
 *
 * <p>Why a class: the queue is completed from two directions. The session completes it to close a
 * connection (drain, slow consumer, expired token); the client's side completes it when the
 * client closes or the stream is cancelled. {@link BoundedSourceQueue#complete()} throws once
 * the queue is completed, and the client can go between the session's decision and its call (a
 * rolling restart's drain, where clients close their old connection as the node closes it, did
 * this dozens of times per node; the exception stopped the session through its supervisor).
 */
final class OutboundQueue {

  private final BoundedSourceQueue<Message> queue;

  OutboundQueue(BoundedSourceQueue<Message> queue) {
    this.queue = queue;
  }

  /** Frames queued and not yet taken by the websocket. */
  int size() {
    return queue.size();
  }

  /** Queues a frame; a queue already completed (the client gone) drops it. */
  void offer(ObjectNode frame) {
    queue.offer(TextMessage.create(Frames.write(frame)));
  }

  /**
   * Ends the stream after the queued frames. Returns false when it had ended already, by this
   * session or by the client.
   */
  boolean complete() {
    try {
      queue.complete();
      return true;
    } catch (IllegalStateException alreadyCompleted) {
      return false;
    }
  }
}
