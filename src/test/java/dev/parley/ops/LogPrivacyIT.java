package dev.parley.ops;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.encoder.JsonEncoder;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.ThrowableProxyUtil;
import ch.qos.logback.core.OutputStreamAppender;
import ch.qos.logback.core.read.ListAppender;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.parley.testing.TestNode;
import dev.parley.testing.WsClient;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.slf4j.LoggerFactory;

/**
 * Everything a node logs while real clients chat (at DEBUG for Parley's own loggers), captured by
 * appenders added to the root logger: no message text and no token appears anywhere in it, request
 * paths carry the user and the conversation in the MDC, and the JSON encoder writes one parseable
 * JSON object per line.
 */
class LogPrivacyIT {

  @ParameterizedTest
  @ValueSource(strings = {"h2", "postgres"})
  void logsCarryUserAndConversationButNoTextsOrTokens(String storage) throws Exception {
    LoggerContext context = (LoggerContext) LoggerFactory.getILoggerFactory();
    Logger root = context.getLogger(Logger.ROOT_LOGGER_NAME);
    Logger parley = context.getLogger("dev.parley");
    Level parleyLevel = parley.getLevel();
    ListAppender<ILoggingEvent> events = new ListAppender<>();
    events.setContext(context);
    events.start();
    ByteArrayOutputStream jsonBytes = new ByteArrayOutputStream();
    OutputStreamAppender<ILoggingEvent> json = jsonAppender(context, jsonBytes);
    root.addAppender(events);
    root.addAppender(json);
    parley.setLevel(Level.DEBUG);

    String secret = "secret-text-" + UUID.randomUUID();
    String room = "logs-" + storage;
    List<String> tokens = new ArrayList<>();
    try (TestNode node = storage.equals("h2") ? TestNode.onH2() : TestNode.onPostgres()) {
      String aliceToken = node.token("alice");
      String bobToken = node.token("bob");
      String forged = aliceToken.substring(0, aliceToken.length() - 4) + "AAAA";
      tokens.addAll(List.of(aliceToken, bobToken, forged, TestNode.ADMIN_TOKEN));
      try (WsClient alice = WsClient.connect(node.wsUri(aliceToken));
          WsClient bob = WsClient.connect(node.wsUri(bobToken))) {
        assertThat(alice.request(WsClient.frame("create").put("conversation", room).set("members", WsClient.JSON.createArrayNode().add("bob")))
                .path("type").asText())
            .isEqualTo("created");
        assertThat(bob.request(WsClient.frame("subscribe").put("conversation", room).put("since", 0)).path("type").asText())
            .isEqualTo("subscribed");
        ObjectNode send = WsClient.frame("send").put("conversation", room).put("clientMsgId", "m1").put("text", secret);
        assertThat(alice.request(send).path("type").asText()).isEqualTo("ack");
        assertThat(bob.expectEvents(room, 2).get(1).toString()).contains(secret);
        // Refused frames: the text must not reach the log through an error either.
        alice.sendText("{\"type\":\"send\",\"conversation\":\"" + room + "\",\"text\":\"" + secret + "\"");
        alice.expect("error");
        ObjectNode tooLong = WsClient.frame("send").put("conversation", room).put("clientMsgId", "m2").put("text", secret + "x".repeat(TestNode.MAX_TEXT_LENGTH));
        assertThat(alice.request(tooLong).path("type").asText()).isEqualTo("error");
      }
      assertThat(WsClient.refusedUpgradeStatus(node.wsUri(forged))).isEqualTo(401);
    } finally {
      parley.setLevel(parleyLevel);
      root.detachAppender(events);
      root.detachAppender(json);
      json.stop();
    }

    List<ILoggingEvent> captured = List.copyOf(events.list);
    assertThat(captured).isNotEmpty();
    for (ILoggingEvent event : captured) {
      String everything = render(event);
      assertThat(everything).as("a log event").doesNotContain(secret);
      for (String token : tokens) assertThat(everything).as("a log event").doesNotContain(token);
    }
    assertThat(captured)
        .as("session log lines carry the user")
        .anyMatch(e -> e.getFormattedMessage().equals("connection opened") && "alice".equals(e.getMDCPropertyMap().get("user")));
    assertThat(captured)
        .as("conversation log lines carry the conversation")
        .anyMatch(e -> e.getFormattedMessage().startsWith("persisted seq 2") && room.equals(e.getMDCPropertyMap().get("conversation")));

    String jsonText = jsonBytes.toString(StandardCharsets.UTF_8);
    assertThat(jsonText).doesNotContain(secret);
    List<JsonNode> lines = new ArrayList<>();
    for (String line : jsonText.split("\n")) {
      if (!line.isBlank()) lines.add(WsClient.JSON.readTree(line));
    }
    assertThat(lines).hasSizeGreaterThanOrEqualTo(captured.size() / 2).allSatisfy(line -> {
      assertThat(line.isObject()).isTrue();
      assertThat(line.has("level")).isTrue();
      assertThat(line.has("loggerName")).isTrue();
      assertThat(line.has("formattedMessage")).isTrue();
    });
    assertThat(lines).anyMatch(line -> "alice".equals(line.path("mdc").path("user").asText()));
  }

  private static OutputStreamAppender<ILoggingEvent> jsonAppender(LoggerContext context, ByteArrayOutputStream sink) {
    JsonEncoder encoder = new JsonEncoder();
    encoder.setContext(context);
    encoder.setWithFormattedMessage(true);
    encoder.setWithArguments(false);
    encoder.start();
    OutputStreamAppender<ILoggingEvent> appender = new OutputStreamAppender<>();
    appender.setContext(context);
    appender.setEncoder(encoder);
    appender.setOutputStream(sink);
    appender.start();
    return appender;
  }

  /** Everything of an event that an encoder could write. */
  private static String render(ILoggingEvent event) {
    StringBuilder all = new StringBuilder(event.getFormattedMessage()).append(' ').append(event.getMDCPropertyMap());
    if (event.getArgumentArray() != null) for (Object arg : event.getArgumentArray()) all.append(' ').append(arg);
    if (event.getThrowableProxy() != null) all.append(' ').append(ThrowableProxyUtil.asString(event.getThrowableProxy()));
    return all.toString();
  }
}
