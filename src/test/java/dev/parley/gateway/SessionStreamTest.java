package dev.parley.gateway;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.typesafe.config.ConfigFactory;
import java.lang.ref.WeakReference;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.japi.Pair;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.javadsl.Flow;
import org.apache.pekko.stream.javadsl.Keep;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.stream.testkit.TestPublisher;
import org.apache.pekko.stream.testkit.TestSubscriber;
import org.apache.pekko.stream.testkit.javadsl.TestSink;
import org.apache.pekko.stream.testkit.javadsl.TestSource;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

class SessionStreamTest {
  /** Only Pekko's own defaults: application.conf would start cluster remoting on a fixed port. */
  private static final ActorTestKit testKit = ActorTestKit.create(ConfigFactory.empty());
  private static final Materializer materializer = Materializer.matFromSystem(testKit.system());

  @AfterAll
  static void shutdown() {
    testKit.shutdownTestKit();
  }

  private static ObjectNode frame(String type) {
    return JsonNodeFactory.instance.objectNode().put("type", type);
  }

  private static Flow<IncomingFrame, String, ?> stream(TestProbe<Session.Command> session, AtomicReference<OutboundQueue> queue) {
    return stream(session, queue, Optional.empty());
  }

  private static Flow<IncomingFrame, String, ?> stream(TestProbe<Session.Command> session, AtomicReference<OutboundQueue> queue, Optional<Duration> lingerTimeout) {
    return Flow.fromGraph(new SessionStream(q -> {
      queue.set(q);
      return session.ref();
    }, () -> {}, () -> {}, lingerTimeout));
  }

  /** The stream started its session (handing it the queue). */
  private static void awaitStarted(AtomicReference<OutboundQueue> queue) {
    await().pollDelay(Duration.ZERO).pollInterval(Duration.ofMillis(1)).atMost(Duration.ofSeconds(5)).until(() -> queue.get() != null);
  }

  @Test
  void completingEndsTheStreamAfterTheQueuedFrames() throws Exception {
    TestProbe<Session.Command> session = testKit.createTestProbe();
    AtomicReference<OutboundQueue> queue = new AtomicReference<>();
    CompletionStage<List<String>> sent = Source.<IncomingFrame>never().via(stream(session, queue)).runWith(Sink.seq(), materializer);
    awaitStarted(queue);

    queue.get().offer(frame("pong"));
    queue.get().offer(frame("reconnect"));
    assertThat(queue.get().complete()).isTrue();

    assertThat(sent.toCompletableFuture().get(5, TimeUnit.SECONDS)).containsExactly("{\"type\":\"pong\"}", "{\"type\":\"reconnect\"}");
    session.expectMessage(Session.ClientGone.INSTANCE);
    assertThat(queue.get().size()).isZero();
  }

  @Test
  void framesAClientDoesNotTakeAfterItsSessionIsGoneAreDroppedAfterTheLingerTimeout() throws Exception {
    TestProbe<Session.Command> session = testKit.createTestProbe();
    AtomicReference<OutboundQueue> queue = new AtomicReference<>();
    // A client that takes one frame and then stops reading.
    TestSubscriber.Probe<String> client =
        Source.<IncomingFrame>never().via(stream(session, queue, Optional.of(Duration.ofMillis(300))))
            .runWith(TestSink.create(testKit.system().classicSystem()), materializer);
    awaitStarted(queue);
    for (int i = 0; i < 3; i++) queue.get().offer(frame("event"));
    assertThat(queue.get().complete()).isTrue();
    client.request(1);
    client.expectNext("{\"type\":\"event\"}");

    queue.get().abandon();

    // Without the bound the stream would wait for its client for good, holding the two frames.
    client.expectComplete();
    session.expectMessage(Session.ClientGone.INSTANCE);
  }

  @Test
  void completingTwiceIsHarmless() {
    TestProbe<Session.Command> session = testKit.createTestProbe();
    AtomicReference<OutboundQueue> queue = new AtomicReference<>();
    Source.<IncomingFrame>never().via(stream(session, queue)).runWith(Sink.ignore(), materializer);
    awaitStarted(queue);

    assertThat(queue.get().complete()).isTrue();
    assertThat(queue.get().complete()).isFalse();
  }

  @Test
  void aClientThatLeftEndsTheQueueAndTheSessionHearsIt() {
    TestProbe<Session.Command> session = testKit.createTestProbe();
    AtomicReference<OutboundQueue> queue = new AtomicReference<>();
    Source.<IncomingFrame>empty().via(stream(session, queue)).runWith(Sink.ignore(), materializer);
    awaitStarted(queue);
    session.expectMessage(Session.ClientGone.INSTANCE);

    queue.get().offer(frame("reconnect"));

    assertThat(queue.get().complete()).isFalse();
    assertThat(queue.get().size()).isZero();
  }

  @Test
  void queuedFramesCountUntilTheWebsocketTakesThem() {
    TestProbe<Session.Command> session = testKit.createTestProbe();
    AtomicReference<OutboundQueue> queue = new AtomicReference<>();
    TestSubscriber.Probe<String> client =
        Source.<IncomingFrame>never().via(stream(session, queue)).runWith(TestSink.create(testKit.system().classicSystem()), materializer);
    awaitStarted(queue);

    for (int i = 0; i < 3; i++) queue.get().offer(frame("event"));
    assertThat(queue.get().size()).isEqualTo(3);

    client.request(2);
    client.expectNext("{\"type\":\"event\"}", "{\"type\":\"event\"}");
    await().atMost(Duration.ofSeconds(5)).until(() -> queue.get().size() == 1);
  }

  /**
   * The first client frame is pulled by the stream itself (a new session has room for one): no
   * message to the session and no demand back per connection. Every later frame waits for demand.
   */
  @Test
  void theFirstClientFrameNeedsNoDemandAndEveryLaterOneWaitsForIt() {
    TestProbe<Session.Command> session = testKit.createTestProbe();
    AtomicReference<OutboundQueue> queue = new AtomicReference<>();
    Pair<TestPublisher.Probe<IncomingFrame>, ?> run =
        TestSource.<IncomingFrame>probe(testKit.system().classicSystem()).via(stream(session, queue)).toMat(Sink.ignore(), Keep.both()).run(materializer);
    TestPublisher.Probe<IncomingFrame> client = run.first();

    client.sendNext(new IncomingFrame.Text("{\"a\":1}"));
    session.expectMessage(new Session.Incoming(new IncomingFrame.Text("{\"a\":1}")));

    client.sendNext(new IncomingFrame.Text("{\"a\":2}"));
    // No demand yet: the frame waits.
    session.expectNoMessage(Duration.ofMillis(300));
    queue.get().demand();
    session.expectMessage(new Session.Incoming(new IncomingFrame.Text("{\"a\":2}")));

    client.sendNext(new IncomingFrame.Text("{\"a\":3}"));
    session.expectNoMessage(Duration.ofMillis(300));
    queue.get().demand();
    session.expectMessage(new Session.Incoming(new IncomingFrame.Text("{\"a\":3}")));
  }

  /** Per-connection objects are released when the connection ends: nothing keeps a closed one's state. */
  @Test
  void twoThousandClosedConnectionsLeaveNothingBehind() {
    TestProbe<Session.Command> session = testKit.createTestProbe();
    List<WeakReference<OutboundQueue>> queues = new ArrayList<>();
    // Not TestSource.probe: each probe is an actor that keeps the stream's subscription after the test is done with it.
    List<CompletableFuture<Optional<IncomingFrame>>> clients = new ArrayList<>();
    for (int i = 0; i < 2_000; i++) {
      AtomicReference<OutboundQueue> queue = new AtomicReference<>();
      clients.add(Source.<IncomingFrame>maybe().via(stream(session, queue)).to(Sink.ignore()).run(materializer));
      awaitStarted(queue);
      queue.get().offer(frame("welcome"));
      queues.add(new WeakReference<>(queue.get()));
    }
    clients.forEach(client -> client.complete(Optional.empty()));
    for (int i = 0; i < 2_000; i++) session.expectMessage(Session.ClientGone.INSTANCE);
    clients.clear();

    await()
        .atMost(Duration.ofSeconds(30))
        .until(() -> {
          System.gc();
          return queues.stream().allMatch(q -> q.get() == null);
        });
  }
}
