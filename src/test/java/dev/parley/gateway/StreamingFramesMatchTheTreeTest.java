package dev.parley.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Objects;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.Example;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/**
 * Client frames are parsed by a streaming parser straight into their fields (issue 18), and must be
 * answered exactly as the tree decoder answered them ({@link TreeFrameDecoder}): for any text, the
 * same decoded frame, or the same error code, the same message and the same echoed request id.
 */
public class StreamingFramesMatchTheTreeTest {

  private static final GatewaySettings SETTINGS =
      new GatewaySettings(65_536, 40, 8, 4, 1_000, 100, java.time.Duration.ofSeconds(3),
          new IdleConnections.Settings(java.time.Duration.ofSeconds(90), java.time.Duration.ofSeconds(5)), java.time.Duration.ofSeconds(10));
  private static final Frames streaming = new Frames(SETTINGS);
  private static final TreeFrameDecoder tree = new TreeFrameDecoder(SETTINGS);

  /** What a text came to: a frame, or an error with the id the error frame echoes. */
  record Outcome(ClientFrame frame, String code, String message, JsonNode echoedId) {}

  static Outcome streaming(String text) {
    FrameFields fields = null;
    try {
      fields = FrameFields.parse(text);
      return new Outcome(streaming.decode(fields), null, null, null);
    } catch (ProtocolException e) {
      return new Outcome(null, e.code().code(), e.getMessage(), fields == null ? null : fields.requestId());
    }
  }

  static Outcome tree(String text) {
    ObjectNode json = null;
    try {
      json = TreeFrameDecoder.parseObject(text);
      return new Outcome(tree.decode(json), null, null, null);
    } catch (ProtocolException e) {
      return new Outcome(null, e.code().code(), e.getMessage(), json == null ? null : TreeFrameDecoder.requestId(json));
    }
  }

  static void assertSameAnswer(String text) {
    Outcome expected = tree(text);
    assertThat(streaming(text)).as("answer to %s", text.length() > 300 ? text.substring(0, 300) + "..." : text).isEqualTo(expected);
  }

  @Property(tries = 2000)
  void hostileTextIsAnsweredAsTheTreeAnsweredIt(@ForAll("hostile") String text) {
    assertSameAnswer(text);
  }

  @Property(tries = 3000)
  void frameShapedObjectsAreAnsweredAsTheTreeAnsweredThem(@ForAll("frames") String text) {
    assertSameAnswer(text);
  }

  @Example
  void edgeCasesAreAnsweredAsTheTreeAnsweredThem() {
    String huge = "x".repeat((1 << 20) + 1);
    for (String text : new String[] {
        "", " ", "null", "1", "\"a\"", "[]", "[1,2]", "[1,2", "{}", "{} ", "{} x", "{}{}", "{\"type\":\"ping\"} 1", "[] {",
        "{\"type\":\"ping\",\"id\":-0}", "{\"type\":\"ping\",\"id\":2147483648}", "{\"type\":\"ping\",\"id\":-2147483649}",
        "{\"type\":\"ping\",\"id\":9223372036854775808}", "{\"type\":\"ping\",\"id\":1e2}", "{\"type\":\"ping\",\"id\":null}",
        "{\"type\":\"ping\",\"id\":1,\"id\":\"two\"}", "{\"type\":\"send\",\"type\":\"ping\"}",
        "{\"type\":\"ping\",\"x\":\"" + huge + "\"}", "\"" + huge + "\"", "[\"" + huge + "\"]",
        "{\"type\":\"ping\",\"x\":[" + "[".repeat(20) + "]".repeat(20) + "]}",
        "{\"type\":\"ping\",\"x\":" + "9".repeat(40) + "}", "{\"type\":\"ping\",\"x\":1." + "9".repeat(40) + "}",
        "{\"type\":\"create\",\"members\":[\"a\",[\"b\"],{\"c\":1}]}", "{\"type\":\"create\",\"members\":[\"a\",\"\\ud800\"]}",
        "{\"type\":\"create\",\"members\":\"a\"}", "{\"type\":\"create\",\"members\":[" + "\"u\",".repeat(1000) + "\"u\"]}",
        "{\"type\":\"create\",\"conversation\":null,\"title\":\"\\udc00\"}",
        "{\"type\":\"presence_subscribe\",\"conversation\":\"c\",\"counts\":true,\"users\":[\"a\"]}",
        "{\"type\":\"presence_subscribe\",\"conversation\":\"c\",\"counts\":null,\"users\":[\"a\",\"a\",\"\"]}",
        "{\"type\":\"presence_subscribe\",\"conversation\":\"c\",\"counts\":1}",
        "{\"type\":\"presence\",\"conversation\":\"c\",\"after\":\"\",\"limit\":3}",
        "{\"type\":\"set_presence\",\"status\":\"away\"}", "{\"type\":\"set_presence\",\"status\":true}",
        "{\"type\":\"mute\",\"conversation\":\"c\",\"muted\":null}", "{\"type\":\"mute\",\"conversation\":\"c\",\"muted\":\"yes\"}",
        "{\"type\":\"inbox\",\"cursor\":\"zz\"}", "{\"type\":\"history\",\"conversation\":\"c\",\"limit\":1.0}",
    }) {
      assertSameAnswer(text);
    }
  }

  @Provide
  Arbitrary<String> hostile() {
    return HostileFramesTest.hostileTexts();
  }

  @Provide
  Arbitrary<String> frames() {
    Arbitrary<String> type =
        Arbitraries.of("create", "invite", "leave", "subscribe", "unsubscribe", "send", "edit", "delete", "history",
            "typing", "ping", "inbox", "read", "mute", "presence", "presence_subscribe", "presence_unsubscribe",
            "set_presence", "", "SEND");
    Arbitrary<String> field = Arbitraries.of("id", "conversation", "members", "title", "user", "since", "clientMsgId",
        "text", "seq", "before", "limit", "type", "cursor", "muted", "after", "counts", "users", "status", "extra");
    Arbitrary<String> userId = Arbitraries.oneOf(
        Arbitraries.strings().alpha().ofMaxLength(5).map(HostileFramesTest::quoted),
        Arbitraries.of("1", "null", "{}", "[]", "\"\"", "\" \"", "\"\\ud800\"", "\"" + "u".repeat(129) + "\""));
    Arbitrary<String> value =
        Arbitraries.oneOf(
            Arbitraries.strings().ofMaxLength(40).map(HostileFramesTest::quoted),
            Arbitraries.strings().withChars("abc.:_-").ofMinLength(1).ofMaxLength(6).map(HostileFramesTest::quoted),
            Arbitraries.longs().map(String::valueOf),
            Arbitraries.integers().between(-2, 5).map(String::valueOf),
            Arbitraries.doubles().map(String::valueOf),
            userId.list().ofMaxSize(4).map(us -> "[" + String.join(",", us) + "]"),
            Arbitraries.of("null", "true", "false", "[]", "{}", "[\"a\",1,null]", "-0", "1e999", "-1e999", "2.0",
                "18446744073709551616", "\"away\"", "\"online\"", "\"" + "x".repeat(5000) + "\"", "{\"a\":[1,{\"b\":\"c\"}]}"));
    Arbitrary<String> member = Combinators.combine(field, value).as((f, v) -> HostileFramesTest.quoted(f) + ":" + v);
    return Combinators.combine(type, member.list().ofMaxSize(8), Arbitraries.integers().between(0, 8))
        .as((t, members, at) -> {
          // The type anywhere among the fields (or not at all when it lands past the end).
          java.util.List<String> all = new java.util.ArrayList<>(members);
          if (at <= all.size()) all.add(at, "\"type\":" + HostileFramesTest.quoted(t));
          return "{" + String.join(",", all) + "}";
        });
  }

  @Example
  void theOracleIsTheTreeDecoder() {
    // Guards the test itself: the two decoders differ where they must (an object id is refused, a
    // string id echoed), so an oracle that always agreed with anything would fail here.
    assertThat(tree("{\"type\":\"ping\",\"id\":\"a\"}").frame()).isNotNull();
    assertThat(Objects.requireNonNull(tree("{\"type\":\"ping\",\"id\":{}}").code())).isEqualTo("bad_request");
  }
}
