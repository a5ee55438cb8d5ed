package dev.parley.gateway;

import org.apache.pekko.stream.Attributes;
import org.apache.pekko.stream.BidiShape;
import org.apache.pekko.stream.Inlet;
import org.apache.pekko.stream.Outlet;
import org.apache.pekko.stream.stage.AbstractInHandler;
import org.apache.pekko.stream.stage.AbstractOutHandler;
import org.apache.pekko.stream.stage.GraphStage;
import org.apache.pekko.stream.stage.GraphStageLogic;

/**
 * The lowest layer of a websocket's stack: passes frames through both ways and closes the
 * connection when the client has been silent for the idle timeout ({@link IdleConnections}: one
 * sweep per node, no timer per connection). It sits below Pekko's frame handling because that
 * swallows pongs, and a pong is how a live but quiet client answers the server's keep-alive ping.
 *
 * <p>{@code outboundCounts}: whether frames towards the client count as life too. With ping
 * keep-alive shorter than the idle timeout they must not (a dead client would then never be
 * noticed: the pings themselves would keep it open); without it they must (a client that only
 * listens would be closed after the timeout).
 */
final class WebSocketIdleTimeout extends GraphStage<BidiShape<Object, Object, Object, Object>> {

  private final Inlet<Object> fromNet = Inlet.create("WebSocketIdleTimeout.fromNet");
  private final Outlet<Object> toFrames = Outlet.create("WebSocketIdleTimeout.toFrames");
  private final Inlet<Object> fromFrames = Inlet.create("WebSocketIdleTimeout.fromFrames");
  private final Outlet<Object> toNet = Outlet.create("WebSocketIdleTimeout.toNet");
  private final BidiShape<Object, Object, Object, Object> shape = new BidiShape<>(fromNet, toFrames, fromFrames, toNet);
  private final IdleConnections connections;
  private final boolean outboundCounts;

  WebSocketIdleTimeout(IdleConnections connections, boolean outboundCounts) {
    this.connections = connections;
    this.outboundCounts = outboundCounts;
  }

  @Override
  public BidiShape<Object, Object, Object, Object> shape() {
    return shape;
  }

  @Override
  public Attributes initialAttributes() {
    return Attributes.name("WebSocketIdleTimeout");
  }

  @Override
  public GraphStageLogic createLogic(Attributes inheritedAttributes) {
    return new Logic();
  }

  private final class Logic extends IdleConnections.WatchedLogic {
    Logic() {
      super(shape, connections);
      setHandler(fromNet, new AbstractInHandler() {
        @Override
        public void onPush() {
          heard();
          push(toFrames, grab(fromNet));
        }

        @Override
        public void onUpstreamFinish() {
          complete(toFrames);
        }
      });
      setHandler(toFrames, new AbstractOutHandler() {
        @Override
        public void onPull() {
          pull(fromNet);
        }

        @Override
        public void onDownstreamFinish(Throwable cause) {
          cancel(fromNet, cause);
        }
      });
      setHandler(fromFrames, new AbstractInHandler() {
        @Override
        public void onPush() {
          if (outboundCounts) heard();
          push(toNet, grab(fromFrames));
        }

        @Override
        public void onUpstreamFinish() {
          complete(toNet);
        }
      });
      setHandler(toNet, new AbstractOutHandler() {
        @Override
        public void onPull() {
          pull(fromFrames);
        }

        @Override
        public void onDownstreamFinish(Throwable cause) {
          cancel(fromFrames, cause);
        }
      });
    }

    @Override
    public void preStart() {
      watch();
    }

    /** Like the client vanishing: Pekko's frame handling ends the session (ClientGone) and the socket closes. */
    @Override
    protected void closeIdle() {
      completeStage();
    }
  }
}
