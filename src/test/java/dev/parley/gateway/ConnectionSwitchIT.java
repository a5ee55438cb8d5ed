package dev.parley.gateway;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.parley.cluster.NodeLifecycle;
import dev.parley.testing.LiveObjects;
import dev.parley.testing.RawWebSocket;
import dev.parley.testing.TestNode;
import dev.parley.testing.WsClient;
import java.io.DataInputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@link ConnectionSwitch} (issue 19): an upgraded connection lets Pekko HTTP's server layers go
 * (counted in the live heap: each HTTP/1 connection has its own request and header parser), the
 * websocket works through the switch, a plain HTTP connection is still served by Pekko HTTP with
 * keep-alive, and {@code pekko.http.server.max-connections} still bounds the open connections.
 * If a Pekko HTTP upgrade changes the switch it relies on, these fail.
 */
class ConnectionSwitchIT {

  private static final String HEADER_PARSER = "org.apache.pekko.http.impl.engine.parsing.HttpHeaderParser";
  private static final String SWITCH = ConnectionSwitch.class.getName() + "$Logic";

  private static TestNode node;
  /** At most three connections at a time. */
  private static TestNode bounded;

  @BeforeAll
  static void start() throws Exception {
    node = TestNode.onH2(Map.of("parley.admission.connections-per-second", 0));
    bounded = TestNode.onH2(Map.of("parley.admission.connections-per-second", 0, "pekko.http.server.max-connections", 3));
  }

  @AfterAll
  static void stop() throws Exception {
    node.close();
    bounded.close();
  }

  @Test
  void anUpgradedConnectionKeepsNoneOfPekkoHttpsServerLayers() throws Exception {
    int n = 300;
    long parsersBefore = LiveObjects.count(HEADER_PARSER);
    List<Socket> sockets = openWebSockets(node, n);
    try {
      assertThat(LiveObjects.count(SWITCH)).as("connections served by the switch").isGreaterThanOrEqualTo(n);
      // With Pekko HTTP's own bind every upgraded connection keeps its finished HTTP/1 layers,
      // its header parser among them: n more parsers.
      await().atMost(Duration.ofSeconds(30)).untilAsserted(() ->
          assertThat(LiveObjects.count(HEADER_PARSER) - parsersBefore).as("HTTP header parsers kept by %d websockets", n).isLessThan(n / 10));
      // And the websockets work through the switch: a full request and reply.
      try (WsClient client = node.connect("switched")) {
        assertThat(client.pingPong().path("type").asText()).isEqualTo("pong");
      }
    } finally {
      closeAll(node, sockets);
    }
  }

  @Test
  void aPlainHttpConnectionIsServedWithKeepAlive() throws Exception {
    try (Socket socket = new Socket()) {
      socket.connect(new InetSocketAddress("127.0.0.1", node.httpPort()));
      socket.setSoTimeout(30_000);
      OutputStream out = socket.getOutputStream();
      InputStream in = socket.getInputStream();
      for (int i = 0; i < 2; i++) {
        out.write(("GET /v1/ws HTTP/1.1\r\nHost: 127.0.0.1:" + node.httpPort() + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
        out.flush();
        String head = readHead(in);
        assertThat(head).as("response %d on one connection", i + 1).startsWith("HTTP/1.1 401");
        skipBody(in, head);
      }
    }
  }

  @Test
  void withPekkoIoTcpTheSwitchStillServesWebSockets() throws Exception {
    // parley.http.pekko-io-tcp = on: the listener of before PlainTcp (issue 18), kept as a fallback.
    try (TestNode pekkoIo = TestNode.onH2(Map.of("parley.admission.connections-per-second", 0, "parley.http.pekko-io-tcp", true));
        WsClient client = pekkoIo.connect("through-pekko-io")) {
      assertThat(client.pingPong().path("type").asText()).isEqualTo("pong");
    }
  }

  @Test
  void maxConnectionsBoundsTheOpenConnections() throws Exception {
    NodeLifecycle lifecycle = NodeLifecycle.get(bounded.node().system());
    List<Socket> first = openWebSockets(bounded, 3);
    try (Socket fourth = new Socket()) {
      fourth.connect(new InetSocketAddress("127.0.0.1", bounded.httpPort()));
      fourth.setSoTimeout(30_000);
      OutputStream out = fourth.getOutputStream();
      RawWebSocket.sendHandshake(out, bounded.httpPort(), bounded.token("fourth"));
      // The kernel queued it, the node does not take it while three are open.
      await().during(Duration.ofSeconds(1)).atMost(Duration.ofSeconds(5)).until(() -> lifecycle.openConnections() == 3);
      first.remove(0).close();
      assertThat(readHead(fourth.getInputStream())).as("the fourth, once one of three closed").startsWith("HTTP/1.1 101");
      await().atMost(Duration.ofSeconds(30)).until(() -> lifecycle.openConnections() == 3);
    } finally {
      closeAll(bounded, first);
    }
  }

  private static List<Socket> openWebSockets(TestNode target, int n) throws Exception {
    NodeLifecycle lifecycle = NodeLifecycle.get(target.node().system());
    int before = lifecycle.openConnections();
    String token = target.token("switched");
    List<Socket> sockets = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      Socket socket = new Socket();
      sockets.add(socket);
      socket.connect(new InetSocketAddress("127.0.0.1", target.httpPort()));
      RawWebSocket.handshake(socket.getOutputStream(), socket.getInputStream(), target.httpPort(), token);
    }
    await().atMost(Duration.ofSeconds(60)).until(() -> lifecycle.openConnections() == before + n);
    return sockets;
  }

  private static void closeAll(TestNode target, List<Socket> sockets) throws Exception {
    for (Socket socket : sockets) socket.close();
    NodeLifecycle lifecycle = NodeLifecycle.get(target.node().system());
    await().atMost(Duration.ofSeconds(60)).until(() -> lifecycle.openConnections() == 0);
  }

  private static String readHead(InputStream in) throws Exception {
    StringBuilder head = new StringBuilder();
    while (!head.toString().endsWith("\r\n\r\n")) {
      int b = in.read();
      if (b < 0) break;
      head.append((char) b);
    }
    return head.toString();
  }

  private static void skipBody(InputStream in, String head) throws Exception {
    for (String line : head.split("\r\n")) {
      if (line.toLowerCase(java.util.Locale.ROOT).startsWith("content-length:")) {
        new DataInputStream(in).readFully(new byte[Integer.parseInt(line.substring(15).trim())]);
      }
    }
  }
}
