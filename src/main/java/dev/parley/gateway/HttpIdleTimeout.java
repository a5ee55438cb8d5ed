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
 * Pekko HTTP's idle timeout for plain HTTP connections, without its per-connection timer: wrapped
 * around the routes, it closes a connection that has had no request in progress for the idle
 * timeout ({@link IdleConnections}). A connection upgraded to a websocket ends its HTTP request
 * stream, so it stops being watched here; {@link WebSocketIdleTimeout} watches it from then on.
 */
public final class HttpIdleTimeout
    extends GraphStage<BidiShape<HttpRequest, HttpRequest, HttpResponse, HttpResponse>> {

  private final Inlet<HttpRequest> fromNet = Inlet.create("HttpIdleTimeout.fromNet");
  private final Outlet<HttpRequest> toRoutes = Outlet.create("HttpIdleTimeout.toRoutes");
  private final Inlet<HttpResponse> fromRoutes = Inlet.create("HttpIdleTimeout.fromRoutes");
  private final Outlet<HttpResponse> toNet = Outlet.create("HttpIdleTimeout.toNet");
  private final BidiShape<HttpRequest, HttpRequest, HttpResponse, HttpResponse> shape =
      new BidiShape<>(fromNet, toRoutes, fromRoutes, toNet);
  private final IdleConnections connections;

  private HttpIdleTimeout(IdleConnections connections) {
    this.connections = connections;
  }

  /** {@code routes} (one request at a time, e.g. {@code Route.flow}) with the idle timeout around them. */
  public static Flow<HttpRequest, HttpResponse, NotUsed> around(
      Flow<HttpRequest, HttpResponse, NotUsed> routes, IdleConnections connections) {
    return BidiFlow.fromGraph(new HttpIdleTimeout(connections)).join(routes);
  }

  @Override
  public BidiShape<HttpRequest, HttpRequest, HttpResponse, HttpResponse> shape() {
    return shape;
  }

  @Override
  public Attributes initialAttributes() {
    return Attributes.name("HttpIdleTimeout");
  }

  @Override
  public GraphStageLogic createLogic(Attributes inheritedAttributes) {
    return new Logic();
  }

  private final class Logic extends IdleConnections.WatchedLogic {
    /** Requests passed to the routes whose responses have not gone out yet. */
    private int inProgress;

    Logic() {
      super(shape, connections);
      setHandler(fromNet, new AbstractInHandler() {
        @Override
        public void onPush() {
          heard();
          inProgress++;
          push(toRoutes, grab(fromNet));
        }

        @Override
        public void onUpstreamFinish() {
          // No more requests: the client closed, or the connection now speaks websocket.
          unwatch();
          complete(toRoutes);
        }
      });
      setHandler(toRoutes, new AbstractOutHandler() {
        @Override
        public void onPull() {
          pull(fromNet);
        }

        @Override
        public void onDownstreamFinish(Throwable cause) {
          cancel(fromNet, cause);
        }
      });
      setHandler(fromRoutes, new AbstractInHandler() {
        @Override
        public void onPush() {
          heard();
          inProgress--;
          push(toNet, grab(fromRoutes));
        }

        @Override
        public void onUpstreamFinish() {
          complete(toNet);
        }
      });
      setHandler(toNet, new AbstractOutHandler() {
        @Override
        public void onPull() {
          pull(fromRoutes);
        }

        @Override
        public void onDownstreamFinish(Throwable cause) {
          cancel(fromRoutes, cause);
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

    /** Completing both sides closes the connection the way Pekko HTTP's own idle timeout would, minus the error. */
    @Override
    protected void closeIdle() {
      completeStage();
    }
  }
}
