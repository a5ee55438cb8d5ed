package dev.parley.gateway;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.cluster.NodeLifecycle;
import dev.parley.testing.LiveObjects;
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
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A client that stops reading, and never closes, on the plain-text listener's own selector
 * ({@link PlainTcp}, the default): the node holds a bounded amount for it (the slow-consumer close
 * ends its session once the outbound buffer is full), drops the frames the client has not taken once
 * the linger timeout has passed after the session's end, and so lets the connection go, while it
 * serves another client without delay all the while. Before 2026-12-06 (fifth session) such a
 * connection stayed for good with its queued frames: the session's stream waited for its client to
 * take them without end (this test fails without {@link SessionStream}'s bound). {@link PlainTcp}'s
 * own bound, on a close whose last write the client does not take, is pinned by {@code PlainTcpTest}.
 */
class ClientThatStopsReadingIT {

  private static final int REQUESTS = 300;
  private static final String CONNECTION = PlainTcp.class.getName() + "$Connection";
  private static TestNode node;

  @BeforeAll
  static void start() throws Exception {
    node = TestNode.onH2(Map.of("pekko.http.server.linger-timeout", "2s"));
  }

  @AfterAll
  static void stop() throws Exception {
    node.close();
  }

  @Test
  void aClientThatStopsReadingIsLetGoWhileAnotherIsServed() throws Exception {
    String pages = "pages-" + UUID.randomUUID();
    try (WsClient alice = node.connect("alice")) {
      assertThat(alice.request(WsClient.frame("create").put("conversation", pages)).path("type").asText()).isEqualTo("created");
      for (int i = 0; i < 60; i++) {
        alice.request(WsClient.frame("send").put("conversation", pages).put("clientMsgId", "m" + i).put("text", "x".repeat(900)));
      }
    }
    NodeLifecycle lifecycle = NodeLifecycle.get(node.node().system());
    String chat = "chat-" + UUID.randomUUID();
    try (WsClient bob = node.connect("bob"); Socket stalled = new Socket()) {
      assertThat(bob.request(WsClient.frame("create").put("conversation", chat)).path("type").asText()).isEqualTo("created");
      // Only bob's connection is left (alice's first one has closed): the count to come back to.
      await().atMost(Duration.ofSeconds(30)).until(() -> lifecycle.openConnections() == 1 && LiveObjects.count(CONNECTION) == 1);

      // Alice asks for 300 pages of ~100 KB and reads nothing, through a 4 KiB receive window.
      stalled.setReceiveBufferSize(4096);
      stalled.connect(new InetSocketAddress("127.0.0.1", node.httpPort()));
      stalled.setSoTimeout(20_000);
      OutputStream out = stalled.getOutputStream();
      RawWebSocket.handshake(out, new DataInputStream(stalled.getInputStream()), node.httpPort(), node.token("alice"));
      for (int i = 0; i < REQUESTS; i++) {
        String history = "{\"type\":\"history\",\"id\":" + i + ",\"conversation\":\"" + pages + "\",\"limit\":100}";
        out.write(ClientFrames.masked(ClientFrames.TEXT_OPCODE, true, history.getBytes(StandardCharsets.UTF_8)));
      }
      out.flush();
      await().atMost(Duration.ofSeconds(30)).until(() -> lifecycle.openConnections() == 2);

      // Bob is answered at once (5 sends a second, under the per-connection limit) while alice's
      // connection fills, until the node has ended alice's session.
      List<Long> seqs = new ArrayList<>();
      int[] sent = {0};
      await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(200)).until(() -> {
        long before = System.nanoTime();
        JsonNode ack = bob.request(WsClient.frame("send").put("conversation", chat).put("clientMsgId", "b" + sent[0]++).put("text", "hello"));
        assertThat(ack.path("type").asText()).isEqualTo("ack");
        assertThat(Duration.ofNanos(System.nanoTime() - before)).as("bob's send→ack").isLessThan(Duration.ofSeconds(2));
        seqs.add(ack.path("seq").asLong());
        return lifecycle.openConnections() == 1;
      });
      assertThat(seqs).as("bob's acks").doesNotHaveDuplicates().isSorted();

      // Alice still reads nothing: the node resets her connection after the linger timeout and keeps nothing of it.
      await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(500))
          .untilAsserted(() -> assertThat(LiveObjects.count(CONNECTION)).as("live connections of the node's listener").isEqualTo(1));
      assertThat(bob.pingPong().path("type").asText()).isEqualTo("pong");
    }
  }
}
