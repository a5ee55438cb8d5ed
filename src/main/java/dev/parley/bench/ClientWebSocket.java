package dev.parley.bench;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ProtocolException;
import java.net.StandardSocketOptions;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * One client websocket (RFC 6455) on a non-blocking socket driven by a {@link SelectorLoop}: the
 * opening handshake ({@link WebSocketHandshake}, {@code Sec-WebSocket-Accept} checked), masked text
 * frames out, whole text messages in ({@link WebSocketClientFrames}), pings answered, the closing
 * handshake. Plain {@code ws://} only: the bench drives nodes on loopback addresses.
 *
 * <p>Thread-safe: {@link #sendText} and {@link #sendClose} from any thread; the listener is called on
 * the loop's thread (messages, in order) and, for a close, on whichever thread noticed it.
 */
final class ClientWebSocket {

  /** What the bench hears from a socket once it is open. */
  interface Listener {
    /** A whole text message; the array is reused after the call returns. */
    void onText(byte[] utf8, int offset, int length);

    /** The socket is closed (by the server, by a failure or by {@link #abort}); called once. */
    void onClosed(int status, String reason);
  }

  private enum State { CONNECTING, UPGRADING, OPEN, CLOSED }

  private static final int MAX_MESSAGE_BYTES = 16 << 20;
  private static final int ABNORMAL_CLOSURE = 1006;

  private final SelectorLoop loop;
  private final URI url;
  private final Listener listener;
  private final String key;
  private final CompletableFuture<ClientWebSocket> opened = new CompletableFuture<>();
  private final CompletableFuture<Void> closed = new CompletableFuture<>();
  private final WebSocketClientFrames.Decoder decoder = new WebSocketClientFrames.Decoder(new Frames(), MAX_MESSAGE_BYTES);

  // Guarded by this: the state, and what waits to be written while the socket's buffer is full.
  private volatile State state = State.CONNECTING;
  private final ArrayDeque<ByteBuffer> outbound = new ArrayDeque<>();
  private boolean closeSent;
  private SocketChannel channel;
  private SelectionKey selectionKey;

  /** Read buffer; only the loop's thread touches it. */
  private ByteBuffer in = ByteBuffer.allocate(8 * 1024);

  private ClientWebSocket(SelectorLoop loop, URI url, Listener listener) {
    this.loop = loop;
    this.url = url;
    this.listener = listener;
    byte[] nonce = new byte[16];
    ThreadLocalRandom.current().nextBytes(nonce);
    this.key = WebSocketHandshake.key(nonce);
  }

  /**
   * Connects to {@code url} (a {@code ws://} URL, its query included in the upgrade request) and
   * completes once the server accepted the upgrade; fails on a refused connection, any answer but
   * 101 with the right {@code Sec-WebSocket-Accept} (e.g. 503 from admission control), or no answer
   * within {@code timeout}.
   */
  static CompletableFuture<ClientWebSocket> open(SelectorLoop loop, URI url, Listener listener, Duration timeout) {
    ClientWebSocket socket = new ClientWebSocket(loop, url, listener);
    socket.opened.orTimeout(timeout.toMillis(), TimeUnit.MILLISECONDS).whenComplete((s, failure) -> {
      if (failure != null) socket.abort();
    });
    loop.execute(socket::connect);
    return socket.opened;
  }

  /** Puts a text frame on the wire (or in the queue behind what is waiting); false when the socket is not open. */
  boolean sendText(String text) {
    ByteBuffer frame = WebSocketClientFrames.text(text, mask());
    synchronized (this) {
      if (state != State.OPEN || closeSent) return false;
      write(frame);
      return true;
    }
  }

  /**
   * Starts the closing handshake; the returned future completes when the socket is closed (the
   * server's close frame, or the connection's end). The caller bounds the wait and then aborts.
   */
  CompletableFuture<Void> sendClose(int status, String reason) {
    synchronized (this) {
      if (state == State.OPEN && !closeSent) {
        closeSent = true;
        write(WebSocketClientFrames.close(status, reason, mask()));
      } else if (state != State.CLOSED && state != State.OPEN) {
        loop.execute(this::abort);
      }
    }
    return closed.copy();
  }

  /** Closes the connection at once, without a closing handshake. */
  void abort() {
    terminate(ABNORMAL_CLOSURE, "aborted", null);
  }

  // ---- the loop's side ----------------------------------------------------------------------

  private void connect() {
    try {
      synchronized (this) {
        if (state != State.CONNECTING) return; // aborted (timed out) before the loop got to it
        channel = SocketChannel.open();
        channel.configureBlocking(false);
        channel.setOption(StandardSocketOptions.TCP_NODELAY, true);
        boolean connected = channel.connect(new InetSocketAddress(url.getHost(), url.getPort() < 0 ? 80 : url.getPort()));
        selectionKey = channel.register(loop.selector(), connected ? 0 : SelectionKey.OP_CONNECT, this);
        if (connected) upgrade();
      }
    } catch (IOException | RuntimeException e) {
      terminate(ABNORMAL_CLOSURE, "connect failed", e);
    }
  }

  /** The TCP connection is up: ask for the upgrade. Holds the lock. */
  private void upgrade() {
    state = State.UPGRADING;
    selectionKey.interestOps(SelectionKey.OP_READ);
    write(ByteBuffer.wrap(WebSocketHandshake.request(url, key).getBytes(StandardCharsets.US_ASCII)));
  }

  /** Called by the loop with the operations {@code key} is ready for. */
  void ready(SelectionKey key) {
    try {
      if (!key.isValid()) return;
      int ready = key.readyOps();
      if ((ready & SelectionKey.OP_CONNECT) != 0) {
        synchronized (this) {
          if (state != State.CONNECTING) return;
          channel.finishConnect();
          upgrade();
        }
      }
      if ((ready & SelectionKey.OP_WRITE) != 0) flush();
      if ((ready & SelectionKey.OP_READ) != 0) read();
    } catch (IOException | RuntimeException e) {
      terminate(ABNORMAL_CLOSURE, e instanceof ProtocolException ? "protocol error" : "I/O error", e);
    }
  }

  private void read() throws IOException {
    int n = channel.read(in);
    if (n < 0) {
      terminate(ABNORMAL_CLOSURE, "end of stream", state == State.UPGRADING ? new IOException("closed during the upgrade") : null);
      return;
    }
    in.flip();
    if (state == State.UPGRADING && !readUpgradeAnswer()) {
      if (in.remaining() == in.capacity()) throw new ProtocolException("upgrade answer longer than " + in.capacity() + " bytes");
      in.compact();
      return;
    }
    int needed = state == State.OPEN ? decoder.decode(in) : 0;
    if (needed > in.capacity()) {
      ByteBuffer bigger = ByteBuffer.allocate(Math.max(needed, 2 * in.capacity()));
      bigger.put(in);
      in = bigger;
    } else {
      in.compact();
    }
  }

  /** Reads the answer to the upgrade once it is whole: false while it is not; throws when it refuses. */
  private boolean readUpgradeAnswer() throws IOException {
    byte[] bytes = in.array();
    int end = -1;
    for (int i = in.position(); i + 3 < in.limit(); i++) {
      if (bytes[i] == '\r' && bytes[i + 1] == '\n' && bytes[i + 2] == '\r' && bytes[i + 3] == '\n') {
        end = i + 4;
        break;
      }
    }
    if (end < 0) return false;
    String head = new String(bytes, in.position(), end - in.position(), StandardCharsets.ISO_8859_1);
    WebSocketHandshake.Response response = WebSocketHandshake.Response.parse(head);
    if (!response.upgrades(key)) {
      throw new IOException("upgrade refused: HTTP " + response.status() + (response.status() == 101 ? " without the right Sec-WebSocket-Accept" : ""));
    }
    in.position(end);
    synchronized (this) {
      if (state != State.UPGRADING) return true; // aborted meanwhile
      state = State.OPEN;
    }
    // Whoever opened it installs it now, before the frames that came with the answer are read.
    if (!opened.complete(this)) abort();
    return true;
  }

  private synchronized void flush() throws IOException {
    while (!outbound.isEmpty()) {
      ByteBuffer next = outbound.peek();
      channel.write(next);
      if (next.hasRemaining()) return;
      outbound.poll();
    }
    if (selectionKey.isValid()) selectionKey.interestOps(SelectionKey.OP_READ);
  }

  /** Writes now if nothing waits before it, else queues it for when the socket takes more. Holds the lock. */
  private void write(ByteBuffer frame) {
    if (outbound.isEmpty()) {
      try {
        channel.write(frame);
      } catch (IOException e) {
        // the read side sees the same failure; close from the loop, not from under this lock
        loop.execute(() -> terminate(ABNORMAL_CLOSURE, "write failed", e));
        return;
      }
      if (!frame.hasRemaining()) return;
    }
    outbound.add(frame);
    if (selectionKey.isValid() && (selectionKey.interestOps() & SelectionKey.OP_WRITE) == 0) {
      selectionKey.interestOps(SelectionKey.OP_READ | SelectionKey.OP_WRITE);
      if (!loop.inLoop()) loop.wakeup();
    }
  }

  /** Closes the connection once; tells the listener when the socket had opened, else fails the opening. */
  private void terminate(int status, String reason, Throwable failure) {
    boolean wasOpen;
    synchronized (this) {
      if (state == State.CLOSED) return;
      wasOpen = state == State.OPEN;
      state = State.CLOSED;
      outbound.clear();
      if (selectionKey != null) selectionKey.cancel();
      if (channel != null) {
        try {
          channel.close();
        } catch (IOException ignored) {
          // closing anyway
        }
      }
    }
    if (!wasOpen || !opened.isDone()) {
      IOException why = failure instanceof IOException io ? io : new IOException(reason, failure);
      opened.completeExceptionally(why);
    }
    if (wasOpen && opened.isDone() && !opened.isCompletedExceptionally()) listener.onClosed(status, reason);
    closed.complete(null);
  }

  private static int mask() {
    return ThreadLocalRandom.current().nextInt();
  }

  /** What the decoder finds, on the loop's thread. */
  private final class Frames implements WebSocketClientFrames.Sink {
    @Override
    public void message(int opcode, byte[] payload, int offset, int length) {
      // nothing is read after a close (ours or the server's)
      if (opcode == WebSocketClientFrames.TEXT && state == State.OPEN) listener.onText(payload, offset, length);
    }

    @Override
    public void control(int opcode, byte[] payload, int offset, int length) {
      if (opcode == WebSocketClientFrames.PING) {
        synchronized (ClientWebSocket.this) {
          if (state == State.OPEN && !closeSent) write(WebSocketClientFrames.frame(WebSocketClientFrames.PONG, payload, offset, length, mask()));
        }
      } else if (opcode == WebSocketClientFrames.CLOSE) {
        int status = WebSocketClientFrames.closeStatus(payload, offset, length);
        String reason = WebSocketClientFrames.closeReason(payload, offset, length);
        synchronized (ClientWebSocket.this) {
          if (state == State.OPEN && !closeSent) {
            // Echo the close (section 5.5.1), then the connection ends: nothing more comes after it.
            closeSent = true;
            write(WebSocketClientFrames.close(status == WebSocketClientFrames.NO_STATUS ? WebSocketClientFrames.NORMAL_CLOSURE : status, "", mask()));
          }
        }
        terminate(status, reason, null);
      }
    }
  }
}
