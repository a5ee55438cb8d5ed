package dev.parley.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/**
 * The frame parser against hostile text: whatever arrives, the answer is a decoded frame or a
 * {@link ProtocolException} with a protocol code and a message free of internals; nothing else is
 * ever thrown (an exception escaping here would reach the session's supervisor).
 */
public class HostileFramesTest {

  private static final Frames frames = new Frames(new GatewaySettings(65_536, 4000, 8, 4, 1_000, 100, java.time.Duration.ofSeconds(3), new IdleConnections.Settings(java.time.Duration.ofSeconds(90), java.time.Duration.ofSeconds(5)), java.time.Duration.ofSeconds(10)));

  @Property(tries = 1000)
  void anyTextDecodesOrIsRefusedWithAProtocolError(@ForAll("hostileText") String text) {
    assertDecodesOrRefuses(text);
  }

  @Property(tries = 1000)
  void anyFrameShapedObjectDecodesOrIsRefusedWithAProtocolError(@ForAll("frameShaped") String text) {
    assertDecodesOrRefuses(text);
  }

  static void assertDecodesOrRefuses(String text) {
    try {
      ClientFrame frame = frames.decode(FrameFields.parse(text));
      assertThat(frame).isNotNull();
    } catch (ProtocolException e) {
      assertThat(e.code()).isNotNull();
      assertThat(e.getMessage()).doesNotContain("Exception", "at com.", "at dev.", "jackson");
    }
  }

  @Provide
  Arbitrary<String> hostileText() {
    return hostileTexts();
  }

  @Provide
  Arbitrary<String> frameShaped() {
    return frameShapedTexts();
  }

  /** Malformed JSON, deep nesting, huge numbers, lone surrogates, and any text at all. */
  public static Arbitrary<String> hostileTexts() {
    return Arbitraries.oneOf(
        Arbitraries.strings().all().ofMaxLength(200),
        Arbitraries.strings().withChars("{}[]\\\":,0123456789eE+-.truefalsnul ").ofMaxLength(200),
        Arbitraries.integers().between(1, 5000).map(depth -> "[".repeat(depth) + "]".repeat(depth)),
        Arbitraries.integers().between(1, 5000).map(depth -> "{\"a\":".repeat(depth) + "1" + "}".repeat(depth)),
        Arbitraries.integers().between(1, 400).map(n -> "{\"type\":\"send\",\"id\":" + "9".repeat(n) + "}"),
        Arbitraries.integers().between(1, 400).map(n -> "{\"type\":\"history\",\"conversation\":\"c\",\"before\":1e" + n + "}"),
        Arbitraries.strings().withCharRange('\uD800', '\uDFFF').ofMinLength(1).ofMaxLength(20)
            .map(lone -> "{\"type\":\"send\",\"conversation\":\"c\",\"clientMsgId\":\"m\",\"text\":\"" + lone + "\"}"));
  }

  /** JSON objects that look like protocol frames, with wrong, missing, huge or mistyped fields. */
  public static Arbitrary<String> frameShapedTexts() {
    Arbitrary<String> type =
        Arbitraries.of("create", "invite", "leave", "subscribe", "unsubscribe", "send", "edit", "delete", "history",
            "typing", "ping", "inbox", "read", "", "SEND", "__proto__");
    Arbitrary<String> field = Arbitraries.of("id", "conversation", "members", "title", "user", "since", "clientMsgId",
        "text", "seq", "before", "limit", "type");
    Arbitrary<String> value =
        Arbitraries.oneOf(
            Arbitraries.strings().ofMaxLength(40).map(HostileFramesTest::quoted),
            Arbitraries.longs().map(String::valueOf),
            Arbitraries.doubles().map(String::valueOf),
            Arbitraries.of("null", "true", "false", "[]", "{}", "[\"a\",1,null]", "-0", "1e999", "-1e999",
                "18446744073709551616", "\"" + "x".repeat(5000) + "\""));
    Arbitrary<String> member = Combinators.combine(field, value).as((f, v) -> quoted(f) + ":" + v);
    return Combinators.combine(type, member.list().ofMaxSize(8))
        .as((t, members) -> "{\"type\":" + quoted(t) + (members.isEmpty() ? "" : "," + String.join(",", members)) + "}");
  }

  public static String quoted(String s) {
    StringBuilder out = new StringBuilder("\"");
    for (char c : s.toCharArray()) {
      if (c == '"' || c == '\\') out.append('\\').append(c);
      else if (c < 0x20) out.append(String.format("\\u%04x", (int) c));
      else out.append(c);
    }
    return out.append('"').toString();
  }
}
