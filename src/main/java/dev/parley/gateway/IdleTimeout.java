package dev.parley.gateway;

import org.apache.pekko.NotUsed;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
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

/**
 * Passes a connection's traffic through both ways and closes the connection once it has been
 * silent for the idle timeout ({@link IdleConnections}: one sweep per node, no timer per
 * connection), around the routes of plain HTTP connections ({@link #aroundRoutes}): closed when no
 * request has been in progress for the timeout. A connection upgraded to a websocket ends its
 * request stream, so it stops being watched here; its {@link WebSocketFrames} stage watches it from
 * then on.
 *
 * @param <I> what comes from the client
 * @param <O> what goes to it
 */
final class IdleTimeout<I, O> extends GraphStage<BidiShape<I, I, O, O>> {

  private final Inlet<I> fromNet = Inlet.create("IdleTimeout.fromNet");
  private final Outlet<I> toInner = Outlet.create("IdleTimeout.toInner");
  private final Inlet<O> fromInner = Inlet.create("IdleTimeout.fromInner");
  private final Outlet<O> toNet = Outlet.create("IdleTimeout.toNet");
  private final BidiShape<I, I, O, O> shape = new BidiShape<>(fromNet, toInner, fromInner, toNet);
  private final IdleConnections connections;
  private final boolean outboundCounts;
  private final boolean requestsAndResponses;

  private IdleTimeout(IdleConnections connections, boolean outboundCounts, boolean requestsAndResponses) {
    this.connections = connections;
    this.outboundCounts = outboundCounts;
    this.requestsAndResponses = requestsAndResponses;
  }

  /** {@code routes} (one response per request, in order, e.g. {@code Route.flow}) with the idle timeout around them. */
  static Flow<HttpRequest, HttpResponse, NotUsed> aroundRoutes(
      Flow<HttpRequest, HttpResponse, NotUsed> routes, IdleConnections connections) {
    return BidiFlow.fromGraph(new IdleTimeout<HttpRequest, HttpResponse>(connections, true, true)).join(routes);
  }

  @Override
  public BidiShape<I, I, O, O> shape() {
    return shape;
  }

  @Override
  public Attributes initialAttributes() {
    return Attributes.name("IdleTimeout");
  }

  @Override
  public GraphStageLogic createLogic(Attributes inheritedAttributes) {
    return new Logic();
  }

  private final class Logic extends IdleConnections.WatchedLogic {
    /** HTTP: requests passed on whose responses have not gone out yet; silence closes only at 0. */
    private int inProgress;

    Logic() {
      super(shape, connections);
      setHandler(fromNet, new AbstractInHandler() {
        @Override
        public void onPush() {
          heard();
          if (requestsAndResponses) inProgress++;
          push(toInner, grab(fromNet));
        }

        @Override
        public void onUpstreamFinish() {
          // Nothing more will come: the client closed, or (HTTP) the connection now speaks websocket.
          unwatch();
          complete(toInner);
        }
      });
      setHandler(toInner, new AbstractOutHandler() {
        @Override
        public void onPull() {
          pull(fromNet);
        }

        @Override
        public void onDownstreamFinish(Throwable cause) {
          cancel(fromNet, cause);
        }
      });
      setHandler(fromInner, new AbstractInHandler() {
        @Override
        public void onPush() {
          if (outboundCounts) heard();
          if (requestsAndResponses) inProgress--;
          push(toNet, grab(fromInner));
        }

        @Override
        public void onUpstreamFinish() {
          complete(toNet);
        }
      });
      setHandler(toNet, new AbstractOutHandler() {
        @Override
        public void onPull() {
          pull(fromInner);
        }

        @Override
        public void onDownstreamFinish(Throwable cause) {
          cancel(fromInner, cause);
        }
      });
    }

    @Override
    public void preStart() {
      watch();
    }

    @Override
    protected boolean mayClose() {
      return inProgress == 0;
    }

    /**
     * Completing both sides closes the connection as if the client had gone (a websocket's session
     * hears ClientGone), the way Pekko HTTP's own idle timeout would, minus its error.
     */
    @Override
    protected void closeIdle() {
      completeStage();
    }
  }
}
