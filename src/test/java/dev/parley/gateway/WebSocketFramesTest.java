package dev.parley.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import com.typesafe.config.ConfigFactory;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.event.Logging;
import org.apache.pekko.http.impl.engine.server.UpgradeToOtherProtocolResponseHeader;
import org.apache.pekko.http.impl.engine.ws.Handshake;
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
 * {@link WebSocketFrames} on the wire: client frames as bytes (masked, as a client sends them,
 * delivered in 3-byte pieces so headers and payloads are split across reads), and what the stage
 * sends back, read as bytes. It pins both the protocol (RFC 6455: framing, masking, fragmentation,
 * UTF-8, control frames, the close handshake, keep-alive) and what the stage relies on in Pekko
 * HTTP's internal websocket API ({@code Utf8Decoder}, {@code PeerClosed.parse}, the upgrade
 * response): a Pekko HTTP upgrade that changes them fails here.
 */
class WebSocketFramesTest {
  /** Only Pekko's own defaults: application.conf would start cluster remoting on a fixed port. */
  private static final ActorTestKit testKit = ActorTestKit.create(ConfigFactory.empty());
  private static final Materializer materializer = Materializer.matFromSystem(testKit.system());
  private static final int MAX_BYTES = 16;
  private static final int TEXT = 1;
  private static final int BINARY = 2;
  private static final int CONTINUATION = 0;
  private static final int CLOSE = 8;
  private static final int PING = 9;
  private static final int PONG = 10;

  @AfterAll
  static void shutdown() {
    testKit.shutdownTestKit();
  }

  private static WebSocketFrames.Settings settings(Duration closeTimeout, Duration keepAlive) {
    return new WebSocketFrames.Settings(
        MAX_BYTES, closeTimeout, keepAlive, false, IdleConnections.get(testKit.system()), true,
        Logging.getLogger(testKit.system().classicSystem(), WebSocketFramesTest.class));
  }

  /** Bytes in, bytes out: the stage joined to {@code session}. */
  private static <M> Flow<ByteString, ByteString, M> wire(WebSocketFrames.Settings settings, Flow<IncomingFrame, String, M> session) {
    BidiFlow<ByteString, IncomingFrame, String, ByteString, NotUsed> frames = BidiFlow.fromGraph(new WebSocketFrames(settings));
    return frames.join(session, Keep.<NotUsed, M>right());
  }

  /** A frame as a client sends it: masked with a random key. */
  private static byte[] clientFrame(int opcode, boolean fin, byte[] payload) {
    return ClientFrames.masked(opcode, fin, payload);
  }

  private static byte[] text(String data, boolean fin) {
    return clientFrame(TEXT, fin, data.getBytes(StandardCharsets.UTF_8));
  }

  private static byte[] continuation(String data, boolean fin) {
    return clientFrame(CONTINUATION, fin, data.getBytes(StandardCharsets.UTF_8));
  }

  private static byte[] close(int code) {
    return clientFrame(CLOSE, true, new byte[] {(byte) (code >> 8), (byte) code});
  }

  /** The client's bytes in 3-byte pieces: every header and payload is split across reads. */
  private static List<ByteString> pieces(byte[]... frames) {
    ByteArrayOutputStream all = new ByteArrayOutputStream();
    for (byte[] frame : frames) all.writeBytes(frame);
    byte[] bytes = all.toByteArray();
    List<ByteString> pieces = new ArrayList<>();
    for (int i = 0; i < bytes.length; i += 3) pieces.add(ByteString.fromArray(bytes, i, Math.min(3, bytes.length - i)));
    return pieces;
  }

  /** A frame from the server: opcode and payload (servers do not mask). */
  record ServerFrame(int opcode, boolean fin, ByteString payload) {
    String text() {
      return payload.utf8String();
    }

    int closeCode() {
      return ((payload.apply(0) & 0xFF) << 8) | (payload.apply(1) & 0xFF);
    }
  }

  private static List<ServerFrame> serverFrames(ByteString bytes) {
    List<ServerFrame> frames = new ArrayList<>();
    int i = 0;
    while (i < bytes.length()) {
      int b0 = bytes.apply(i) & 0xFF;
      int length = bytes.apply(i + 1) & 0x7F;
      assertThat(bytes.apply(i + 1) & 0x80).as("server frames are not masked").isZero();
      i += 2;
      if (length == 126) {
        length = ((bytes.apply(i) & 0xFF) << 8) | (bytes.apply(i + 1) & 0xFF);
        i += 2;
      }
      frames.add(new ServerFrame(b0 & 0x0F, (b0 & 0x80) != 0, bytes.slice(i, i + length)));
      i += length;
    }
    return frames;
  }

  /** What the session receives for these client frames (the client then closes normally). */
  private static List<IncomingFrame> collect(byte[]... frames) throws Exception {
    List<byte[]> all = new ArrayList<>(List.of(frames));
    all.add(close(1000));
    Flow<IncomingFrame, String, CompletionStage<List<IncomingFrame>>> session =
        Flow.fromSinkAndSourceMat(Sink.seq(), Source.<String>maybe(), Keep.left());
    CompletionStage<List<IncomingFrame>> received =
        Source.from(pieces(all.toArray(byte[][]::new)))
            .viaMat(wire(settings(Duration.ofSeconds(3), null), session), Keep.right())
            .to(Sink.ignore())
            .run(materializer);
    return received.toCompletableFuture().get(5, TimeUnit.SECONDS);
  }

  /** The client's side as probes (bytes to send, bytes received), the session's side as probes. */
  private record Wired(
      TestPublisher.Probe<ByteString> client,
      TestSubscriber.Probe<ByteString> fromServer,
      TestSubscriber.Probe<IncomingFrame> session,
      TestPublisher.Probe<String> sessionOut) {
    void send(byte[]... frames) {
      for (ByteString piece : pieces(frames)) client.sendNext(piece);
    }

    /** The next frames from the server, reading until {@code n} whole frames came. */
    List<ServerFrame> receive(int n) {
      ByteString bytes = ByteString.emptyByteString();
      while (true) {
        fromServer.request(1);
        bytes = bytes.concat(fromServer.expectNext());
        try {
          List<ServerFrame> frames = serverFrames(bytes);
          if (frames.size() >= n) return frames;
        } catch (IndexOutOfBoundsException partial) {
          // a frame split across writes: read on
        }
      }
    }
  }

  private static Wired wired(Duration closeTimeout, Duration keepAlive) {
    Flow<IncomingFrame, String, Pair<TestSubscriber.Probe<IncomingFrame>, TestPublisher.Probe<String>>> session =
        Flow.fromSinkAndSourceMat(
            TestSink.<IncomingFrame>create(testKit.system().classicSystem()),
            TestSource.<String>probe(testKit.system().classicSystem()),
            Keep.both());
    Pair<Pair<TestPublisher.Probe<ByteString>, Pair<TestSubscriber.Probe<IncomingFrame>, TestPublisher.Probe<String>>>, TestSubscriber.Probe<ByteString>> run =
        TestSource.<ByteString>probe(testKit.system().classicSystem())
            .viaMat(wire(settings(closeTimeout, keepAlive), session), Keep.both())
            .toMat(TestSink.create(testKit.system().classicSystem()), Keep.both())
            .run(materializer);
    return new Wired(run.first().first(), run.second(), run.first().second().first(), run.first().second().second());
  }

  /**
   * The upgrade response built once per route is Pekko's own ({@code Handshake.Server.buildResponse}),
   * header for header; only its handler differs (the shared join, with the connection's attributes).
   */
  @Test
  @SuppressWarnings({"unchecked", "rawtypes"})
  void theUpgradeResponseIsPekkosOwn() {
    Flow<ByteString, ByteString, NotUsed> handler = Flow.<ByteString>create();
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
    assertThat(collect(text("{\"type\":\"ping\"}", true))).containsExactly(new IncomingFrame.Text("{\"type\":\"ping\"}"));
  }

  @Test
  void textOfExactlyTheLimitIsCollected() throws Exception {
    String text = "x".repeat(MAX_BYTES);

    assertThat(collect(text(text, true))).containsExactly(new IncomingFrame.Text(text));
  }

  @Test
  void textOneByteOverTheLimitIsOversized() throws Exception {
    assertThat(collect(text("x".repeat(MAX_BYTES + 1), true))).containsExactly(new IncomingFrame.Oversized());
  }

  @Test
  void textIsMeasuredInUtf8BytesNotCharacters() throws Exception {
    // 9 characters, 18 bytes.
    assertThat(collect(text("é".repeat(9), true))).containsExactly(new IncomingFrame.Oversized());
  }

  @Test
  void multiByteCharactersSplitAcrossFramesAreJoined() throws Exception {
    byte[] e = "é".getBytes(StandardCharsets.UTF_8);
    assertThat(collect(clientFrame(TEXT, false, new byte[] {e[0]}), clientFrame(CONTINUATION, true, new byte[] {e[1]})))
        .containsExactly(new IncomingFrame.Text("é"));
  }

  @Test
  void fragmentedTextWithinTheLimitIsJoinedInOrder() throws Exception {
    assertThat(collect(text("{\"type\":", false), continuation("\"ping\"", false), continuation("}", true)))
        .containsExactly(new IncomingFrame.Text("{\"type\":\"ping\"}"));
  }

  @Test
  void fragmentedTextOverTheLimitIsOversizedAndTheNextMessageIsWhole() throws Exception {
    List<byte[]> frames = new ArrayList<>();
    frames.add(text("0123456789abcdef", false));
    for (int i = 0; i < 1_000; i++) frames.add(continuation("0123456789abcdef", false));
    frames.add(continuation("", true));
    frames.add(text("{}", true));

    assertThat(collect(frames.toArray(byte[][]::new))).containsExactly(new IncomingFrame.Oversized(), new IncomingFrame.Text("{}"));
  }

  @Test
  void aLongFrameIsReadAcrossManyPieces() throws Exception {
    String text = "y".repeat(300); // a 16-bit length, 100 pieces
    List<IncomingFrame> received = collect(text(text, true), text("{}", true));

    assertThat(received).containsExactly(new IncomingFrame.Oversized(), new IncomingFrame.Text("{}"));
  }

  @Test
  void binaryIsDrainedAndRefused() throws Exception {
    assertThat(collect(clientFrame(BINARY, false, new byte[10]), clientFrame(CONTINUATION, true, new byte[10])))
        .containsExactly(new IncomingFrame.Binary());
  }

  @Test
  void aPingBetweenFragmentsIsAnsweredWithItsPayloadAndTheMessageGoesOn() {
    Wired ws = wired(Duration.ofSeconds(3), null);
    ws.session().request(1);
    ws.send(text("{\"a\":", false), clientFrame(PING, true, new byte[] {1, 2, 3}), continuation("1}", true));

    List<ServerFrame> frames = ws.receive(1);
    assertThat(frames.get(0).opcode()).isEqualTo(PONG);
    assertThat(frames.get(0).payload()).isEqualTo(ByteString.fromArray(new byte[] {1, 2, 3}));
    assertThat(ws.session().expectNext()).isEqualTo(new IncomingFrame.Text("{\"a\":1}"));
  }

  @Test
  void aClientFrameReachesTheSessionOnlyWhenItAsks() {
    Wired ws = wired(Duration.ofSeconds(3), null);
    ws.send(text("{\"a\":1}", true), text("{\"a\":2}", true));
    ws.session().request(1);
    assertThat(ws.session().expectNext()).isEqualTo(new IncomingFrame.Text("{\"a\":1}"));
    ws.session().request(1);
    assertThat(ws.session().expectNext()).isEqualTo(new IncomingFrame.Text("{\"a\":2}"));
  }

  @Test
  void sessionTextsGoToTheClientAsTextFrames() {
    Wired ws = wired(Duration.ofSeconds(3), null);
    ws.sessionOut().sendNext("{\"type\":\"hello\"}").sendNext("é");

    List<ServerFrame> frames = ws.receive(2);
    assertThat(frames).extracting(ServerFrame::opcode).containsExactly(TEXT, TEXT);
    assertThat(frames).extracting(ServerFrame::fin).containsExactly(true, true);
    assertThat(frames).extracting(ServerFrame::text).containsExactly("{\"type\":\"hello\"}", "é");
  }

  @Test
  void invalidUtf8IsClosedWith1007AndTheSessionFails() {
    Wired ws = wired(Duration.ofSeconds(3), null);
    ws.session().request(1);
    ws.send(clientFrame(TEXT, true, new byte[] {'{', (byte) 0xC3, (byte) 0x28, '}'}));

    List<ServerFrame> frames = ws.receive(1);
    assertThat(frames.get(0).opcode()).isEqualTo(CLOSE);
    assertThat(frames.get(0).closeCode()).isEqualTo(1007);
    assertThat(ws.session().expectError()).isInstanceOf(org.apache.pekko.http.impl.engine.ws.ProtocolException.class);
  }

  @Test
  void anUnmaskedFrameIsAProtocolError() {
    Wired ws = wired(Duration.ofSeconds(3), null);
    ws.session().request(1);
    ws.client().sendNext(ByteString.fromArray(new byte[] {(byte) 0x81, 2, '{', '}'}));

    List<ServerFrame> frames = ws.receive(1);
    assertThat(frames.get(0).opcode()).isEqualTo(CLOSE);
    assertThat(frames.get(0).closeCode()).isEqualTo(1002);
    ws.session().expectError();
  }

  @Test
  void aContinuationWithoutAMessageAndAReservedBitAreProtocolErrors() {
    for (byte[] bad : List.of(continuation("x", true), withRsv1(text("x", true)), clientFrame(3, true, new byte[0]), clientFrame(PING, false, new byte[0]))) {
      Wired ws = wired(Duration.ofSeconds(3), null);
      ws.session().request(1);
      ws.send(bad);
      List<ServerFrame> frames = ws.receive(1);
      assertThat(frames.get(0).opcode()).isEqualTo(CLOSE);
      assertThat(frames.get(0).closeCode()).isEqualTo(1002);
    }
  }

  private static byte[] withRsv1(byte[] frame) {
    frame[0] |= 0x40;
    return frame;
  }

  /** RFC 6455 5.5.1: the client's close is answered with its code once the session has ended, then the TCP connection closes. */
  @Test
  void aClientsCloseIsAnsweredWhenTheSessionHasEnded() {
    Wired ws = wired(Duration.ofSeconds(3), null);
    ws.session().request(1);
    ws.send(close(1001));
    ws.session().expectComplete();
    ws.sessionOut().sendNext("{\"last\":true}").sendComplete();

    List<ServerFrame> frames = ws.receive(2);
    assertThat(frames).extracting(ServerFrame::opcode).containsExactly(TEXT, CLOSE);
    assertThat(frames.get(1).closeCode()).isEqualTo(1001);
    ws.fromServer().request(1);
    ws.fromServer().expectComplete();
  }

  /** The session's end sends a close frame after its last text; a client that never answers is dropped after the close timeout. */
  @Test
  void theSessionsEndClosesAndAClientThatDoesNotAnswerIsDroppedAfterTheCloseTimeout() {
    Wired ws = wired(Duration.ofMillis(200), null);
    ws.sessionOut().sendNext("{\"bye\":true}").sendComplete();

    List<ServerFrame> frames = ws.receive(2);
    assertThat(frames).extracting(ServerFrame::opcode).containsExactly(TEXT, CLOSE);
    assertThat(frames.get(1).closeCode()).isEqualTo(1000);
    ws.fromServer().request(1);
    ws.fromServer().expectComplete();
  }

  @Test
  void theClientsAnswerToOurCloseEndsTheConnectionAtOnce() {
    Wired ws = wired(Duration.ofSeconds(30), null);
    ws.sessionOut().sendComplete();
    assertThat(ws.receive(1).get(0).opcode()).isEqualTo(CLOSE);
    ws.send(close(1000));
    ws.fromServer().request(1);
    ws.fromServer().expectComplete();
  }

  @Test
  void aLengthWithItsHighBitSetIsAProtocolError() {
    Wired ws = wired(Duration.ofSeconds(3), null);
    ws.session().request(1);
    ws.client().sendNext(ByteString.fromArray(new byte[] {(byte) 0x81, (byte) (0x80 | 127), (byte) 0x80, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4}));

    List<ServerFrame> frames = ws.receive(1);
    assertThat(frames.get(0).opcode()).isEqualTo(CLOSE);
    assertThat(frames.get(0).closeCode()).isEqualTo(1002);
  }

  @Test
  void aLongSessionTextGoesOutWithA16BitLength() {
    Wired ws = wired(Duration.ofSeconds(3), null);
    String text = "z".repeat(1_000);
    ws.sessionOut().sendNext(text);

    List<ServerFrame> frames = ws.receive(1);
    assertThat(frames.get(0).text()).isEqualTo(text);
  }

  /** A client that sends and then closes its TCP connection without a close frame: what it sent still reaches the session, then its end. */
  @Test
  void messagesBeforeATcpCloseReachTheSessionBeforeItsEnd() {
    Wired ws = wired(Duration.ofSeconds(3), null);
    ws.send(text("{\"a\":1}", true), text("{\"a\":2}", true));
    ws.client().sendComplete();
    ws.session().request(3);
    assertThat(ws.session().expectNext()).isEqualTo(new IncomingFrame.Text("{\"a\":1}"));
    assertThat(ws.session().expectNext()).isEqualTo(new IncomingFrame.Text("{\"a\":2}"));
    ws.session().expectComplete();
  }

  @Test
  void aTcpCloseInTheMiddleOfAFrameIsATruncation() {
    Wired ws = wired(Duration.ofSeconds(3), null);
    byte[] frame = text("{\"a\":1}", true);
    ws.client().sendNext(ByteString.fromArray(frame, 0, frame.length - 2));
    ws.client().sendComplete();
    ws.session().request(1);
    assertThat(ws.session().expectError()).hasMessageContaining("truncated");
  }

  /** Keep-alive: a ping after that long without a frame from the client, none while it talks. */
  @Test
  void aSilentClientIsPingedAfterTheKeepAlive() {
    Wired ws = wired(Duration.ofSeconds(3), Duration.ofMillis(300));
    List<ServerFrame> frames = ws.receive(1);
    assertThat(frames.get(0).opcode()).isEqualTo(PING);
  }
}
