package dev.parley.gateway;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.List;
import java.util.Optional;
import org.apache.pekko.event.LoggingAdapter;
import org.apache.pekko.http.impl.engine.server.UpgradeToOtherProtocolResponseHeader;
import org.apache.pekko.http.impl.engine.ws.FrameHandler;
import org.apache.pekko.http.impl.engine.ws.Handshake$;
import org.apache.pekko.http.impl.engine.ws.Protocol;
import org.apache.pekko.http.impl.engine.ws.ProtocolException;
import org.apache.pekko.http.impl.engine.ws.StreamingCharsetDecoderInstance;
import org.apache.pekko.http.impl.engine.ws.Utf8Decoder;
import org.apache.pekko.http.javadsl.model.HttpHeader;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.scaladsl.model.headers.Sec$minusWebSocket$minusAccept$;
import org.apache.pekko.http.scaladsl.model.headers.Sec$minusWebSocket$minusKey;
import org.apache.pekko.http.scaladsl.model.ws.PeerClosedConnectionException;
import org.apache.pekko.http.scaladsl.settings.WebSocketSettings;
import org.apache.pekko.stream.Attributes;
import org.apache.pekko.stream.BidiShape;
import org.apache.pekko.stream.Inlet;
import org.apache.pekko.stream.Outlet;
import org.apache.pekko.stream.javadsl.Flow;
import org.apache.pekko.stream.stage.AbstractInHandler;
import org.apache.pekko.stream.stage.AbstractOutHandler;
import org.apache.pekko.stream.stage.AsyncCallback;
import org.apache.pekko.stream.stage.GraphStage;
import org.apache.pekko.stream.stage.GraphStageLogic;
import org.apache.pekko.stream.stage.TimerGraphStageLogic;
import org.apache.pekko.util.ByteString;
import scala.Option;
import scala.concurrent.duration.FiniteDuration;
import scala.util.Try;

/**
 * The websocket protocol between a connection's bytes and a {@link Session}: bytes in, whole
 * size-checked {@link IncomingFrame}s out; JSON texts in, one text frame each out. One stage does
 * what Pekko HTTP's stack does in eight per connection ({@code WebSocket.framing} and
 * {@code WebSocket.stack} in pekko-http 1.3.0: the frame parser and renderer, unmasking,
 * {@code FrameHandler}, {@code FrameOutHandler}, the keep-alive's {@code IdleInject}, the message
 * API), plus the idle watch ({@link IdleConnections}): client frames are parsed (RFC 6455 5.2),
 * unmasked and checked (masking, RSV bits, control frame size, continuation order: 1002 otherwise),
 * text is UTF-8 validated as it comes (1007 otherwise) and collected up to {@code maxBytes}, pings
 * are answered, the close handshake is RFC 6455's (the server closes the TCP connection; a client
 * that does not answer our close frame is dropped after {@code closeTimeout}). Each stage of a
 * connection costs ~350 B of heap for the connection's life and its share of every connection's
 * materialization (benchmarks.md, issue 19), and the message API also materialized a substream per
 * message.
 *
 * <p>It uses three pieces of Pekko HTTP's internal websocket API: {@code Utf8Decoder} (streaming
 * UTF-8 validation), {@code PeerClosed.parse} (close codes) and the upgrade response of
 * {@code Handshake.Server.buildResponse} with its {@code UpgradeToOtherProtocolResponseHeader}. That
 * API is all in this class, and {@code WebSocketFramesTest} pins what it relies on and the protocol
 * on the wire, so an upgrade that changes it fails a test.
 */
final class WebSocketFrames extends GraphStage<BidiShape<ByteString, IncomingFrame, String, ByteString>> {

  /**
   * The switching-protocols responses of one route, whose connections all run {@code handler}
   * (this stage joined to a session's stage). Pekko HTTP's {@code handleFrames} joins its framing
   * layer to the handler anew for every connection ({@code Handshake.Server.buildResponse}), and the
   * finished HTTP/1 response renderer keeps that graph for the connection's life (~2 KB, and ~4 % of
   * the CPU of a connect storm; benchmarks.md, issue 19): here the handler is built once and a
   * connection adds only its attributes. The response is {@code buildResponse}'s, header for header.
   */
  static final class Upgrades {

    private final org.apache.pekko.stream.scaladsl.Flow<ByteString, ByteString, Object> framed;

    @SuppressWarnings({"unchecked", "rawtypes"})
    Upgrades(Flow<ByteString, ByteString, ?> handler) {
      this.framed = (org.apache.pekko.stream.scaladsl.Flow) handler.asScala();
    }

    /**
     * The 101 response to {@code request}, a websocket upgrade request (the route's
     * {@code extractWebSocketUpgrade} checked it), running the shared handler with {@code attributes}.
     */
    HttpResponse respond(HttpRequest request, Attributes attributes) {
      Sec$minusWebSocket$minusKey key =
          request.getHeader(Sec$minusWebSocket$minusKey.class).orElseThrow(() -> new IllegalArgumentException("not a websocket upgrade request"));
      return HttpResponse.create()
          .withStatus(StatusCodes.SWITCHING_PROTOCOLS)
          .addHeaders(
              List.<HttpHeader>of(
                  Handshake$.MODULE$.UpgradeHeader(),
                  Handshake$.MODULE$.ConnectionUpgradeHeader(),
                  Sec$minusWebSocket$minusAccept$.MODULE$.forKey(key),
                  UpgradeToOtherProtocolResponseHeader.apply(handler(request, attributes))));
    }

    /**
     * The connection's websocket flow, or, on a connection bound by {@link ConnectionSwitch}, the
     * handover that runs it outside Pekko HTTP's server layers.
     */
    @SuppressWarnings({"unchecked", "rawtypes"})
    private org.apache.pekko.stream.scaladsl.Flow handler(HttpRequest request, Attributes attributes) {
      org.apache.pekko.stream.scaladsl.Flow websocket = framed.addAttributes(attributes);
      Optional<ConnectionSwitch.Handle> connection = request.getAttribute(ConnectionSwitch.HANDLE);
      return connection.isPresent() ? connection.get().handover(Flow.fromGraph(websocket)).asScala() : websocket;
    }
  }

  /** What the stage needs beyond the message limit; built once per route. */
  record Settings(int maxBytes, Duration closeTimeout, Duration keepAlive, boolean keepAliveWithPong,
      IdleConnections idle, boolean outboundCounts, LoggingAdapter log) {

    /**
     * From Pekko HTTP's websocket settings: {@code periodic-keep-alive-max-idle} (a ping, or an
     * unsolicited pong, after that long without a frame from the client; none if infinite).
     * {@code outboundCounts}: whether frames towards the client count as life for the idle watch.
     * With ping keep-alive shorter than the idle timeout they must not (the pings would keep a dead
     * client open); without it they must (a client that only listens would be closed).
     */
    static Settings of(WebSocketSettings websocket, int maxBytes, Duration closeTimeout, IdleConnections idle, boolean outboundCounts, LoggingAdapter log) {
      Duration keepAlive = websocket.periodicKeepAliveMaxIdle() instanceof FiniteDuration maxIdle ? Duration.ofNanos(maxIdle.toNanos()) : null;
      return new Settings(maxBytes, closeTimeout, keepAlive, websocket.periodicKeepAliveMode().equals("pong"), idle, outboundCounts, log);
    }
  }

  private static final int CONTINUATION = 0;
  private static final int TEXT = 1;
  private static final int BINARY = 2;
  private static final int CLOSE = 8;
  private static final int PING = 9;
  private static final int PONG = 10;
  private static final int NONE = -1;

  private static final ByteString PING_FRAME = frame(PING, ByteString.emptyByteString());
  private static final ByteString EMPTY_PONG_FRAME = frame(PONG, ByteString.emptyByteString());

  private final Inlet<ByteString> fromClient = Inlet.create("WebSocketFrames.fromClient");
  private final Outlet<IncomingFrame> toSession = Outlet.create("WebSocketFrames.toSession");
  private final Inlet<String> fromSession = Inlet.create("WebSocketFrames.fromSession");
  private final Outlet<ByteString> toClient = Outlet.create("WebSocketFrames.toClient");
  private final BidiShape<ByteString, IncomingFrame, String, ByteString> shape =
      new BidiShape<>(fromClient, toSession, fromSession, toClient);
  private final Settings settings;

  WebSocketFrames(Settings settings) {
    this.settings = settings;
  }

  @Override
  public BidiShape<ByteString, IncomingFrame, String, ByteString> shape() {
    return shape;
  }

  @Override
  public Attributes initialAttributes() {
    return Attributes.name("WebSocketFrames");
  }

  @Override
  public GraphStageLogic createLogic(Attributes inheritedAttributes) {
    return new Logic();
  }

  /** One whole frame from the server (RFC 6455 5.2: FIN set, no mask). */
  static ByteString frame(int opcode, ByteString payload) {
    int length = payload.length();
    byte[] header;
    if (length < 126) {
      header = new byte[] {(byte) (0x80 | opcode), (byte) length};
    } else if (length < 65536) {
      header = new byte[] {(byte) (0x80 | opcode), 126, (byte) (length >> 8), (byte) length};
    } else {
      header = new byte[10];
      header[0] = (byte) (0x80 | opcode);
      header[1] = 127;
      for (int i = 0; i < 8; i++) header[9 - i] = (byte) ((long) length >> (8 * i));
    }
    return ByteString.fromArrayUnsafe(header).concat(payload);
  }

  /** A close frame: its code and (UTF-8) reason. */
  static ByteString closeFrame(int code, String reason) {
    byte[] text = reason.getBytes(StandardCharsets.UTF_8);
    byte[] payload = new byte[2 + text.length];
    payload[0] = (byte) (code >> 8);
    payload[1] = (byte) code;
    System.arraycopy(text, 0, payload, 2, text.length);
    return frame(CLOSE, ByteString.fromArrayUnsafe(payload));
  }

  private static boolean isError(Option<Object> code) {
    return code.exists(c -> Protocol.CloseCodes$.MODULE$.isError((Integer) c));
  }

  /** Where the close handshake stands. */
  private enum Closing {
    /** Open both ways. */
    NO,
    /** The client sent its close frame; ours follows once the session has ended (its last texts first). */
    PEER_CLOSED,
    /** We sent (or queued) our close frame and wait for the client's, at most the close timeout. */
    WAITING_FOR_PEER
  }

  private static final String CLOSE_TIMER = "close";
  private static final String KEEP_ALIVE_TIMER = "keep-alive";

  private final class Logic extends TimerGraphStageLogic implements IdleConnections.Watched {
    /**
     * Frames for the client that are not the session's (pongs, pings, close frames), in order:
     * reading waits while one is queued, so a client cannot pile up answers behind a blocked connection.
     */
    private final ArrayDeque<ByteString> control = new ArrayDeque<>(1);
    /**
     * The session's next text, as a frame (the next is pulled once it is gone). Reading does not wait
     * for it: a client whose connection is blocked can still send requests, so its session's queue
     * fills and the slow-consumer rule applies.
     */
    private ByteString text;
    /** What has come from the client and is not read yet (an incomplete header, or payload the session has not asked for). */
    private ByteString unread = ByteString.emptyByteString();
    /** Payload bytes of the current frame still to come; -1 while a header is expected. */
    private long payloadLeft = -1;
    /** Nothing more from the client is read (a header that cannot be parsed). */
    private boolean unreadable;
    private boolean reading;
    /** The client's side of the TCP connection has ended; {@link #clientEnded} once what came before is read. */
    private boolean clientDone;
    private boolean clientEndHandled;
    /** The frame being read: its opcode (NONE: its payload is skipped), mask key, position in the key, whether it ends its message. */
    private int frameOpcode = NONE;
    private int frameMask;
    private int maskOffset;
    private boolean frameFin;
    /** A control frame's payload while it comes (at most 125 bytes). */
    private ByteString controlData;
    /** The message being read: TEXT, BINARY or NONE. */
    private int messageOpcode = NONE;
    private StreamingCharsetDecoderInstance decoder;
    private StringBuilder collecting;
    private long bytes;
    /** A whole message the session has not asked for yet. */
    private IncomingFrame collected;
    private Closing closing = Closing.NO;
    /** The answer to the client's close frame, sent once the session ends (PEER_CLOSED). */
    private ByteString peerCloseAnswer;
    /** Our close frame (or our answer to the client's), sent after the session's last text. */
    private ByteString closeFrame;
    /** Set once nothing but our queued frames remain: the stage completes when they are out. */
    private boolean completeWhenFlushed;
    /** After a protocol error: the client's frames are ignored until its close frame (RFC 6455 7.1.7). */
    private boolean failed;
    private volatile long lastHeard = System.nanoTime();
    private long lastFromClient = lastHeard;
    private boolean watching;
    private final AsyncCallback<Long> onOverdue = createAsyncCallback(this::recheckIdle);

    Logic() {
      super(shape);
      setHandler(fromClient, new AbstractInHandler() {
        @Override
        public void onPush() {
          lastHeard = System.nanoTime();
          ByteString bytes = grab(fromClient);
          if (!unreadable) unread = unread.concat(bytes);
          read();
        }

        @Override
        public void onUpstreamFinish() {
          unwatch();
          clientDone = true;
          read(); // whole messages already here still reach the session first
        }

        @Override
        public void onUpstreamFailure(Throwable ex) {
          unwatch();
          failStage(ex); // the connection broke: nothing can be sent any more
        }
      });
      setHandler(toSession, new AbstractOutHandler() {
        @Override
        public void onPull() {
          if (collected != null) {
            push(toSession, collected);
            collected = null;
          }
          read();
        }

        @Override
        public void onDownstreamFinish(Throwable cause) {
          // The session is done; keep reading so the close handshake can finish.
          collected = null;
          read();
        }
      });
      setHandler(fromSession, new AbstractInHandler() {
        @Override
        public void onPush() {
          String next = grab(fromSession);
          if (closing == Closing.WAITING_FOR_PEER) {
            pullSession(); // after our close frame, nothing more goes to the client
            return;
          }
          text = frame(TEXT, ByteString.fromString(next, StandardCharsets.UTF_8));
          flush();
        }

        @Override
        public void onUpstreamFinish() {
          sessionEnded(Protocol.CloseCodes$.MODULE$.Regular(), "");
        }

        @Override
        public void onUpstreamFailure(Throwable ex) {
          settings.log().error(ex, "Websocket handler failed with {}", ex.getMessage());
          sessionEnded(Protocol.CloseCodes$.MODULE$.UnexpectedCondition(), "internal error");
        }
      });
      setHandler(toClient, new AbstractOutHandler() {
        @Override
        public void onPull() {
          flush();
        }
      });
    }

    @Override
    public void preStart() {
      watching = true;
      settings.idle().watch(this);
      if (settings.keepAlive() != null) scheduleOnce(KEEP_ALIVE_TIMER, settings.keepAlive());
      pull(fromClient);
      pull(fromSession);
    }

    @Override
    public void postStop() {
      unwatch();
    }

    // ---- from the client

    /**
     * Reads what has come from the client, frame by frame (RFC 6455 5.2), while no whole message
     * waits for the session and nothing waits for the client's side; then asks for more bytes.
     */
    private void read() {
      if (reading) return; // a frame read can answer (a pong), and answering reads on
      reading = true;
      boolean needsBytes;
      try {
        needsBytes = readFrames();
      } finally {
        reading = false;
      }
      if (clientDone) {
        if (needsBytes && !clientEndHandled) clientEnded();
      } else {
        pullClient();
      }
    }

    /** The client's bytes ended and all of them are read: a TCP close in the middle of a frame is a truncated one (Pekko's parser: "Data truncated"). */
    private void clientEnded() {
      clientEndHandled = true;
      completeSession(payloadLeft > 0 || !unread.isEmpty() ? new ProtocolException("Data truncated") : null);
      if (closing == Closing.WAITING_FOR_PEER || isClosed(fromSession)) {
        completeWhenFlushed = true;
        flush();
      }
    }

    /** Whether reading stopped for want of bytes (not because the session or the client's side must go first). */
    private boolean readFrames() {
      while (collected == null && control.isEmpty() && !unreadable && !unread.isEmpty()) {
        if (payloadLeft < 0) {
          if (!readHeader()) break;
          if (payloadLeft == 0) onFramePayload(ByteString.emptyByteString(), true);
        } else {
          int take = (int) Math.min(payloadLeft, unread.length());
          ByteString payload = unread.take(take);
          unread = unread.drop(take);
          payloadLeft -= take;
          onFramePayload(payload, payloadLeft == 0);
        }
        if (payloadLeft == 0) payloadLeft = -1;
      }
      return collected == null && (unreadable || unread.isEmpty() || (payloadLeft < 0 && control.isEmpty()));
    }

    /** Reads a frame's header if all of it is there. */
    private boolean readHeader() {
      if (unread.length() < 2) return false;
      int b0 = unread.apply(0) & 0xFF;
      int b1 = unread.apply(1) & 0xFF;
      int length7 = b1 & 0x7F;
      boolean masked = (b1 & 0x80) != 0;
      int headerLength = 2 + (length7 == 126 ? 2 : length7 == 127 ? 8 : 0) + (masked ? 4 : 0);
      if (unread.length() < headerLength) return false;
      long length = length7;
      int at = 2;
      if (length7 == 126) {
        length = ((unread.apply(2) & 0xFF) << 8) | (unread.apply(3) & 0xFF);
        at = 4;
      } else if (length7 == 127) {
        length = 0;
        for (int i = 2; i < 10; i++) length = (length << 8) | (unread.apply(i) & 0xFF);
        at = 10;
      }
      int mask = 0;
      for (int i = 0; masked && i < 4; i++) mask = (mask << 8) | (unread.apply(at + i) & 0xFF);
      unread = unread.drop(headerLength);
      if (length < 0) {
        // A 64-bit length with its high bit set: nothing after it can be read (1002).
        unreadable = true;
        unread = ByteString.emptyByteString();
        protocolError();
        return false;
      }
      payloadLeft = length;
      onFrameStart(b0, masked, mask, length);
      return true;
    }

    private void onFrameStart(int b0, boolean masked, int mask, long length) {
      frameOpcode = b0 & 0x0F;
      frameFin = (b0 & 0x80) != 0;
      frameMask = mask;
      maskOffset = 0;
      boolean control = (frameOpcode & 0x08) != 0;
      if (failed || closing == Closing.PEER_CLOSED) {
        // Only a close frame still matters (after ours went out); its payload is not needed.
        if (frameOpcode == CLOSE && closing == Closing.WAITING_FOR_PEER) peerClosedWhileClosing();
        frameOpcode = NONE;
      } else if (!masked) {
        protocolError(); // RFC 6455 5.1: a client masks every frame
      } else if ((b0 & 0x70) != 0) {
        protocolError(); // a reserved bit, and no extension was negotiated
      } else if (control) {
        if (length > 125 || !frameFin) protocolError();
        else controlData = ByteString.emptyByteString();
      } else if (frameOpcode == CONTINUATION ? messageOpcode == NONE : (frameOpcode != TEXT && frameOpcode != BINARY) || messageOpcode != NONE) {
        protocolError(); // a continuation with no message, a new message inside one, or an unknown opcode
      } else {
        if (frameOpcode != CONTINUATION) startMessage(frameOpcode);
        lastFromClient = lastHeard;
      }
    }

    private void onFramePayload(ByteString masked, boolean lastOfFrame) {
      if (frameOpcode == NONE) return; // skipped
      ByteString data = unmask(masked);
      if (frameOpcode >= CLOSE) {
        controlData = controlData.concat(data);
        if (lastOfFrame) onControl(frameOpcode, controlData);
      } else {
        onPayload(data, lastOfFrame);
      }
    }

    private ByteString unmask(ByteString masked) {
      byte[] bytes = masked.toArray();
      for (int i = 0; i < bytes.length; i++) {
        bytes[i] ^= (byte) (frameMask >>> (8 * (3 - (maskOffset & 3))));
        maskOffset++;
      }
      return ByteString.fromArrayUnsafe(bytes);
    }

    private void startMessage(int opcode) {
      messageOpcode = opcode;
      if (opcode == TEXT) decoder = Utf8Decoder.create();
    }

    private void onPayload(ByteString data, boolean lastOfFrame) {
      boolean lastOfMessage = frameFin && lastOfFrame;
      if (messageOpcode == TEXT) {
        Try<String> decoded = decoder.decode(data, lastOfMessage);
        if (decoded.isFailure()) {
          closeWithCode(Protocol.CloseCodes$.MODULE$.InconsistentData(), ""); // RFC 6455 8.1: 1007
          return;
        }
        bytes += data.length();
        if (bytes <= settings.maxBytes()) {
          if (collecting == null) collecting = new StringBuilder((int) Math.min(data.length(), settings.maxBytes()));
          collecting.append(decoded.get());
        }
      }
      if (lastOfMessage) {
        IncomingFrame message = messageOpcode == BINARY ? new IncomingFrame.Binary()
            : bytes > settings.maxBytes() ? new IncomingFrame.Oversized()
            : new IncomingFrame.Text(collecting == null ? "" : collecting.toString());
        messageOpcode = NONE;
        decoder = null;
        collecting = null;
        bytes = 0;
        if (!isClosed(toSession)) {
          if (isAvailable(toSession)) push(toSession, message);
          else collected = message;
        }
      }
    }

    private void onControl(int opcode, ByteString data) {
      controlData = null;
      frameOpcode = NONE;
      if (opcode == PING) {
        lastFromClient = lastHeard;
        if (closing != Closing.NO) return; // no frame after our close frame
        control.add(frame(PONG, data));
        flush();
      } else if (opcode == PONG) {
        // The answer to our keep-alive: life for the idle watch (lastHeard), nothing else.
      } else if (opcode == CLOSE) {
        onPeerClose(FrameHandler.PeerClosed$.MODULE$.parse(data));
      } else {
        closeWithCode(Protocol.CloseCodes$.MODULE$.ProtocolError(), "Unsupported opcode");
      }
    }

    /** The client's close frame while we were open: the session hears it; our answer follows when it ends. */
    private void onPeerClose(FrameHandler.PeerClosed closed) {
      ByteString answer = closeFrame(closed.code().isEmpty() ? Protocol.CloseCodes$.MODULE$.Regular() : (Integer) closed.code().get(), closed.reason());
      if (closing == Closing.WAITING_FOR_PEER) {
        peerClosedWhileClosing();
        return;
      }
      if (isError(closed.code())) {
        completeSession(new PeerClosedConnectionException((Integer) closed.code().get(), closed.reason()));
        control.add(answer);
        completeWhenFlushed = true;
        flush();
        return;
      }
      completeSession(messageOpcode != NONE ? new ProtocolException("Truncated message, peer closed connection in the middle of message.") : null);
      closing = Closing.PEER_CLOSED;
      peerCloseAnswer = answer;
      if (isClosed(fromSession)) answerPeerClose();
    }

    /** The server closes the TCP connection once both close frames have been sent (RFC 6455 7.1.1). */
    private void peerClosedWhileClosing() {
      completeWhenFlushed = true;
      flush();
    }

    private void protocolError() {
      closeWithCode(Protocol.CloseCodes$.MODULE$.ProtocolError(), "");
    }

    /** We fail the connection: our close frame now, the client's frames ignored but its close frame. */
    private void closeWithCode(int code, String reason) {
      settings.log().info("closing a connection: websocket close code {} {}", code, reason);
      failed = true;
      text = null; // our close frame goes first, the session's texts are dropped
      frameOpcode = NONE;
      messageOpcode = NONE;
      decoder = null;
      collecting = null;
      completeSession(Protocol.CloseCodes$.MODULE$.isError(code) ? new ProtocolException("Closing connection with error code " + code) : null);
      sendClose(closeFrame(code, reason));
    }

    private void completeSession(Throwable failure) {
      collected = null;
      if (isClosed(toSession)) return;
      if (failure == null) complete(toSession);
      else fail(toSession, failure);
    }

    // ---- from the session

    private void sessionEnded(int code, String reason) {
      if (closing == Closing.PEER_CLOSED) {
        answerPeerClose();
      } else if (closing == Closing.NO && !completeWhenFlushed) {
        if (isClosed(fromClient)) {
          completeWhenFlushed = true;
          flush();
        } else {
          sendClose(closeFrame(code, reason));
        }
      } else {
        flush();
      }
    }

    private void answerPeerClose() {
      closeFrame = peerCloseAnswer;
      peerCloseAnswer = null;
      completeWhenFlushed = true;
      flush();
    }

    /** Our close frame goes after the session's last text; the client has the close timeout to answer. */
    private void sendClose(ByteString close) {
      closing = Closing.WAITING_FOR_PEER;
      closeFrame = close;
      cancelTimer(KEEP_ALIVE_TIMER);
      scheduleOnce(CLOSE_TIMER, settings.closeTimeout());
      flush();
    }

    // ---- to the client

    private void flush() {
      if (isAvailable(toClient)) {
        ByteString next = control.poll();
        if (next == null && text != null) {
          next = text;
          text = null;
        }
        if (next == null && closeFrame != null) {
          next = closeFrame; // after the session's last text
          closeFrame = null;
        }
        if (next != null) {
          if (settings.outboundCounts()) lastHeard = System.nanoTime();
          push(toClient, next);
        }
      }
      boolean drained = control.isEmpty() && text == null && closeFrame == null;
      if (completeWhenFlushed && drained) {
        completeStage();
        return;
      }
      pullSession();
      read();
    }

    private void pullSession() {
      if (text == null && !hasBeenPulled(fromSession) && !isClosed(fromSession)) pull(fromSession);
    }

    /** Reads on while no whole message waits for the session and nothing waits for the client's side. */
    private void pullClient() {
      if (collected == null && control.isEmpty() && !hasBeenPulled(fromClient) && !isClosed(fromClient)) pull(fromClient);
    }

    // ---- timers and the idle watch

    @Override
    public void onTimer(Object key) {
      if (CLOSE_TIMER.equals(key)) {
        // The client never answered our close frame.
        completeStage();
      } else if (KEEP_ALIVE_TIMER.equals(key) && closing == Closing.NO) {
        long quietNanos = System.nanoTime() - lastFromClient;
        long keepAliveNanos = settings.keepAlive().toNanos();
        if (quietNanos >= keepAliveNanos) {
          control.add(settings.keepAliveWithPong() ? EMPTY_PONG_FRAME : PING_FRAME);
          lastFromClient = System.nanoTime();
          scheduleOnce(KEEP_ALIVE_TIMER, settings.keepAlive());
          flush();
        } else {
          scheduleOnce(KEEP_ALIVE_TIMER, Duration.ofNanos(keepAliveNanos - quietNanos));
        }
      }
    }

    @Override
    public long lastHeardNanos() {
      return lastHeard;
    }

    @Override
    public void overdue() {
      onOverdue.invoke(System.nanoTime());
    }

    /** On the stream's thread: still silent, the connection ends as if the client had gone (the session hears ClientGone). */
    private void recheckIdle(Long now) {
      if (watching && settings.idle().silentSince(lastHeard, now)) {
        unwatch();
        settings.log().info("closing a connection: nothing heard from the client for {} ms", (now - lastHeard) / 1_000_000);
        completeStage();
      }
    }

    private void unwatch() {
      if (watching) {
        watching = false;
        settings.idle().unwatch(this);
      }
    }
  }
}
