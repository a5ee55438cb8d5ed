package dev.parley.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import com.typesafe.config.ConfigFactory;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.http.javadsl.model.ws.BinaryMessage;
import org.apache.pekko.http.javadsl.model.ws.Message;
import org.apache.pekko.http.javadsl.model.ws.TextMessage;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.util.ByteString;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

class WebSocketRouteTest {
  /** Only Pekko's own defaults: application.conf would start cluster remoting on a fixed port. */
  private static final ActorTestKit testKit = ActorTestKit.create(ConfigFactory.empty());
  private static final Materializer materializer = Materializer.matFromSystem(testKit.system());
  private static final int MAX_BYTES = 16;

  @AfterAll
  static void shutdown() {
    testKit.shutdownTestKit();
  }

  private static IncomingFrame collect(Message message) throws Exception {
    return WebSocketRoute.collect(message, MAX_BYTES, materializer).toCompletableFuture().get(5, TimeUnit.SECONDS);
  }

  @Test
  void strictTextWithinTheLimitIsCollected() throws Exception {
    assertThat(collect(TextMessage.create("{\"type\":\"ping\"}"))).isEqualTo(new IncomingFrame.Text("{\"type\":\"ping\"}"));
  }

  @Test
  void strictTextOfExactlyTheLimitIsCollected() throws Exception {
    String text = "x".repeat(MAX_BYTES);

    assertThat(collect(TextMessage.create(text))).isEqualTo(new IncomingFrame.Text(text));
  }

  @Test
  void strictTextOneByteOverTheLimitIsOversized() throws Exception {
    assertThat(collect(TextMessage.create("x".repeat(MAX_BYTES + 1)))).isEqualTo(new IncomingFrame.Oversized());
  }

  @Test
  void strictTextIsMeasuredInUtf8BytesNotCharacters() throws Exception {
    // 9 characters, 18 bytes.
    assertThat(collect(TextMessage.create("é".repeat(9)))).isEqualTo(new IncomingFrame.Oversized());
  }

  @Test
  void streamedTextWithinTheLimitIsJoinedInOrder() throws Exception {
    Message message = TextMessage.create(Source.from(List.of("{\"type\":", "\"ping\"", "}")));

    assertThat(collect(message)).isEqualTo(new IncomingFrame.Text("{\"type\":\"ping\"}"));
  }

  @Test
  void streamedTextOverTheLimitIsOversized() throws Exception {
    Message message = TextMessage.create(Source.from(List.of("0123456789", "0123456789")));

    assertThat(collect(message)).isEqualTo(new IncomingFrame.Oversized());
  }

  @Test
  void streamedTextFarOverTheLimitIsDrainedAndOversized() throws Exception {
    Message message = TextMessage.create(Source.repeat("0123456789abcdef").take(10_000));

    assertThat(collect(message)).isEqualTo(new IncomingFrame.Oversized());
  }

  @Test
  void streamedTextOfExactlyTheLimitIsCollected() throws Exception {
    Message message = TextMessage.create(Source.from(List.of("01234567", "89abcdef")));

    assertThat(collect(message)).isEqualTo(new IncomingFrame.Text("0123456789abcdef"));
  }

  @Test
  void strictBinaryIsRefused() throws Exception {
    assertThat(collect(BinaryMessage.create(ByteString.fromString("{\"type\":\"ping\"}")))).isEqualTo(new IncomingFrame.Binary());
  }

  @Test
  void streamedBinaryIsDrainedAndRefused() throws Exception {
    Message message = BinaryMessage.create(Source.repeat(ByteString.fromString("0123456789")).take(1_000));

    assertThat(collect(message)).isEqualTo(new IncomingFrame.Binary());
  }

  @Test
  void bearerPrefersTheQueryTokenThenTheAuthorizationHeader() {
    assertThat(WebSocketRoute.bearer(Optional.of("q"), Optional.of("Bearer h"))).isEqualTo("q");
    assertThat(WebSocketRoute.bearer(Optional.empty(), Optional.of("bearer  h "))).isEqualTo("h");
    assertThat(WebSocketRoute.bearer(Optional.empty(), Optional.of("Basic abc"))).isNull();
    assertThat(WebSocketRoute.bearer(Optional.empty(), Optional.empty())).isNull();
  }
}
