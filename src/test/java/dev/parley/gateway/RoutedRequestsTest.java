package dev.parley.gateway;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.typesafe.config.ConfigFactory;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.japi.Pair;
import org.apache.pekko.japi.function.Function;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.javadsl.Flow;
import org.apache.pekko.stream.testkit.TestPublisher;
import org.apache.pekko.stream.testkit.TestSubscriber;
import org.apache.pekko.stream.testkit.javadsl.TestSink;
import org.apache.pekko.stream.testkit.javadsl.TestSource;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/**
 * {@link RoutedRequests} answers like {@code Route.flow} (a {@code mapAsync(1)} of the routes' function):
 * one request at a time, in order, a failed answer fails the connection, and the last request is
 * answered after the client's requests end (a websocket upgrade ends them right after its request).
 */
class RoutedRequestsTest {
  /** Only Pekko's own defaults: application.conf would start cluster remoting on a fixed port. */
  private static final ActorTestKit testKit = ActorTestKit.create(ConfigFactory.empty());
  private static final Materializer materializer = Materializer.matFromSystem(testKit.system());

  @AfterAll
  static void shutdown() {
    testKit.shutdownTestKit();
  }

  /** Routes whose answers the test completes by hand, in the order the requests reached them. */
  private static final class HeldRoutes implements Function<HttpRequest, CompletionStage<HttpResponse>> {
    final List<HttpRequest> requests = new CopyOnWriteArrayList<>();
    final List<CompletableFuture<HttpResponse>> answers = new CopyOnWriteArrayList<>();

    @Override
    public CompletionStage<HttpResponse> apply(HttpRequest request) {
      CompletableFuture<HttpResponse> answer = new CompletableFuture<>();
      requests.add(request);
      answers.add(answer);
      return answer;
    }
  }

  private static Pair<TestPublisher.Probe<HttpRequest>, TestSubscriber.Probe<HttpResponse>> run(
      Function<HttpRequest, CompletionStage<HttpResponse>> routes) {
    return TestSource.<HttpRequest>probe(testKit.system().classicSystem())
        .via(Flow.fromGraph(new RoutedRequests(routes, IdleConnections.get(testKit.system()))))
        .toMat(TestSink.probe(testKit.system().classicSystem()), (publisher, subscriber) -> Pair.create(publisher, subscriber))
        .run(materializer);
  }

  private static HttpRequest request(String path) {
    return HttpRequest.GET(path);
  }

  @Test
  void answersOneRequestAtATimeInOrder() {
    HeldRoutes routes = new HeldRoutes();
    var probes = run(routes);
    TestPublisher.Probe<HttpRequest> client = probes.first();
    TestSubscriber.Probe<HttpResponse> responses = probes.second();

    responses.request(3);
    client.expectRequest();
    client.sendNext(request("/first"));
    client.sendNext(request("/second"));
    responses.expectNoMessage(Duration.ofMillis(200));
    // The second request waits until the first is answered, however much the server wants.
    assertThat(routes.requests).extracting(r -> r.getUri().path()).containsExactly("/first");

    routes.answers.get(0).complete(HttpResponse.create().withStatus(201));
    assertThat(responses.expectNext().status().intValue()).isEqualTo(201);
    await().until(() -> routes.answers.size() == 2);
    routes.answers.get(1).complete(HttpResponse.create().withStatus(202));
    assertThat(responses.expectNext().status().intValue()).isEqualTo(202);
    assertThat(routes.requests).extracting(r -> r.getUri().path()).containsExactly("/first", "/second");
  }

  @Test
  void anAnswerTheRoutesHaveReadyGoesOutAtOnce() {
    var probes = run(request -> CompletableFuture.completedFuture(HttpResponse.create().withStatus(204)));
    probes.second().request(1);
    probes.first().expectRequest();
    probes.first().sendNext(request("/ready"));
    assertThat(probes.second().expectNext().status().intValue()).isEqualTo(204);
  }

  @Test
  void aFailedAnswerFailsTheConnectionAsMapAsyncDoes() {
    HeldRoutes routes = new HeldRoutes();
    var probes = run(routes);
    probes.second().request(1);
    probes.first().expectRequest();
    probes.first().sendNext(request("/boom"));
    await().until(() -> routes.answers.size() == 1);
    IllegalStateException failure = new IllegalStateException("no answer");
    routes.answers.get(0).completeExceptionally(failure);
    assertThat(probes.second().expectError()).isSameAs(failure);
    probes.first().expectCancellation();
  }

  @Test
  void routesThatThrowFailTheConnection() {
    var probes = run(request -> {
      throw new IllegalArgumentException("thrown by the routes");
    });
    probes.second().request(1);
    probes.first().expectRequest();
    probes.first().sendNext(request("/throws"));
    assertThat(probes.second().expectError()).hasMessage("thrown by the routes");
  }

  @Test
  void theLastRequestIsAnsweredAfterTheRequestsEnd() {
    HeldRoutes routes = new HeldRoutes();
    var probes = run(routes);
    probes.second().request(2);
    probes.first().expectRequest();
    probes.first().sendNext(request("/upgrade"));
    probes.first().sendComplete();
    probes.second().expectNoMessage(Duration.ofMillis(100));
    await().until(() -> routes.answers.size() == 1);
    routes.answers.get(0).complete(HttpResponse.create().withStatus(101));
    assertThat(probes.second().expectNext().status().intValue()).isEqualTo(101);
    probes.second().expectComplete();
  }

  @Test
  void theClientEndingWithNoRequestInProgressEndsTheStage() {
    var probes = run(new HeldRoutes());
    probes.second().request(1);
    probes.first().expectRequest();
    probes.first().sendComplete();
    probes.second().expectComplete();
  }
}
