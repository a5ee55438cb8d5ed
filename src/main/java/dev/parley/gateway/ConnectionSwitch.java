package dev.parley.gateway;

import java.net.InetSocketAddress;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.Done;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.http.javadsl.model.AttributeKey;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.scaladsl.Http;
import org.apache.pekko.http.scaladsl.settings.ServerSettings;
import org.apache.pekko.japi.Pair;
import org.apache.pekko.stream.Attributes;
import org.apache.pekko.stream.FlowShape;
import org.apache.pekko.stream.Inlet;
import org.apache.pekko.stream.Outlet;
import org.apache.pekko.stream.javadsl.BidiFlow;
import org.apache.pekko.stream.javadsl.Flow;
import org.apache.pekko.stream.javadsl.Keep;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.TLSPlacebo;
import org.apache.pekko.stream.javadsl.Tcp;
import org.apache.pekko.stream.stage.AbstractInHandler;
import org.apache.pekko.stream.stage.AbstractOutHandler;
import org.apache.pekko.stream.stage.AsyncCallback;
import org.apache.pekko.stream.stage.GraphStageLogic;
import org.apache.pekko.stream.stage.GraphStageWithMaterializedValue;
import org.apache.pekko.util.ByteString;
import scala.Tuple2;

/**
 * A plain (non-TLS) connection's bytes: Pekko HTTP's server layers while the connection speaks
 * HTTP, and, once a request is upgraded to a websocket, the websocket's own stages alone. Pekko
 * HTTP runs an upgraded connection's handler inside its server layers (pekko-http 1.3.0
 * {@code HttpServerBluePrint.ProtocolSwitchStage}), which therefore stay materialized for the
 * connection's life: 27 of a websocket's 30 stage logics, finished or not, ~0.35 KB each
 * (benchmarks.md, issue 19). Here the server layers run as a substream of this stage; the
 * upgrade's response carries a {@link Handover} instead of the websocket's flow, and when Pekko
 * HTTP's switch starts it (right after the 101's bytes went out) this stage ends the HTTP
 * substream, whose layers are then released, and runs the websocket's flow in a substream of its
 * own. An upgraded connection keeps the TCP stage, this stage and the websocket's substream.
 *
 * <p>It is also the bind: {@link #bind} replaces {@code Http.newServerAt(...).bindFlow}, whose three
 * {@code watchTermination} stages and {@code GracefulTerminatorStage} per connection served
 * {@code max-connections} and {@code ServerBinding.terminate} (Parley drains its own connections and
 * never calls it). {@code pekko.http.server.max-connections} is kept: this stage's end is each
 * connection's end. The server layers are Pekko HTTP's public {@code Http.serverLayer} with the
 * plain-text {@code TLSPlacebo}, as {@code bindFlow} builds them; TLS connections keep
 * {@code bindFlow}. {@code ConnectionSwitchIT} pins what this relies on.
 */
public final class ConnectionSwitch extends GraphStageWithMaterializedValue<FlowShape<ByteString, ByteString>, CompletionStage<Done>> {

  /** How a request learns the connection it came on (set by {@link RoutedRequests}). */
  static final AttributeKey<Handle> HANDLE = AttributeKey.create("parley-connection-switch", Handle.class);

  /** One connection's switch, handed to its HTTP substream as an attribute. */
  static final class Handle implements Attributes.Attribute {
    private final AsyncCallback<Flow<ByteString, ByteString, ?>> switchTo;

    private Handle(AsyncCallback<Flow<ByteString, ByteString, ?>> switchTo) {
      this.switchTo = switchTo;
    }

    /**
     * The flow to put in the upgrade response's {@code UpgradeToOtherProtocolResponseHeader}: when
     * Pekko HTTP starts it, the connection continues with {@code websocket} outside the HTTP layers.
     */
    Flow<ByteString, ByteString, NotUsed> handover(Flow<ByteString, ByteString, ?> websocket) {
      return Flow.fromGraph(new Handover(this, websocket));
    }
  }

  /** What {@link #bind} returns: the address bound and how to stop accepting. */
  public record Binding(InetSocketAddress localAddress, java.util.function.Supplier<CompletionStage<Done>> unbind) {}

  private final Inlet<ByteString> fromClient = Inlet.create("ConnectionSwitch.fromClient");
  private final Outlet<ByteString> toClient = Outlet.create("ConnectionSwitch.toClient");
  private final FlowShape<ByteString, ByteString> shape = FlowShape.of(fromClient, toClient);
  private final Flow<ByteString, ByteString, ?> http;

  /** {@code http}: the server layers joined with the request handler, shared by every connection. */
  ConnectionSwitch(Flow<ByteString, ByteString, ?> http) {
    this.http = http;
  }

  /**
   * Binds {@code host:port} and serves every connection with Pekko HTTP's server layers and
   * {@code handler} (built once, shared), at most {@code max-connections} at a time; the bytes go
   * through Parley's own selector ({@link PlainTcp}), or through Pekko IO's TCP when
   * {@code pekkoIoTcp}.
   */
  public static CompletionStage<Binding> bind(ActorSystem<?> system, String host, int port, boolean pekkoIoTcp, Flow<HttpRequest, HttpResponse, ?> handler) {
    ServerSettings settings = (ServerSettings) org.apache.pekko.http.javadsl.settings.ServerSettings.create(system.classicSystem());
    org.apache.pekko.http.scaladsl.HttpExt pekkoHttp = (org.apache.pekko.http.scaladsl.HttpExt) Http.get(system.classicSystem());
    @SuppressWarnings({"unchecked", "rawtypes"})
    BidiFlow<HttpResponse, ByteString, ByteString, HttpRequest, NotUsed> layers =
        (BidiFlow) BidiFlow.fromGraph(pekkoHttp.serverLayer(settings, scala.Option.empty(), system.classicSystem().log(), false))
            .atop((BidiFlow) TLSPlacebo.getInstance())
            .mapMaterializedValue(m -> NotUsed.getInstance());
    Flow<ByteString, ByteString, ?> http = handler.join(layers);
    Flow<ByteString, ByteString, CompletionStage<Done>> connection = Flow.fromGraph(new ConnectionSwitch(http));
    if (!pekkoIoTcp) {
      return PlainTcp.bind(system, host, port, settings.backlog(), settings.maxConnections(), lingerTimeout(settings), connection)
          .thenApply(bound -> new Binding(bound.localAddress(), bound.unbind()));
    }
    Pair<CompletionStage<Tcp.ServerBinding>, ?> bound =
        Tcp.get(system)
            .bind(host, port, settings.backlog(), scala.jdk.javaapi.CollectionConverters.asJava(settings.socketOptions()), false, Optional.empty())
            .mapAsyncUnordered(
                settings.maxConnections(),
                incoming ->
                    incoming.flow().joinMat(connection, Keep.right()).run(system)
                        // A connection's failure is its own: it must not fail the bind.
                        .exceptionally(failure -> Done.getInstance()))
            .toMat(Sink.ignore(), Keep.both())
            .run(system);
    return bound.first().thenApply(b -> new Binding(b.localAddress(), () -> b.unbind().thenApply(unbound -> Done.getInstance())));
  }

  @Override
  public FlowShape<ByteString, ByteString> shape() {
    return shape;
  }

  @Override
  public Attributes initialAttributes() {
    return Attributes.name("ConnectionSwitch");
  }

  @Override
  public Tuple2<GraphStageLogic, CompletionStage<Done>> createLogicAndMaterializedValue(Attributes inheritedAttributes) {
    CompletableFuture<Done> ended = new CompletableFuture<>();
    return new Tuple2<>(new Logic(ended), ended);
  }

  private final class Logic extends GraphStageLogic {
    private final CompletableFuture<Done> ended;
    /** The substream the client's bytes go to: the HTTP layers, then the websocket. */
    private SubSourceOutlet<ByteString> toInner;
    /** The substream the client's bytes come from. */
    private SubSinkInlet<ByteString> fromInner;
    /** Client bytes that arrived while the substream had not asked (only right after the switch). */
    private ByteString held;
    private boolean switched;

    Logic(CompletableFuture<Done> ended) {
      super(shape);
      this.ended = ended;
      setHandler(fromClient, new AbstractInHandler() {
        @Override
        public void onPush() {
          ByteString bytes = grab(fromClient);
          if (toInner.isAvailable()) toInner.push(bytes);
          else held = bytes;
        }

        @Override
        public void onUpstreamFinish() {
          if (held == null) toInner.complete();
        }

        @Override
        public void onUpstreamFailure(Throwable ex) {
          toInner.fail(ex);
        }
      });
      setHandler(toClient, new AbstractOutHandler() {
        @Override
        public void onPull() {
          if (!fromInner.hasBeenPulled() && !fromInner.isClosed()) fromInner.pull();
        }

        @Override
        public void onDownstreamFinish(Throwable cause) {
          fromInner.cancel();
          toInner.complete();
          completeStage();
        }
      });
    }

    @Override
    public void preStart() {
      AsyncCallback<Flow<ByteString, ByteString, ?>> switchTo = createAsyncCallback(this::switchTo);
      run(http.addAttributes(Attributes.apply(new Handle(switchTo))));
    }

    /** Runs {@code inner} between the client and this stage. */
    private void run(Flow<ByteString, ByteString, ?> inner) {
      SubSourceOutlet<ByteString> out = new SubSourceOutlet<>("ConnectionSwitch.toInner");
      SubSinkInlet<ByteString> in = new SubSinkInlet<>("ConnectionSwitch.fromInner");
      out.setHandler(new AbstractOutHandler() {
        @Override
        public void onPull() {
          if (held != null) {
            ByteString bytes = held;
            held = null;
            out.push(bytes);
            if (isClosed(fromClient)) out.complete();
          } else if (!hasBeenPulled(fromClient) && !isClosed(fromClient)) {
            pull(fromClient);
          }
        }

        @Override
        public void onDownstreamFinish(Throwable cause) {
          if (out == toInner) cancel(fromClient, cause);
        }
      });
      in.setHandler(new AbstractInHandler() {
        @Override
        public void onPush() {
          push(toClient, in.grab());
        }

        @Override
        public void onUpstreamFinish() {
          if (in == fromInner) complete(toClient);
        }

        @Override
        public void onUpstreamFailure(Throwable ex) {
          if (in == fromInner) fail(toClient, ex);
        }
      });
      toInner = out;
      fromInner = in;
      inner.runWith(out.source(), in.sink(), subFusingMaterializer());
    }

    /**
     * Pekko HTTP sent the 101 (its bytes went out before this callback: both came through this
     * actor's queue in order) and started the {@link Handover}: the HTTP layers end here.
     */
    private void switchTo(Flow<ByteString, ByteString, ?> websocket) {
      if (switched || isClosed(toClient)) return;
      switched = true;
      SubSourceOutlet<ByteString> httpIn = toInner;
      SubSinkInlet<ByteString> httpOut = fromInner;
      run(websocket);
      httpIn.complete();
      httpOut.cancel();
      if (isAvailable(toClient)) fromInner.pull();
    }

    @Override
    public void postStop() {
      ended.complete(Done.getInstance());
    }
  }

  /**
   * What Pekko HTTP runs as the upgraded connection's handler: it only tells the connection's
   * switch to go on with {@code websocket}, and ends with the HTTP layers.
   */
  private static final class Handover extends org.apache.pekko.stream.stage.GraphStage<FlowShape<ByteString, ByteString>> {
    private final Inlet<ByteString> in = Inlet.create("Handover.in");
    private final Outlet<ByteString> out = Outlet.create("Handover.out");
    private final FlowShape<ByteString, ByteString> shape = FlowShape.of(in, out);
    private final Handle handle;
    private final Flow<ByteString, ByteString, ?> websocket;

    Handover(Handle handle, Flow<ByteString, ByteString, ?> websocket) {
      this.handle = handle;
      this.websocket = websocket;
    }

    @Override
    public FlowShape<ByteString, ByteString> shape() {
      return shape;
    }

    @Override
    public GraphStageLogic createLogic(Attributes inheritedAttributes) {
      return new GraphStageLogic(shape) {
        {
          setHandler(in, new AbstractInHandler() {
            @Override
            public void onPush() {
              // Never pulled: the client's bytes go to the websocket's substream.
            }
          });
          setHandler(out, new AbstractOutHandler() {
            @Override
            public void onPull() {}
          });
        }

        @Override
        public void preStart() {
          handle.switchTo.invoke(websocket);
        }
      };
    }
  }

  /**
   * {@code pekko.http.server.linger-timeout}: how long a connection the server is done with waits for
   * a client that does not read what is still to be written (empty: {@code infinite}, without end).
   */
  static Optional<java.time.Duration> lingerTimeout(ServerSettings settings) {
    scala.concurrent.duration.Duration linger = settings.timeouts().lingerTimeout();
    return linger.isFinite() ? Optional.of(java.time.Duration.ofNanos(linger.toNanos())) : Optional.empty();
  }
}
