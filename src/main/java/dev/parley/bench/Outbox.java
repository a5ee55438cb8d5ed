package dev.parley.bench;

import java.net.http.WebSocket;
import java.util.Queue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Supplier;

/**
 * Frames waiting to go out on one connection. A JDK websocket accepts one {@code sendText} at a time
 * (the next only after the previous one completed), and frames come from several threads (the
 * pacer, timers, the listener), so they queue here and one thread at a time sends them.
 */
final class Outbox {

  private final Queue<String> frames = new ConcurrentLinkedQueue<>();
  private final AtomicBoolean sending = new AtomicBoolean();
  /** The live socket, or null while disconnected: frames then wait for the next one. */
  private final Supplier<WebSocket> socket;

  Outbox(Supplier<WebSocket> socket) {
    this.socket = socket;
  }

  void add(String frame) {
    frames.add(frame);
    pump();
  }

  /** Drops what was queued for a socket that is gone. */
  void clear() {
    frames.clear();
  }

  /**
   * Sends queued frames one at a time. A loop rather than recursion from the completion callback,
   * so a burst of synchronously completed sends does not grow the stack.
   */
  void pump() {
    while (sending.compareAndSet(false, true)) {
      WebSocket ws = socket.get();
      String next = ws == null ? null : frames.poll();
      if (next == null) {
        sending.set(false);
        if (ws != null && !frames.isEmpty()) continue; // raced with an add
        return;
      }
      CompletableFuture<WebSocket> sent = ws.sendText(next, true);
      if (!sent.isDone()) {
        sent.whenComplete((w, e) -> {
          sending.set(false);
          pump();
        });
        return;
      }
      sending.set(false);
    }
  }
}
