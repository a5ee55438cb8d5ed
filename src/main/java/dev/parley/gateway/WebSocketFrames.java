package dev.parley.gateway;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.List;
import org.apache.pekko.NotUsed;
import org.apache.pekko.event.LoggingAdapter;
import org.apache.pekko.http.impl.engine.ws.FrameEvent;
import org.apache.pekko.http.impl.engine.ws.FrameEvent$;
import org.apache.pekko.http.impl.engine.ws.FrameHandler;
import org.apache.pekko.http.impl.engine.ws.Protocol;
import org.apache.pekko.http.impl.engine.ws.ProtocolException;
import org.apache.pekko.http.impl.engine.server.UpgradeToOtherProtocolResponseHeader;
import org.apache.pekko.http.impl.engine.ws.Handshake$;
import org.apache.pekko.http.impl.engine.ws.WebSocket;
import org.apache.pekko.http.impl.engine.ws.WebSocket$;
import org.apache.pekko.http.javadsl.model.HttpHeader;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.scaladsl.model.headers.Sec$minusWebSocket$minusAccept$;
import org.apache.pekko.http.scaladsl.model.headers.Sec$minusWebSocket$minusKey;
import org.apache.pekko.http.scaladsl.settings.WebSocketSettings;
import org.apache.pekko.stream.Attributes;
import org.apache.pekko.stream.BidiShape;
import org.apache.pekko.stream.Inlet;
import org.apache.pekko.stream.Outlet;
import org.apache.pekko.stream.javadsl.BidiFlow;
import org.apache.pekko.stream.javadsl.Flow;
import org.apache.pekko.stream.stage.AbstractInHandler;
import org.apache.pekko.stream.stage.AbstractOutHandler;
import org.apache.pekko.stream.stage.GraphStage;
import org.apache.pekko.stream.stage.GraphStageLogic;
import org.apache.pekko.stream.stage.TimerGraphStageLogic;
import org.apache.pekko.util.ByteString;
import scala.Option;
import scala.concurrent.duration.FiniteDuration;

/**
 * The websocket protocol below a {@link Session}: frames in, whole size-checked {@link IncomingFrame}s
 * out; JSON texts in, one text frame each out. It replaces Pekko HTTP's message API
 * ({@code WebSocket.messageAPI} in pekko-http 1.3.0), which costs every connection a substream
 * per incoming message ({@code splitAfter}, {@code prefixAndTail}, {@code concatSubstreams}), one
 * per outgoing message ({@code flatMapConcat}), and a {@code Source.tick} every 3 s for as long as
 * the connection lives, idle or not. Here a message is collected in a {@code StringBuilder} up to
 * {@code maxBytes}, a text is rendered as one frame, and the close timeout ticks only once the
 * connection is closing.
 *
 * <p>It uses Pekko HTTP's internal frame-level API (the upgrade response of
 * {@code Handshake.Server.buildResponse} with its {@code UpgradeToOtherProtocolResponseHeader} and
 * {@code WebSocket.framing}, the {@code FrameHandler} events,
 * {@code WebSocket.masking/frameHandling/periodicKeepAlive}); that
 * API is all in this class, and {@code WebSocketFramesTest} pins what it relies on, so an upgrade
 * that changes it fails a test. Control frames (ping/pong, close handshake, protocol errors, UTF-8
 * validation, masking) stay Pekko's.
 */
final class WebSocketFrames extends GraphStage<BidiShape<FrameHandler.Output, IncomingFrame, String, Object>> {

  /** The layers of Pekko's websocket stack this class keeps; built once per route, shared by every connection. */
  @SuppressWarnings({"unchecked", "rawtypes"})
  static BidiFlow<FrameEvent, IncomingFrame, String, FrameEvent, NotUsed> stack(
      WebSocketSettings settings, int maxBytes, Duration closeTimeout, LoggingAdapter log, IdleTimeout<Object, Object> idleTimeout) {
    FiniteDuration timeout = FiniteDuration.fromNanos(closeTimeout.toNanos());
    org.apache.pekko.stream.scaladsl.BidiFlow lower =
        org.apache.pekko.stream.scaladsl.BidiFlow.fromGraph(idleTimeout)
            .atop((org.apache.pekko.stream.Graph) WebSocket$.MODULE$.masking(true, settings.randomFactory()))
            .atop((org.apache.pekko.stream.Graph) WebSocket$.MODULE$.frameHandling(true, timeout, log))
            .atop((org.apache.pekko.stream.Graph) WebSocket$.MODULE$.periodicKeepAlive(settings))
            .atop(new WebSocketFrames(maxBytes, closeTimeout));
    return (BidiFlow) BidiFlow.fromGraph(lower);
  }

  /**
   * The switching-protocols responses of one route, whose connections all run {@code handler}
   * ({@code stack} joined to a session's stage). Pekko HTTP's {@code handleFrames} joins its framing
   * layer to the handler anew for every connection ({@code Handshake.Server.buildResponse}), and the
   * finished HTTP/1 response renderer keeps that graph for the connection's life (~2 KB, and ~4 % of
   * the CPU of a connect storm; benchmarks.md, issue 19): here the join is built once and a
   * connection adds only its attributes. The response is {@code buildResponse}'s, header for header.
   */
  static final class Upgrades {

    private final org.apache.pekko.stream.scaladsl.Flow<ByteString, ByteString, Object> framed;

    @SuppressWarnings({"unchecked", "rawtypes"})
    Upgrades(Flow<FrameEvent, FrameEvent, NotUsed> handler) {
      this.framed = (org.apache.pekko.stream.scaladsl.Flow) WebSocket$.MODULE$.framing().join((org.apache.pekko.stream.Graph) handler);
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
                  UpgradeToOtherProtocolResponseHeader.apply(framed.addAttributes(attributes))));
    }
  }

  /** RFC 6455's opcode 1, a text frame. */
  private static final Protocol.Opcode TEXT = Protocol.Opcode$.MODULE$.forCode((byte) 1);

  private final Inlet<FrameHandler.Output> fromClient = Inlet.create("WebSocketFrames.fromClient");
  private final Outlet<IncomingFrame> toSession = Outlet.create("WebSocketFrames.toSession");
  private final Inlet<String> fromSession = Inlet.create("WebSocketFrames.fromSession");
  private final Outlet<Object> toClient = Outlet.create("WebSocketFrames.toClient");
  private final BidiShape<FrameHandler.Output, IncomingFrame, String, Object> shape =
      new BidiShape<>(fromClient, toSession, fromSession, toClient);
  private final int maxBytes;
  private final Duration closeTimeout;

  WebSocketFrames(int maxBytes, Duration closeTimeout) {
    this.maxBytes = maxBytes;
    this.closeTimeout = closeTimeout;
  }

  @Override
  public BidiShape<FrameHandler.Output, IncomingFrame, String, Object> shape() {
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

  private final class Logic extends TimerGraphStageLogic {
    /**
     * Pekko's answers to the client's control frames (pong, close): reading waits while one is
     * queued, so a client cannot pile them up behind a blocked connection.
     */
    private final ArrayDeque<Object> control = new ArrayDeque<>(1);
    /**
     * The session's side, in order: at most one text (the next is pulled once it is gone), then its
     * completion and close ticks. Reading does not wait for these: a client whose connection is
     * blocked can still send requests, so its session's queue fills and the slow-consumer rule applies.
     */
    private final ArrayDeque<Object> fromSessionQueue = new ArrayDeque<>(2);
    /** The message being collected; null between messages. */
    private StringBuilder text;
    private long bytes;
    private boolean binary;
    private boolean inMessage;
    /** A whole message the session has not asked for yet. */
    private IncomingFrame collected;
    private boolean closeTicking;

    Logic() {
      super(shape);
      setHandler(fromClient, new AbstractInHandler() {
        @Override
        public void onPush() {
          onClientEvent(grab(fromClient));
        }

        @Override
        public void onUpstreamFinish() {
          complete(toSession);
          if (isClosed(fromSession) && control.isEmpty() && fromSessionQueue.isEmpty()) completeStage();
        }
      });
      setHandler(toSession, new AbstractOutHandler() {
        @Override
        public void onPull() {
          if (collected != null) {
            push(toSession, collected);
            collected = null;
          }
          pullClient();
        }

        @Override
        public void onDownstreamFinish(Throwable cause) {
          // The session is done; keep reading so the close handshake (Pekko's) can finish.
          pullClient();
        }
      });
      setHandler(fromSession, new AbstractInHandler() {
        @Override
        public void onPush() {
          fromSessionQueue.add(FrameEvent$.MODULE$.fullFrame(
              TEXT, Option.empty(), ByteString.fromString(grab(fromSession), StandardCharsets.UTF_8), true, false, false, false));
          flushToClient();
        }

        @Override
        public void onUpstreamFinish() {
          fromSessionQueue.add(FrameHandler.UserHandlerCompleted$.MODULE$);
          startCloseTicks();
          flushToClient();
        }

        @Override
        public void onUpstreamFailure(Throwable ex) {
          fromSessionQueue.add(new FrameHandler.UserHandlerErredOut(ex));
          startCloseTicks();
          flushToClient();
        }
      });
      setHandler(toClient, new AbstractOutHandler() {
        @Override
        public void onPull() {
          flushToClient();
        }
      });
    }

    @Override
    public void preStart() {
      pull(fromClient);
    }

    private void onClientEvent(FrameHandler.Output event) {
      if (event instanceof FrameHandler.TextMessagePart part) {
        if (text == null) text = new StringBuilder(Math.min(part.data().length(), maxBytes));
        inMessage = !part.last();
        bytes += Utf8.length(part.data());
        if (bytes <= maxBytes) text.append(part.data());
      } else if (event instanceof FrameHandler.BinaryMessagePart part) {
        binary = true;
        inMessage = !part.last();
      } else if (event == FrameHandler.MessageEnd$.MODULE$) {
        collected = binary ? new IncomingFrame.Binary()
            : bytes > maxBytes ? new IncomingFrame.Oversized()
            : new IncomingFrame.Text(text == null ? "" : text.toString());
        text = null;
        bytes = 0;
        binary = false;
        if (isClosed(toSession)) collected = null;
        else if (isAvailable(toSession)) {
          push(toSession, collected);
          collected = null;
        }
      } else if (event instanceof FrameHandler.BypassEvent) {
        control.add(event);
        if (event instanceof FrameHandler.ActivelyCloseWithCode close) {
          // Pekko closes (a protocol error): it waits for the client's close frame, ticks bound the wait.
          startCloseTicks();
          if (close.code().exists(code -> Protocol.CloseCodes$.MODULE$.isError((Integer) code))) {
            fail(toSession, new ProtocolException("Closing connection with error code " + close.code()));
          }
        } else if (event instanceof FrameHandler.PeerClosed closed) {
          Option<Object> code = closed.code();
          if (code.exists(c -> Protocol.CloseCodes$.MODULE$.isError((Integer) c))) {
            fail(toSession, new org.apache.pekko.http.scaladsl.model.ws.PeerClosedConnectionException((Integer) code.get(), closed.reason()));
          } else if (inMessage) {
            fail(toSession, new ProtocolException("Truncated message, peer closed connection in the middle of message."));
          } else {
            complete(toSession);
          }
        }
        flushToClient();
      }
      pullClient();
    }

    /** Reads on while no whole message waits for the session and nothing waits for the client's side. */
    private void pullClient() {
      if (collected == null && control.isEmpty() && !hasBeenPulled(fromClient) && !isClosed(fromClient)) {
        pull(fromClient);
      }
    }

    private void flushToClient() {
      if (isAvailable(toClient)) {
        Object next = control.isEmpty() ? fromSessionQueue.poll() : control.poll();
        if (next != null) push(toClient, next);
      }
      if (control.isEmpty() && fromSessionQueue.isEmpty() && isClosed(fromSession) && isClosed(fromClient)) {
        completeStage();
        return;
      }
      if (fromSessionQueue.isEmpty() && !hasBeenPulled(fromSession) && !isClosed(fromSession)) pull(fromSession);
      pullClient();
    }

    /** Pekko's close handshake needs a tick to notice an overdue peer: only from the moment the connection closes. */
    private void startCloseTicks() {
      if (closeTicking) return;
      closeTicking = true;
      scheduleWithFixedDelay("close", closeTimeout, closeTimeout);
    }

    @Override
    public void onTimer(Object key) {
      if (fromSessionQueue.peekLast() != WebSocket.Tick$.MODULE$) {
        fromSessionQueue.add(WebSocket.Tick$.MODULE$);
      }
      flushToClient();
    }
  }
}
