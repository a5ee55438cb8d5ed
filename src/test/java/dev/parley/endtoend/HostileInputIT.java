package dev.parley.endtoend;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.parley.gateway.HostileFramesTest;
import dev.parley.testing.ApiClient;
import dev.parley.testing.TestNode;
import dev.parley.testing.WsClient;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Assume;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.lifecycle.AfterContainer;
import net.jqwik.api.lifecycle.BeforeContainer;

/**
 * Hostile input over the real network against a real node: generated frames over one websocket,
 * binary frames, and generated HTTP requests (paths, query strings, bodies, tokens). Every input
 * is answered with an error or a valid reply, the connection and the node stay up, and no answer
 * carries a stack trace or a class name.
 */
class HostileInputIT {

  private static TestNode node;
  private static WsClient socket;
  private static String token;

  @BeforeContainer
  static void start() throws Exception {
    node = TestNode.onH2();
    socket = node.connect("mallory");
    token = node.token("mallory");
  }

  @AfterContainer
  static void stop() throws Exception {
    socket.close();
    node.close();
  }

  @Property(tries = 300)
  void hostileTextOverAWebsocketIsAnsweredAndTheConnectionStaysUp(@ForAll("anyText") String text) {
    // The JDK client cannot put unpaired surrogates on the wire (they are not UTF-16 text).
    Assume.that(StandardCharsets.UTF_8.newEncoder().canEncode(text));
    socket.sendText(text);

    List<ObjectNode> answers = socket.framesBeforePong();

    answers.forEach(HostileInputIT::assertNoInternals);
    if (!isJsonObject(text)) {
      assertThat(answers).as("answers to %s", abbreviate(text)).anySatisfy(f -> assertThat(f.path("type").asText()).isEqualTo("error"));
    }
    assertThat(socket.isOpen()).isTrue();
  }

  @Property(tries = 50)
  void binaryFramesAreRefusedAndTheConnectionStaysUp(@ForAll byte[] bytes) {
    socket.sendBinary(bytes);

    List<ObjectNode> answers = socket.framesBeforePong();

    assertThat(answers).anySatisfy(f -> assertThat(f.path("code").asText()).isEqualTo("bad_request"));
    assertThat(socket.isOpen()).isTrue();
  }

  @Property(tries = 400)
  void hostileHttpRequestsAreAnsweredWithJsonAndNeverWithAServerError(
      @ForAll("paths") String path, @ForAll("bodies") String body, @ForAll("tokens") String bearer, @ForAll boolean post) {
    Assume.that(StandardCharsets.UTF_8.newEncoder().canEncode(body));
    ApiClient api = node.api();

    ApiClient.Response response = post ? api.post(path, bearer, body) : api.get(path, bearer);

    assertThat(response.status()).as("%s %s", post ? "POST" : "GET", path).isBetween(200, 499);
    if (response.body().isObject()) {
      if (response.status() >= 400) assertThat(response.errorCode()).isNotBlank();
    } else {
      // A path like /v1/.. or /v1/%2e%2e resolves to /, the browser chat client's public page:
      // the only answer that is not JSON.
      assertThat(response.status()).isEqualTo(200);
      assertThat(response.body().asText()).contains("<title>Parley</title>");
    }
    assertNoInternals(response.body());
    assertThat(api.get("/health", null).status()).isEqualTo(200);
  }

  @Provide
  Arbitrary<String> anyText() {
    return Arbitraries.oneOf(HostileFramesTest.hostileTexts(), HostileFramesTest.frameShapedTexts());
  }

  @Provide
  Arbitrary<String> bodies() {
    return Arbitraries.oneOf(
        HostileFramesTest.hostileTexts(),
        HostileFramesTest.frameShapedTexts(),
        Arbitraries.strings().withChars("x").ofLength(5000).map(x -> "{\"text\":\"" + x + "\"}"));
  }

  @Provide
  Arbitrary<String> paths() {
    Arbitrary<String> segment =
        Arbitraries.oneOf(
            Arbitraries.strings().ofMaxLength(30).map(s -> URLEncoder.encode(s, StandardCharsets.UTF_8)),
            Arbitraries.of("..", "%2e%2e", "%00", "%ff%fe", "a%2Fb", "x".repeat(300), "c"));
    Arbitrary<String> query =
        Arbitraries.oneOf(
            Arbitraries.just(""),
            Combinators.combine(Arbitraries.of("before", "limit", "since", "x"), Arbitraries.of("1", "-1", "0", "abc", "1e99",
                    "99999999999999999999999", "", "%00"))
                .as((k, v) -> "?" + k + "=" + v));
    return Arbitraries.oneOf(
        Arbitraries.just("/v1/conversations"),
        Combinators.combine(segment, query).as((s, q) -> "/v1/conversations/" + s + "/messages" + q),
        segment.map(s -> "/v1/" + s),
        segment.map(s -> "/v1/conversations/" + s));
  }

  @Provide
  Arbitrary<String> tokens() {
    return Arbitraries.oneOf(
        Arbitraries.just(token),
        Arbitraries.of("", "null", "a.b.c", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJhbGljZSJ9."),
        Arbitraries.strings().alpha().ofMaxLength(40));
  }

  private static void assertNoInternals(JsonNode answer) {
    assertThat(answer.toString()).doesNotContain("Exception", "\tat ", "dev.parley.", "org.apache", "java.", "scala.");
  }

  private static boolean isJsonObject(String text) {
    try {
      return WsClient.JSON.readTree(text) instanceof ObjectNode;
    } catch (Exception e) {
      return false;
    }
  }

  private static String abbreviate(String text) {
    return text.length() > 80 ? text.substring(0, 80) + "..." : text;
  }
}
