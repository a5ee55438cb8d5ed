package dev.parley.gateway;

import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.ClassicActorSystemProvider;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.japi.function.Function;
import org.apache.pekko.stream.Attributes;
import org.apache.pekko.stream.FlowShape;
import org.apache.pekko.stream.Inlet;
import org.apache.pekko.stream.Outlet;
import org.apache.pekko.stream.javadsl.Flow;
import org.apache.pekko.stream.stage.AbstractInHandler;
import org.apache.pekko.stream.stage.AbstractOutHandler;
import org.apache.pekko.stream.stage.AsyncCallback;
import org.apache.pekko.stream.stage.GraphStage;
import org.apache.pekko.stream.stage.GraphStageLogic;

/**
 * A connection's HTTP requests answered by the node's routes, one at a time and in order, and the
 * connection closed once no request has been in progress for the idle timeout ({@link IdleConnections}:
 * one sweep per node, no timer per connection). A connection upgraded to a websocket ends its request
 * stream, so it stops being watched here; its {@link WebSocketFrames} stage watches it from then on.
 *
 * <p>One stage logic per connection where {@code Route.flow} runs three ({@code map} to the Scala
 * request, the routes in a {@code mapAsync(1)}, {@code map} back) and an idle-timeout stage a fourth:
 * each stage logic a connection materializes is kept, finished or not, for the connection's life
 * (~0.4 KB each; benchmarks.md, issue 19). The routes are the same function {@code Route.flow} calls
 * ({@code Route.handler}: Pekko HTTP's {@code Route.toFunction}, sealed with its default handlers),
 * so requests are answered exactly as before; like {@code mapAsync}, a failed answer fails the
 * connection.
 */
final class RoutedRequests extends GraphStage<FlowShape<HttpRequest, HttpResponse>> {

  private final Inlet<HttpRequest> in = Inlet.create("RoutedRequests.in");
  private final Outlet<HttpResponse> out = Outlet.create("RoutedRequests.out");
  private final FlowShape<HttpRequest, HttpResponse> shape = FlowShape.of(in, out);
  private final Function<HttpRequest, CompletionStage<HttpResponse>> routes;
  private final IdleConnections connections;

  RoutedRequests(Function<HttpRequest, CompletionStage<HttpResponse>> routes, IdleConnections connections) {
    this.routes = routes;
    this.connections = connections;
  }

  /**
   * A connection's request handler (bind it with {@code bindFlow}), built once and shared by every
   * connection: {@code webSocket} answers the websocket path ({@link WebSocketRoute#answer}) without
   * the routing DSL, {@code routes} every other request.
   */
  static Flow<HttpRequest, HttpResponse, NotUsed> of(
      java.util.function.Function<HttpRequest, Optional<HttpResponse>> webSocket,
      Route routes,
      ClassicActorSystemProvider system,
      IdleConnections connections) {
    Function<HttpRequest, CompletionStage<HttpResponse>> routed = routes.handler(system);
    return Flow.fromGraph(
        new RoutedRequests(
            request -> {
              Optional<HttpResponse> answered = webSocket.apply(request);
              return answered.isPresent() ? CompletableFuture.completedFuture(answered.get()) : routed.apply(request);
            },
            connections));
  }

  @Override
  public FlowShape<HttpRequest, HttpResponse> shape() {
    return shape;
  }

  @Override
  public Attributes initialAttributes() {
    return Attributes.name("RoutedRequests");
  }

  @Override
  public GraphStageLogic createLogic(Attributes inheritedAttributes) {
    return new Logic(inheritedAttributes.getAttribute(ConnectionSwitch.Handle.class).orElse(null));
  }

  /** Answered requests come back here; for a response the routes completed at once, without a thread hop. */
  private record Answer(HttpResponse response, Throwable failure) {}

  private final class Logic extends IdleConnections.WatchedLogic {
    private final AsyncCallback<Answer> onAnswer = createAsyncCallback(this::answered);
    /** The connection's switch when it is bound by {@link ConnectionSwitch} (else null): its requests carry it to the upgrade. */
    private final ConnectionSwitch.Handle connection;
    /** A request has been passed to the routes and its response has not gone out yet: silence closes only without. */
    private boolean inProgress;
    /** The client sent its last request (or the connection was upgraded): complete once it is answered. */
    private boolean requestsEnded;

    Logic(ConnectionSwitch.Handle connection) {
      super(shape, connections);
      this.connection = connection;
      setHandler(in, new AbstractInHandler() {
        @Override
        public void onPush() {
          heard();
          inProgress = true;
          CompletableFuture<HttpResponse> response;
          try {
            HttpRequest request = grab(in);
            if (connection != null) request = request.addAttribute(ConnectionSwitch.HANDLE, connection);
            response = routes.apply(request).toCompletableFuture();
          } catch (Exception e) {
            failStage(e);
            return;
          }
          if (response.isDone()) {
            answered(answerOf(response));
          } else {
            response.whenComplete((r, failure) -> onAnswer.invoke(new Answer(r, failure)));
          }
        }

        @Override
        public void onUpstreamFinish() {
          // Nothing more will come: the client closed, or the connection now speaks websocket.
          unwatch();
          requestsEnded = true;
          if (!inProgress) completeStage();
        }
      });
      setHandler(out, new AbstractOutHandler() {
        @Override
        public void onPull() {
          // One request at a time: the next is read only once this one's response is taken.
          if (!inProgress && !requestsEnded && !hasBeenPulled(in)) pull(in);
        }
      });
    }

    private Answer answerOf(CompletableFuture<HttpResponse> done) {
      try {
        return new Answer(done.join(), null);
      } catch (RuntimeException e) {
        return new Answer(null, e.getCause() != null ? e.getCause() : e);
      }
    }

    private void answered(Answer answer) {
      if (answer.failure() != null || answer.response() == null) {
        failStage(answer.failure() != null ? answer.failure() : new IllegalStateException("the routes answered null"));
        return;
      }
      heard();
      inProgress = false;
      push(out, answer.response());
      if (requestsEnded) completeStage();
    }

    @Override
    public void preStart() {
      watch();
    }

    @Override
    protected boolean mayClose() {
      return !inProgress;
    }

    /**
     * Completing both sides closes the connection as if the client had gone, the way Pekko HTTP's own
     * idle timeout would, minus its error.
     */
    @Override
    protected void closeIdle() {
      completeStage();
    }
  }
}
