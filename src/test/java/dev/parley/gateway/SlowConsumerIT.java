package dev.parley.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import static org.awaitility.Awaitility.await;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import com.fasterxml.jackson.databind.JsonNode;

import dev.parley.cluster.NodeLifecycle;
import dev.parley.testing.RawWebSocket;
import dev.parley.testing.TestNode;
import dev.parley.testing.WsClient;
import java.io.DataInputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/**
 * A client that stops reading falls {@code outbound-buffer} frames behind: it gets one last error
 * frame ("slow consumer") and the connection is closed, while the node keeps serving. The client is
 * a raw socket with a small receive buffer that asks for many large history pages and reads nothing
 * until it has asked for all of them. The node says in its log, at INFO, whose connection it closed and why.
 */
class SlowConsumerIT {

  private static final int REQUESTS = 300;
  private static TestNode node;

  @BeforeAll
  static void start() throws Exception {
    node = TestNode.onH2();
  }

  @AfterAll
  static void stop() throws Exception {
    node.close();
  }

  @Test
  void aClientThatStopsReadingGetsTheSlowConsumerErrorAndIsDisconnected() throws Exception {
    String conversation = "slow-" + UUID.randomUUID();
    try (WsClient alice = node.connect("alice")) {
      assertThat(alice.request(WsClient.frame("create").put("conversation", conversation)).path("type").asText()).isEqualTo("created");
      for (int i = 0; i < 60; i++) {
        JsonNode ack = alice.request(
            WsClient.frame("send").put("conversation", conversation).put("clientMsgId", "m" + i).put("text", "x".repeat(900)));
        assertThat(ack.path("type").asText()).isEqualTo("ack");
      }
    }

    Logger gateway = ((LoggerContext) LoggerFactory.getILoggerFactory()).getLogger("dev.parley.gateway");
    ListAppender<ILoggingEvent> logged = new ListAppender<>();
    logged.setContext(gateway.getLoggerContext());
    logged.start();
    gateway.addAppender(logged);
    List<String> texts = new ArrayList<>();
    int closeStatus;
    try (Socket socket = new Socket()) {
      socket.setReceiveBufferSize(4096);
      socket.connect(new InetSocketAddress("127.0.0.1", node.httpPort()));
      socket.setSoTimeout(20_000);
      OutputStream out = socket.getOutputStream();
      DataInputStream in = new DataInputStream(socket.getInputStream());
      RawWebSocket.handshake(out, in, node.httpPort(), node.token("alice"));
      for (int i = 0; i < REQUESTS; i++) {
        String history = "{\"type\":\"history\",\"id\":" + i + ",\"conversation\":\"" + conversation + "\",\"limit\":100}";
        writeMaskedText(out, history.getBytes(StandardCharsets.UTF_8));
      }
      // Read nothing until the node has given up on this client: its session ends (the node counts
      // no open connection) once it has queued the error and waited for the client to take it.
      NodeLifecycle lifecycle = NodeLifecycle.get(node.node().system());
      await().atMost(Duration.ofSeconds(60)).until(() -> lifecycle.openConnections() == 0);
      closeStatus = RawWebSocket.readUntilClose(in, texts);
    } finally {
      gateway.detachAppender(logged);
    }
    assertThat(logged.list)
        .as("the node's log says whose connection it closed and why")
        .anySatisfy(e -> {
          assertThat(e.getLevel()).isEqualTo(Level.INFO);
          assertThat(e.getFormattedMessage()).isEqualTo("closing alice's connection: slow consumer: outbound buffer full");
        });

    String lastText = texts.isEmpty() ? "none" : texts.get(texts.size() - 1);
    assertThat(texts).as("history pages answered before the disconnect; last %s", lastText.substring(0, Math.min(300, lastText.length())))
        .hasSizeLessThan(REQUESTS);
    JsonNode last = WsClient.JSON.readTree(texts.get(texts.size() - 1));
    assertThat(last.path("type").asText()).isEqualTo("error");
    assertThat(last.path("code").asText()).isEqualTo("unavailable");
    assertThat(last.path("message").asText()).contains("slow consumer");
    assertThat(closeStatus).as("a normal close, or the connection ended").isIn(1000, -1);
    try (WsClient again = node.connect("alice")) {
      assertThat(again.pingPong().path("type").asText()).isEqualTo("pong");
    }
  }

  private static void writeMaskedText(OutputStream out, byte[] payload) throws Exception {
    out.write(ClientFrames.masked(ClientFrames.TEXT_OPCODE, true, payload));
    out.flush();
  }
}
