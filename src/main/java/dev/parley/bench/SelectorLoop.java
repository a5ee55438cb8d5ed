package dev.parley.bench;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.util.Queue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;

/**
 * One thread and one NIO selector that drive many {@link ClientWebSocket}s: connects, upgrades,
 * reads (and decodes, and hands the frames to the bench on this thread), and writes what a socket
 * could not take at once. Sends are written by the thread that makes them, straight to the socket
 * when nothing is queued before them, so a send costs no hand-off to this thread and no wake-up of it;
 * only a full socket buffer hands the rest to this loop (back-pressure: {@code OP_WRITE}).
 *
 * <p>Why not the JDK's websocket client: it cost the bench 0.35-0.52 ms of CPU per send (a future,
 * a listener call on an executor and a demand signal per frame, a selector and its executor threads
 * per client), which on a 2-core box took a core from the node at 2,000 sends/s (benchmarks.md,
 * issue 18). A load generator should cost a small fraction of what it measures, as wrk and k6 do with
 * one event loop per core.
 */
final class SelectorLoop implements AutoCloseable {

  private final Selector selector;
  private final Thread thread;
  private final Queue<Runnable> tasks = new ConcurrentLinkedQueue<>();
  private volatile boolean running = true;
  /** The sends this loop makes between its reads, or null; only the loop's thread touches them. */
  private OpenLoopPacer pacer;
  private CompletableFuture<Void> paced;

  SelectorLoop(String name) {
    try {
      selector = Selector.open();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    thread = new Thread(this::run, name);
    thread.setDaemon(true);
    thread.start();
  }

  /** Runs {@code task} on this loop's thread, soon. */
  void execute(Runnable task) {
    tasks.add(task);
    selector.wakeup();
  }

  /** Makes the loop look at its keys again (after an interest change from another thread). */
  void wakeup() {
    selector.wakeup();
  }

  /**
   * Makes {@code pacer}'s sends on this loop's thread: whenever it wakes (for a socket or because a
   * send is due), it makes the sends due, then waits for sockets at most until the next one is due.
   * A send then costs no wake-up of a thread of its own: on 2 shared vCPU the pacer thread's park and
   * wake-up per send cost about as much as the rest of the client. Sends leave up to 1 ms late (the
   * selector's timeout is in milliseconds); they keep their intended time, so the lateness is in
   * the latency and in the report's scheduler lag. Completes when the pacer is done or stopped.
   */
  CompletableFuture<Void> pace(OpenLoopPacer sends) {
    CompletableFuture<Void> done = new CompletableFuture<>();
    execute(() -> {
      pacer = sends;
      paced = done;
    });
    return done;
  }

  boolean inLoop() {
    return Thread.currentThread() == thread;
  }

  /** For registering channels; only on this loop's thread. */
  Selector selector() {
    return selector;
  }

  private void run() {
    while (running) {
      try {
        long timeoutMs = sendDue();
        if (timeoutMs == 0) selector.selectNow(this::ready);
        else selector.select(this::ready, timeoutMs);
        Runnable task;
        while ((task = tasks.poll()) != null) task.run();
      } catch (IOException | RuntimeException e) {
        // one socket's failure must not stop the others; each socket handles its own I/O errors
        System.err.println("selector loop: " + e);
      }
    }
    for (SelectionKey key : selector.keys()) {
      if (key.attachment() instanceof ClientWebSocket socket) socket.abort();
    }
    try {
      selector.close();
    } catch (IOException ignored) {
      // closing at the end of a run
    }
  }

  /** Makes the sends due; returns how long the selector may wait (ms, 0 = not at all). */
  private long sendDue() {
    if (pacer == null) return 1000;
    long next;
    try {
      next = pacer.sendDue(System.nanoTime());
    } catch (RuntimeException e) {
      pacer = null;
      paced.completeExceptionally(e);
      return 1000;
    }
    if (next == OpenLoopPacer.DONE) {
      pacer = null;
      paced.complete(null);
      return 1000;
    }
    long wait = next - System.nanoTime();
    return wait <= 0 ? 0 : Math.min(1000, (wait + 999_999) / 1_000_000);
  }

  private void ready(SelectionKey key) {
    if (key.attachment() instanceof ClientWebSocket socket) socket.ready(key);
  }

  /** Closes every socket and stops the thread. */
  @Override
  public void close() {
    running = false;
    selector.wakeup();
    try {
      thread.join(5_000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
