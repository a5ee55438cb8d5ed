package dev.parley.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import com.typesafe.config.ConfigFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.http.impl.engine.server.UpgradeToOtherProtocolResponseHeader;
import org.apache.pekko.http.impl.engine.ws.FrameEvent;
import org.apache.pekko.http.impl.engine.ws.FrameHandler;
import org.apache.pekko.http.impl.engine.ws.Handshake;
import org.apache.pekko.http.impl.engine.ws.WebSocket;
import org.apache.pekko.http.javadsl.model.HttpHeader;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.scaladsl.model.headers.Sec$minusWebSocket$minusKey;
import org.apache.pekko.japi.Pair;
import org.apache.pekko.stream.Attributes;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.javadsl.BidiFlow;
import org.apache.pekko.stream.javadsl.Flow;
import org.apache.pekko.stream.javadsl.Keep;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.stream.testkit.TestPublisher;
import org.apache.pekko.stream.testkit.TestSubscriber;
import org.apache.pekko.stream.testkit.javadsl.TestSink;
import org.apache.pekko.stream.testkit.javadsl.TestSource;
import org.apache.pekko.util.ByteString;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/**
 * Pins what {@link WebSocketFrames} relies on in Pekko HTTP's internal frame-level API: the events
 * {@code FrameHandler} emits for a message (parts, then {@code MessageEnd}), the bypass events, the
 * close handshake's inputs ({@code UserHandlerCompleted}, {@code Tick}). A Pekko HTTP upgrade that
 * changes them fails here.
 */
class WebSocketFramesTest {
  /** Only Pekko's own defaults: application.conf would start cluster remoting on a fixed port. */
  private static final ActorTestKit testKit = ActorTestKit.create(ConfigFactory.empty());
  private static final Materializer materializer = Materializer.matFromSystem(testKit.system());
  private static final int MAX_BYTES = 16;

  @AfterAll
  static void shutdown() {
    testKit.shutdownTestKit();
  }

  private static BidiFlow<FrameHandler.Output, IncomingFrame, String, Object, NotUsed> frames(Duration closeTimeout) {
    return BidiFlow.fromGraph(new WebSocketFrames(MAX_BYTES, closeTimeout));
  }

  /** What the session receives for these client events (the client then closes normally). */
  private static List<IncomingFrame> collect(FrameHandler.Output... events) throws Exception {
    List<FrameHandler.Output> all = new ArrayList<>(List.of(events));
    all.add(new FrameHandler.PeerClosed(scala.Option.empty(), ""));
    Flow<IncomingFrame, String, CompletionStage<List<IncomingFrame>>> session =
        Flow.fromSinkAndSourceMat(Sink.seq(), Source.<String>empty(), Keep.left());
    CompletionStage<List<IncomingFrame>> received =
        Source.from(all).viaMat(session.joinMat(frames(Duration.ofSeconds(3)).reversed(), Keep.left()), Keep.right()).to(Sink.ignore()).run(materializer);
    return received.toCompletableFuture().get(5, TimeUnit.SECONDS);
  }

  private static FrameHandler.Output text(String data, boolean last) {
    return new FrameHandler.TextMessagePart(data, last);
  }

  private static FrameHandler.Output end() {
    return FrameHandler.MessageEnd$.MODULE$;
  }

  /**
   * The upgrade response built once per route is Pekko's own ({@code Handshake.Server.buildResponse}),
   * header for header; only its handler differs (the shared join, with the connection's attributes).
   */
  @Test
  @SuppressWarnings({"unchecked", "rawtypes"})
  void theUpgradeResponseIsPekkosOwn() {
    Flow<FrameEvent, FrameEvent, NotUsed> handler = Flow.<FrameEvent>create();
    // RFC 6455, 1.3: this key's accept value is s3pPLMBiTxaQ9kYGzzhZRbK+xOo=.
    Sec$minusWebSocket$minusKey key = new Sec$minusWebSocket$minusKey("dGhlIHNhbXBsZSBub25jZQ==");
    org.apache.pekko.http.javadsl.model.HttpResponse ours =
        new WebSocketFrames.Upgrades(handler).respond(HttpRequest.create("/v1/ws").addHeader(key), Attributes.name("connection"));
    org.apache.pekko.http.scaladsl.model.HttpResponse pekkos =
        Handshake.Server$.MODULE$.buildResponse(
            key, (scala.util.Either) scala.util.Left.apply(handler), scala.Option.empty(), null, null); // settings and log serve the message API only

    assertThat(ours.status().intValue()).isEqualTo(101);
    assertThat(ours.protocol()).isEqualTo(pekkos.protocol());
    assertThat(ours.entity()).isEqualTo(pekkos.entity());
    List<HttpHeader> headers = new ArrayList<>();
    ours.getHeaders().forEach(headers::add);
    List<HttpHeader> expected = new ArrayList<>();
    pekkos.getHeaders().forEach(expected::add);
    assertThat(headers).hasSameSizeAs(expected);
    assertThat(headers.subList(0, 3)).containsExactlyElementsOf(expected.subList(0, 3));
    assertThat(headers.get(2).value()).isEqualTo("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    assertThat(headers.get(3)).isInstanceOf(UpgradeToOtherProtocolResponseHeader.class);
    assertThat(expected.get(3)).isInstanceOf(UpgradeToOtherProtocolResponseHeader.class);
  }

  @Test
  void textWithinTheLimitIsCollected() throws Exception {
    assertThat(collect(text("{\"type\":\"ping\"}", true), end())).containsExactly(new IncomingFrame.Text("{\"type\":\"ping\"}"));
  }

  @Test
  void textOfExactlyTheLimitIsCollected() throws Exception {
    String text = "x".repeat(MAX_BYTES);

    assertThat(collect(text(text, true), end())).containsExactly(new IncomingFrame.Text(text));
  }

  @Test
  void textOneByteOverTheLimitIsOversized() throws Exception {
    assertThat(collect(text("x".repeat(MAX_BYTES + 1), true), end())).containsExactly(new IncomingFrame.Oversized());
  }

  @Test
  void textIsMeasuredInUtf8BytesNotCharacters() throws Exception {
    // 9 characters, 18 bytes.
    assertThat(collect(text("é".repeat(9), true), end())).containsExactly(new IncomingFrame.Oversized());
  }

  @Test
  void fragmentedTextWithinTheLimitIsJoinedInOrder() throws Exception {
    assertThat(collect(text("{\"type\":", false), text("\"ping\"", false), text("}", true), end()))
        .containsExactly(new IncomingFrame.Text("{\"type\":\"ping\"}"));
  }

  @Test
  void fragmentedTextOverTheLimitIsOversizedAndTheNextMessageIsWhole() throws Exception {
    List<FrameHandler.Output> events = new ArrayList<>();
    for (int i = 0; i < 10_000; i++) events.add(text("0123456789abcdef", false));
    events.add(text("", true));
    events.add(end());
    events.add(text("{}", true));
    events.add(end());

    assertThat(collect(events.toArray(FrameHandler.Output[]::new)))
        .containsExactly(new IncomingFrame.Oversized(), new IncomingFrame.Text("{}"));
  }

  @Test
  void fragmentedTextOfExactlyTheLimitIsCollected() throws Exception {
    assertThat(collect(text("01234567", false), text("89abcdef", true), end()))
        .containsExactly(new IncomingFrame.Text("0123456789abcdef"));
  }

  @Test
  void binaryIsDrainedAndRefused() throws Exception {
    assertThat(collect(
            new FrameHandler.BinaryMessagePart(ByteString.fromString("0123456789"), false),
            new FrameHandler.BinaryMessagePart(ByteString.fromString("0123456789"), true),
            end()))
        .containsExactly(new IncomingFrame.Binary());
  }

  @Test
  void aClientFrameReachesTheSessionOnlyWhenItAsks() {
    Pair<Pair<TestPublisher.Probe<FrameHandler.Output>, TestSubscriber.Probe<IncomingFrame>>, TestSubscriber.Probe<Object>> run =
        wired(Duration.ofSeconds(3));
    TestPublisher.Probe<FrameHandler.Output> client = run.first().first();
    TestSubscriber.Probe<IncomingFrame> session = run.first().second();
    run.second().request(1);

    client.sendNext(text("{\"a\":1}", true)).sendNext(end());
    client.sendNext(text("{\"a\":2}", true)).sendNext(end());
    session.request(1);
    assertThat(session.expectNext()).isEqualTo(new IncomingFrame.Text("{\"a\":1}"));
    session.request(1);
    assertThat(session.expectNext()).isEqualTo(new IncomingFrame.Text("{\"a\":2}"));
  }

  @Test
  void controlAnswersAndSessionTextsGoToTheClientAsFrames() {
    Pair<Pair<TestPublisher.Probe<FrameHandler.Output>, TestSubscriber.Probe<IncomingFrame>>, TestSubscriber.Probe<Object>> run =
        wired(Duration.ofSeconds(3));
    TestSubscriber.Probe<Object> toClient = run.second();
    FrameHandler.DirectAnswer pong = new FrameHandler.DirectAnswer(FrameEvent.closeFrame(1000, "", scala.Option.empty()));
    toClient.request(1);
    run.first().first().sendNext(pong);

    assertThat(toClient.expectNext()).isSameAs(pong);
  }

  /**
   * The close timeout ticks only once the connection closes: with a 1 ms timeout, a stage that
   * ticked from the start would have a tick waiting before the first real event.
   */
  @Test
  void anIdleConnectionGetsNoTickAndAClosingOneDoes() {
    Pair<Pair<TestPublisher.Probe<FrameHandler.Output>, TestSubscriber.Probe<IncomingFrame>>, TestSubscriber.Probe<Object>> run =
        wired(Duration.ofMillis(1));
    TestPublisher.Probe<FrameHandler.Output> client = run.first().first();
    TestSubscriber.Probe<Object> toClient = run.second();
    // The session side is closed by cancelling its inlet's source: here, the probe's subscriber completes it.
    toClient.request(1);
    run.first().second().request(1);
    FrameHandler.DirectAnswer answer = new FrameHandler.DirectAnswer(FrameEvent.closeFrame(1000, "", scala.Option.empty()));
    client.sendNext(answer);
    assertThat(toClient.expectNext()).isSameAs(answer);

    client.sendNext(new FrameHandler.ActivelyCloseWithCode(scala.Option.apply(1002), "protocol error"));
    toClient.request(2);
    assertThat(toClient.expectNext()).isInstanceOf(FrameHandler.ActivelyCloseWithCode.class);
    assertThat(toClient.expectNext()).isSameAs(WebSocket.Tick$.MODULE$);
  }

  /** client events in; the session's side as probes; what goes to the client's side as a probe. */
  private static Pair<Pair<TestPublisher.Probe<FrameHandler.Output>, TestSubscriber.Probe<IncomingFrame>>, TestSubscriber.Probe<Object>> wired(
      Duration closeTimeout) {
    Flow<IncomingFrame, String, TestSubscriber.Probe<IncomingFrame>> session =
        Flow.fromSinkAndSourceMat(TestSink.<IncomingFrame>create(testKit.system().classicSystem()), Source.<String>never(), Keep.left());
    return TestSource.<FrameHandler.Output>probe(testKit.system().classicSystem())
        .viaMat(session.joinMat(frames(closeTimeout).reversed(), Keep.left()), Keep.both())
        .toMat(TestSink.create(testKit.system().classicSystem()), Keep.both())
        .run(materializer);
  }
}
