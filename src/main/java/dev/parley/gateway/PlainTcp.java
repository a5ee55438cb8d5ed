package dev.parley.gateway;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.CancelledKeyException;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Iterator;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.IntSupplier;
import java.util.function.LongSupplier;
import java.util.function.Supplier;
import org.apache.pekko.Done;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.stream.Attributes;
import org.apache.pekko.stream.FlowShape;
import org.apache.pekko.stream.Inlet;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.Outlet;
import org.apache.pekko.stream.javadsl.Flow;
import org.apache.pekko.stream.stage.AbstractInHandler;
import org.apache.pekko.stream.stage.AbstractOutHandler;
import org.apache.pekko.stream.stage.AsyncCallback;
import org.apache.pekko.stream.stage.GraphStage;
import org.apache.pekko.stream.stage.GraphStageLogic;
import org.apache.pekko.stream.stage.TimerGraphStageLogic;
import org.apache.pekko.util.ByteString;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The plain-text listener's TCP: one selector thread that accepts, and reads every connection's
 * bytes itself; each connection's writes are made by its stream's stage, on the stream's thread.
 *
 * <p>Why not Pekko IO (issue 18, target 2): Pekko Streams' TCP stage reads in pull mode, so every
 * client frame costs a {@code ChannelReadable} from the selector to the connection's actor, a
 * {@code Received} to the stage, a {@code ResumeReading} back, a {@code read(2)} that finds nothing,
 * and a task on the selector's queue that re-enables read interest and wakes the selector thread
 * ({@code SelectionHandler.enableInterestOps}: an eventfd write and a context switch per frame);
 * each write is a {@code Write}, a {@code WriteAck} and one or more empty-write round trips to the
 * connection's actor. Here read interest stays on while the stage holds less than
 * {@link #READ_AHEAD_BYTES} of unread bytes (a client that is not read from is still
 * back-pressured, at that bound), so a frame costs one {@code read(2)} on the selector thread and
 * one message to the stage; a write is one {@code write(2)} by the stage, and only a write the
 * kernel cannot take whole registers write interest with the selector.
 *
 * <p>Semantics kept from {@code Tcp.bind(..., halfClose = false, ...)}: the client's end of input
 * completes the stage's output and closes the connection once pending writes are out; the end of
 * the stage's input (the server is done writing) closes it after its pending writes; a failure or
 * a failed cancellation on either side aborts it (RST). At most {@code maxConnections} connections
 * are open at once: beyond that the listener stops accepting (the kernel's backlog holds the rest),
 * as Pekko HTTP's {@code max-connections} does. TLS connections do not come here.
 *
 * <p>A close waits for its pending writes at most {@code lingerTimeout}
 * ({@code pekko.http.server.linger-timeout}, whose documented purpose this is), then resets the
 * connection. Pekko IO waits without end: a client that stops reading and never closes kept its
 * connection, stream and {@code max-connections} place for good once the server was done with it.
 */
final class PlainTcp {
  private static final Logger log = LoggerFactory.getLogger(PlainTcp.class);

  /** Unread bytes a connection's stage may hold before its reads stop until the stream takes them. */
  static final int READ_AHEAD_BYTES = 64 * 1024;
  /** Bytes one read takes; a client frame is at most {@code parley.gateway.max-frame-bytes} (64 KiB). */
  private static final int READ_BUFFER_BYTES = 64 * 1024;
  /** Connections accepted per readiness of the listening socket, so that reads are not starved. */
  private static final int ACCEPTS_PER_ROUND = 16;

  /**
   * What {@link #bind} returns: the address bound, how to stop accepting, and how often the selector
   * thread has been woken for a task (registrations, closes, writes the kernel could not take whole,
   * reads resumed after a pause; never for an ordinary read).
   */
  record Bound(InetSocketAddress localAddress, Supplier<CompletionStage<Done>> unbind, LongSupplier selectorWakeUps, IntSupplier openConnections) {}

  private final Selector selector;
  private final ServerSocketChannel listener;
  private final SelectionKey listenerKey;
  private final Flow<ByteString, ByteString, ?> handler;
  private final Materializer materializer;
  private final Executor materializeOn;
  private final int maxConnections;
  /** How long a close waits for the writes the client does not take; empty: without end. */
  private final Optional<Duration> lingerTimeout;
  private final ConcurrentLinkedQueue<Runnable> tasks = new ConcurrentLinkedQueue<>();
  private final AtomicBoolean wakeUpPending = new AtomicBoolean();
  /** Read by the selector thread only. */
  private final ByteBuffer readBuffer = ByteBuffer.allocateDirect(READ_BUFFER_BYTES);
  private final Thread thread;
  private volatile boolean running = true;
  /** Written by the selector thread only; read by {@link Bound#openConnections}. */
  private volatile int open;
  /** Selector thread only: accepting stopped at {@code maxConnections}. */
  private boolean acceptPaused;
  private boolean listening = true;
  /** How often the selector thread was woken for a task ({@link Bound#selectorWakeUps}). */
  private final AtomicLong wakeUps = new AtomicLong();

  private PlainTcp(ActorSystem<?> system, InetSocketAddress address, int backlog, int maxConnections, Optional<Duration> lingerTimeout,
      Flow<ByteString, ByteString, ?> handler) throws IOException {
    this.handler = handler;
    this.lingerTimeout = lingerTimeout;
    this.materializer = Materializer.matFromSystem(system);
    this.materializeOn = system.executionContext();
    this.maxConnections = maxConnections;
    this.selector = Selector.open();
    this.listener = ServerSocketChannel.open();
    try {
      listener.setOption(StandardSocketOptions.SO_REUSEADDR, true);
      listener.bind(address, backlog);
      listener.configureBlocking(false);
      listenerKey = listener.register(selector, SelectionKey.OP_ACCEPT);
    } catch (IOException e) {
      listener.close();
      selector.close();
      throw e;
    }
    thread = new Thread(this::loop, "parley-tcp-selector-" + listener.socket().getLocalPort());
    thread.setDaemon(true);
  }

  /**
   * Listens on {@code host:port} and runs {@code handler} (materialized once per connection) between
   * each client's bytes in and its bytes out. A connection the server is done with waits at most
   * {@code lingerTimeout} (empty: without end) for a client that does not read what is still to be
   * written, then is reset. Stops with the actor system.
   */
  static CompletionStage<Bound> bind(ActorSystem<?> system, String host, int port, int backlog, int maxConnections, Optional<Duration> lingerTimeout,
      Flow<ByteString, ByteString, ?> handler) {
    try {
      PlainTcp tcp = new PlainTcp(system, new InetSocketAddress(host, port), backlog, maxConnections, lingerTimeout, handler);
      tcp.thread.start();
      system.getWhenTerminated().thenRun(tcp::stop);
      InetSocketAddress bound = (InetSocketAddress) tcp.listener.socket().getLocalSocketAddress();
      return CompletableFuture.completedFuture(new Bound(bound, tcp::unbind, tcp.wakeUps::get, () -> tcp.open));
    } catch (IOException e) {
      return CompletableFuture.failedFuture(e);
    }
  }

  private CompletionStage<Done> unbind() {
    CompletableFuture<Done> unbound = new CompletableFuture<>();
    execute(() -> {
      if (listening) {
        listening = false;
        listenerKey.cancel();
        try {
          listener.close();
          // A channel closed while registered keeps its socket until the selector drops its key: the
          // port would still accept until the next select. Dropped here, so unbound means refused.
          selector.selectNow();
        } catch (IOException e) {
          log.debug("Closing the listening socket failed: {}", e.toString());
        }
      }
      unbound.complete(Done.getInstance());
    });
    return unbound;
  }

  private void stop() {
    running = false;
    selector.wakeup();
  }

  /** Runs {@code task} on the selector thread (interest changes are made there: no lock contention with select). */
  private void execute(Runnable task) {
    tasks.add(task);
    if (wakeUpPending.compareAndSet(false, true)) {
      wakeUps.incrementAndGet();
      selector.wakeup();
    }
  }

  private void loop() {
    try {
      while (running) {
        selector.select();
        // Cleared before the tasks run: a task queued from here on wakes the next select.
        wakeUpPending.set(false);
        for (Runnable task; (task = tasks.poll()) != null; ) {
          try {
            task.run();
          } catch (RuntimeException e) {
            log.error("A selector task failed", e);
          }
        }
        Iterator<SelectionKey> selected = selector.selectedKeys().iterator();
        while (selected.hasNext()) {
          SelectionKey key = selected.next();
          selected.remove();
          try {
            if (!key.isValid()) continue;
            if (key == listenerKey) accept();
            else ((Connection) key.attachment()).ready(key);
          } catch (CancelledKeyException e) {
            // closed by its stage between select and here
          } catch (RuntimeException e) {
            // One connection's fault must not stop the thread that reads every connection.
            log.error("A connection's readiness could not be handled; closing it", e);
            if (key.attachment() instanceof Connection connection) connection.close(true);
          }
        }
      }
    } catch (IOException | RuntimeException e) {
      log.error("The TCP selector stopped", e);
    } finally {
      for (SelectionKey key : selector.keys()) {
        try {
          key.channel().close();
        } catch (IOException e) {
          // closing everything at the end; nothing to tell
        }
      }
      try {
        selector.close();
      } catch (IOException e) {
        // as above
      }
    }
  }

  private void accept() throws IOException {
    for (int i = 0; i < ACCEPTS_PER_ROUND && open < maxConnections; i++) {
      SocketChannel channel;
      try {
        channel = listener.accept();
      } catch (IOException e) {
        // Out of file descriptors, or a connection reset before it was taken: as Pekko IO's
        // listener does, say so and go on; the listener stays open.
        log.warn("Could not accept a connection: {}", e.toString());
        return;
      }
      if (channel == null) return;
      open++;
      try {
        channel.configureBlocking(false);
        // Pekko IO's default for every connection: a frame goes out when it is written.
        channel.setOption(StandardSocketOptions.TCP_NODELAY, true);
        Connection connection = new Connection(channel);
        connection.key = channel.register(selector, 0, connection);
        // Materializing takes longer than a read: not on the thread that reads every connection.
        materializeOn.execute(connection::start);
      } catch (IOException | RuntimeException e) {
        open--;
        log.debug("An accepted connection could not be set up: {}", e.toString());
        channel.close();
      }
    }
    if (open >= maxConnections && !acceptPaused) {
      acceptPaused = true;
      listenerKey.interestOps(0);
    }
  }

  /** Selector thread: a connection ended; accepting resumes if it had stopped at the limit. */
  private void closed() {
    open--;
    if (acceptPaused && open < maxConnections && listening) {
      acceptPaused = false;
      listenerKey.interestOps(SelectionKey.OP_ACCEPT);
    }
  }

  /** One accepted connection: what the selector thread and its stage share. */
  private final class Connection {
    private final SocketChannel channel;
    /** Set on the selector thread before the stage exists. */
    private SelectionKey key;
    /** Unread bytes handed to the stage and not yet pushed downstream. */
    private final AtomicInteger unread = new AtomicInteger();
    /** Reads stopped at {@link #READ_AHEAD_BYTES} (selector thread writes, stage reads). */
    private volatile boolean readsPaused;
    /** Selector thread only: end of input seen, or the connection closed. */
    private boolean done;
    private volatile Stage.Logic logic;

    Connection(SocketChannel channel) {
      this.channel = channel;
    }

    Optional<Duration> lingerTimeout() {
      return lingerTimeout;
    }

    /** On an actor thread: runs the handler against this connection. */
    void start() {
      try {
        handler.join(Flow.fromGraph(new Stage(this))).run(materializer);
      } catch (RuntimeException e) {
        log.warn("A connection's stream could not be started", e);
        close(true);
      }
    }

    /** The stage is ready for bytes: reads begin. */
    void started(Stage.Logic started) {
      logic = started;
      execute(() -> {
        if (!done && key.isValid()) key.interestOps(SelectionKey.OP_READ);
      });
    }

    /** Selector thread. */
    void ready(SelectionKey key) {
      int ready = key.readyOps();
      if ((ready & SelectionKey.OP_WRITE) != 0) {
        key.interestOps(key.interestOps() & ~SelectionKey.OP_WRITE);
        logic.writable.invoke(Done.getInstance());
      }
      if ((ready & SelectionKey.OP_READ) != 0) read(key);
    }

    /** Selector thread: one read, handed to the stage. */
    private void read(SelectionKey key) {
      int count;
      try {
        readBuffer.clear();
        count = channel.read(readBuffer);
      } catch (IOException e) {
        done = true;
        key.interestOps(0);
        logic.failed.invoke(e);
        return;
      }
      if (count > 0) {
        readBuffer.flip();
        ByteString bytes = ByteString.fromByteBuffer(readBuffer);
        if (unread.addAndGet(count) >= READ_AHEAD_BYTES) {
          readsPaused = true;
          key.interestOps(key.interestOps() & ~SelectionKey.OP_READ);
          // The stage may have taken everything between the add and the pause: it then saw no pause.
          if (unread.get() < READ_AHEAD_BYTES) resumeReads();
        }
        logic.received.invoke(bytes);
      } else if (count < 0) {
        done = true;
        key.interestOps(key.interestOps() & ~SelectionKey.OP_READ);
        logic.inputEnded.invoke(Done.getInstance());
      }
    }

    /** Selector thread. */
    private void resumeReads() {
      if (readsPaused && !done && key.isValid() && unread.get() < READ_AHEAD_BYTES) {
        readsPaused = false;
        key.interestOps(key.interestOps() | SelectionKey.OP_READ);
      }
    }

    /** Stage: {@code count} bytes went downstream. */
    void taken(int count) {
      if (unread.addAndGet(-count) < READ_AHEAD_BYTES && readsPaused) execute(this::resumeReads);
    }

    /** Stage: a write could not be completed; the selector tells it when the socket takes more. */
    void awaitWritable() {
      execute(() -> {
        if (key.isValid()) key.interestOps(key.interestOps() | SelectionKey.OP_WRITE);
      });
    }

    /** Any thread: closes the socket (with a reset when {@code abort}) on the selector thread. */
    void close(boolean abort) {
      execute(() -> {
        if (!channel.isOpen()) return;
        done = true;
        key.cancel();
        try {
          if (abort) channel.setOption(StandardSocketOptions.SO_LINGER, 0);
          channel.close();
        } catch (IOException e) {
          log.debug("Closing a connection failed: {}", e.toString());
        }
        closed();
      });
    }
  }

  /** A connection's end of the stream: bytes read go out, bytes pushed in are written. */
  private static final class Stage extends GraphStage<FlowShape<ByteString, ByteString>> {
    private static final String LINGER_TIMER = "linger";
    private final Inlet<ByteString> toClient = Inlet.create("PlainTcp.toClient");
    private final Outlet<ByteString> fromClient = Outlet.create("PlainTcp.fromClient");
    private final FlowShape<ByteString, ByteString> shape = FlowShape.of(toClient, fromClient);
    private final Connection connection;

    Stage(Connection connection) {
      this.connection = connection;
    }

    @Override
    public FlowShape<ByteString, ByteString> shape() {
      return shape;
    }

    @Override
    public Attributes initialAttributes() {
      return Attributes.name("PlainTcp");
    }

    @Override
    public GraphStageLogic createLogic(Attributes inheritedAttributes) {
      return new Logic();
    }

    private final class Logic extends TimerGraphStageLogic {
      final AsyncCallback<ByteString> received = createAsyncCallback(this::onReceived);
      final AsyncCallback<Done> inputEnded = createAsyncCallback(done -> onInputEnded());
      final AsyncCallback<Throwable> failed = createAsyncCallback(this::onFailed);
      final AsyncCallback<Done> writable = createAsyncCallback(done -> onWritable());
      /** Bytes read and not yet pushed downstream (at most {@link #READ_AHEAD_BYTES} and one read). */
      private final ArrayDeque<ByteString> unread = new ArrayDeque<>(2);
      /** What the last write left; the next write waits for it (back-pressure on the server's output). */
      private ByteBuffer pending;
      private boolean inputEnd;
      private boolean closeWhenWritten;
      private boolean socketClosed;

      Logic() {
        super(shape);
        setHandler(toClient, new AbstractInHandler() {
          @Override
          public void onPush() {
            write(grab(toClient).asByteBuffer());
          }

          @Override
          public void onUpstreamFinish() {
            closeAfterWrites();
          }

          @Override
          public void onUpstreamFailure(Throwable ex) {
            abort(ex);
          }
        });
        setHandler(fromClient, new AbstractOutHandler() {
          @Override
          public void onPull() {
            pushUnread();
          }

          @Override
          public void onDownstreamFinish(Throwable cause) {
            if (cause instanceof org.apache.pekko.stream.SubscriptionWithCancelException.NonFailureCancellation) closeAfterWrites();
            else abort(cause);
          }
        });
      }

      @Override
      public void preStart() {
        pull(toClient);
        connection.started(this);
      }

      @Override
      public void postStop() {
        closeSocket(false);
      }

      private void onReceived(ByteString bytes) {
        if (isClosed(fromClient)) {
          // Nobody reads any more (the connection closes once its writes are out): count them as taken.
          connection.taken(bytes.size());
          return;
        }
        unread.add(bytes);
        pushUnread();
      }

      private void pushUnread() {
        if (unread.isEmpty() || !isAvailable(fromClient)) return;
        ByteString bytes = unread.poll();
        while (!unread.isEmpty()) bytes = bytes.concat(unread.poll());
        push(fromClient, bytes);
        connection.taken(bytes.size());
        if (inputEnd) endOfInput();
      }

      private void onInputEnded() {
        inputEnd = true;
        if (unread.isEmpty()) endOfInput();
      }

      /** halfClose = false: the client's end of input ends the connection, once what is being written is out. */
      private void endOfInput() {
        complete(fromClient);
        closeAfterWrites();
      }

      private void onFailed(Throwable cause) {
        closeSocket(true);
        failStage(cause);
      }

      private void write(ByteBuffer bytes) {
        try {
          connection.channel.write(bytes);
        } catch (IOException e) {
          abort(e);
          return;
        }
        if (bytes.hasRemaining()) {
          pending = bytes;
          connection.awaitWritable();
        } else {
          written();
        }
      }

      private void onWritable() {
        if (pending == null || socketClosed) return;
        ByteBuffer bytes = pending;
        pending = null;
        write(bytes);
      }

      private void written() {
        if (closeWhenWritten) {
          closeSocket(false);
          completeStage();
        } else if (!isClosed(toClient)) {
          pull(toClient);
        }
      }

      private void closeAfterWrites() {
        if (closeWhenWritten) return;
        closeWhenWritten = true;
        if (pending == null) {
          closeSocket(false);
          completeStage();
        } else {
          connection.lingerTimeout().ifPresent(linger -> scheduleOnce(LINGER_TIMER, linger));
        }
      }

      /** The client has not taken the last writes within the linger timeout: it is not reading. */
      @Override
      public void onTimer(Object key) {
        if (pending == null || socketClosed) return;
        log.debug("Resetting a connection whose client took none of its last {} bytes within the linger timeout", pending.remaining());
        pending = null;
        closeSocket(true);
        completeStage();
      }

      private void abort(Throwable cause) {
        closeSocket(true);
        failStage(cause);
      }

      private void closeSocket(boolean abort) {
        if (socketClosed) return;
        socketClosed = true;
        connection.close(abort);
      }
    }
  }
}
