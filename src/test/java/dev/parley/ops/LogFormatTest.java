package dev.parley.ops;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.AsyncAppender;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.encoder.JsonEncoder;
import ch.qos.logback.classic.encoder.PatternLayoutEncoder;
import ch.qos.logback.classic.joran.JoranConfigurator;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.ConsoleAppender;
import ch.qos.logback.core.encoder.Encoder;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.slf4j.MDC;

/** The shipped logback.xml: readable lines by default, JSON lines with PARLEY_LOG_FORMAT=json. */
class LogFormatTest {

  @Test
  void readableLinesByDefault() throws Exception {
    Encoder<ILoggingEvent> encoder = consoleEncoder(Map.of());
    assertThat(encoder).isInstanceOf(PatternLayoutEncoder.class);
    assertThat(((PatternLayoutEncoder) encoder).getPattern()).contains("%X{user", "%X{conversation");
  }

  @Test
  void jsonLinesWithOneSetting() throws Exception {
    LoggerContext context = configured(Map.of("PARLEY_LOG_FORMAT", "json"));
    Encoder<ILoggingEvent> encoder = consoleEncoder(context);
    assertThat(encoder).isInstanceOf(JsonEncoder.class);

    Logger logger = context.getLogger("dev.parley.test");
    MDC.put("user", "alice");
    MDC.put("conversation", "c1");
    ILoggingEvent event;
    try {
      event = new ch.qos.logback.classic.spi.LoggingEvent(
          Logger.class.getName(), logger, ch.qos.logback.classic.Level.INFO, "persisted seq {}", null, new Object[] {7});
      event.getMDCPropertyMap(); // copies the MDC now, as appenders do when the event is created
    } finally {
      MDC.clear();
    }
    String line = new String(encoder.encode(event), StandardCharsets.UTF_8);
    assertThat(line).endsWith("\n").doesNotContain("\n\n");
    JsonNode json = new ObjectMapper().readTree(line);
    assertThat(json.path("level").asText()).isEqualTo("INFO");
    assertThat(json.path("loggerName").asText()).isEqualTo("dev.parley.test");
    assertThat(json.path("formattedMessage").asText()).isEqualTo("persisted seq 7");
    assertThat(json.path("mdc").path("user").asText()).isEqualTo("alice");
    assertThat(json.path("mdc").path("conversation").asText()).isEqualTo("c1");
    context.stop();
  }

  private static Encoder<ILoggingEvent> consoleEncoder(Map<String, String> properties) throws Exception {
    LoggerContext context = configured(properties);
    try {
      return consoleEncoder(context);
    } finally {
      context.stop();
    }
  }

  private static Encoder<ILoggingEvent> consoleEncoder(LoggerContext context) {
    AsyncAppender async = (AsyncAppender) context.getLogger(Logger.ROOT_LOGGER_NAME).getAppender("ASYNC");
    return ((ConsoleAppender<ILoggingEvent>) async.getAppender("CONSOLE")).getEncoder();
  }

  /** A fresh Logback context configured from the shipped logback.xml, as a node's would be. */
  private static LoggerContext configured(Map<String, String> properties) throws Exception {
    LoggerContext context = new LoggerContext();
    // The MDC that slf4j's static MDC writes to, so events of this context see it.
    context.setMDCAdapter(MDC.getMDCAdapter());
    properties.forEach(context::putProperty);
    JoranConfigurator configurator = new JoranConfigurator();
    configurator.setContext(context);
    configurator.doConfigure(LogFormatTest.class.getResource("/logback.xml"));
    return context;
  }
}
