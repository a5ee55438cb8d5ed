package dev.parley.gateway;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.parley.cluster.NodeLifecycle;
import dev.parley.testing.LiveObjects;
import dev.parley.testing.PendingTimersScheduler;
import dev.parley.testing.RawWebSocket;
import dev.parley.testing.TestNode;
import dev.parley.testing.WsClient;
import java.io.DataInputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Idle connections (issue 19): a client that answers nothing is closed after the idle timeout, one
 * that answers the server's pings is not; an idle connection keeps no timer of its own in the node;
 * and everything a connection holds is let go when it closes (counted in the live heap).
 */
class IdleConnectionsIT {

  /** Closes silent connections after 3 s, pings after 1 s of silence. */
  private static TestNode quick;
  /** Counts the scheduler's waiting tasks; no keep-alive pings, so only the connections' own timers count. */
  private static TestNode counted;

  @BeforeAll
  static void start() throws Exception {
    quick = TestNode.onH2(Map.of(
        "parley.gateway.idle-timeout", "3s",
        "parley.gateway.idle-sweep-interval", "500ms",
        "pekko.http.server.websocket.periodic-keep-alive-max-idle", "1s"));
    counted = TestNode.onH2(Map.of(
        "pekko.scheduler.implementation", PendingTimersScheduler.class.getName(),
        "pekko.http.server.websocket.periodic-keep-alive-max-idle", "infinite",
        "parley.admission.connections-per-second", 0));
  }

  @AfterAll
  static void stop() throws Exception {
    quick.close();
    counted.close();
  }

  @Test
  void aClientThatAnswersNoPingIsClosedWhileOneThatAnswersStaysOpen() throws Exception {
    try (WsClient answering = quick.connect("pinged")) {
      // Two silent clients in a row, each closed after the timeout: by the second close the
      // answering client has sent no message for longer than the timeout, only pongs.
      for (int i = 0; i < 2; i++) {
        try (Socket silent = new Socket()) {
          silent.connect(new InetSocketAddress("127.0.0.1", quick.httpPort()));
          silent.setSoTimeout(30_000);
          DataInputStream in = new DataInputStream(silent.getInputStream());
          long opened = System.nanoTime(); // before the request: the node's silence clock starts after it
          RawWebSocket.handshake(silent.getOutputStream(), in, quick.httpPort(), quick.token("silent"));
          assertThat(RawWebSocket.readUntilClose(in, new ArrayList<>())).as("the node ended the connection").isEqualTo(-1);
          assertThat(Duration.ofNanos(System.nanoTime() - opened)).isGreaterThanOrEqualTo(Duration.ofSeconds(3));
        }
      }
      assertThat(answering.pingPong().path("type").asText()).isEqualTo("pong");
    }
  }

  @Test
  void anHttpConnectionWithoutARequestIsClosedAfterTheIdleTimeout() throws Exception {
    try (Socket socket = new Socket()) {
      socket.connect(new InetSocketAddress("127.0.0.1", quick.httpPort()));
      socket.setSoTimeout(30_000);
      assertThat(socket.getInputStream().read()).as("the node closed the connection").isEqualTo(-1);
    }
  }

  @Test
  void anIdleConnectionKeepsNoTimerOfItsOwn() throws Exception {
    int n = 200;
    long before = PendingTimersScheduler.pending();
    List<Socket> sockets = openIdle(n);
    try {
      // One one-shot per connection remains: its session's token-expiry timer. Pekko HTTP's idle
      // timeout (a check every second) and the message API's close tick would add one each, for
      // good; what the opening itself scheduled (subscription timeouts of the upgrade) is gone soon.
      await().atMost(Duration.ofSeconds(30)).untilAsserted(() ->
          assertThat((PendingTimersScheduler.pending() - before) / (double) n).as("scheduled tasks per idle connection").isLessThan(1.5));
    } finally {
      closeAll(sockets);
    }
  }

  @Test
  void aClosedConnectionLeavesNothingBehind() throws Exception {
    NodeLifecycle lifecycle = NodeLifecycle.get(counted.node().system());
    IdleConnections idle = IdleConnections.get(counted.node().system());
    long timersBefore = PendingTimersScheduler.pending();
    Map<String, Long> objectsBefore = perConnectionObjects();
    List<Socket> sockets = openIdle(2_000);
    assertThat(idle.watchedCount()).isEqualTo(2_000);
    // The count sees the connections' objects while they are open, so it would see them left behind.
    assertThat(perConnectionObjects()).allSatisfy((type, live) -> assertThat(live).as(type).isGreaterThanOrEqualTo(2_000));
    closeAll(sockets);
    assertThat(lifecycle.openConnections()).as("sessions").isZero();
    assertThat(idle.watchedCount()).as("connections watched for silence").isZero();
    await().atMost(Duration.ofSeconds(60)).untilAsserted(() ->
        assertThat(PendingTimersScheduler.pending() - timersBefore).as("timers left by the connections").isLessThanOrEqualTo(5));
    // Released, not only stopped: after a full collection no session, session stage or outbound
    // queue of the 2,000 is still referenced from anywhere (a registry that forgot one keeps it).
    await().atMost(Duration.ofSeconds(60)).untilAsserted(() ->
        assertThat(perConnectionObjects()).allSatisfy((type, live) -> assertThat(live).as("live %s", type).isLessThanOrEqualTo(objectsBefore.get(type))));
  }

  /** Live instances of what each connection holds: its session and parts, its stream stages. */
  private static Map<String, Long> perConnectionObjects() {
    Map<String, Long> live = new java.util.TreeMap<>();
    for (Class<?> type : List.of(Session.class, Subscriptions.class, ClientOutbound.class, OutboundQueue.class, SessionStream.class)) {
      String name = type == SessionStream.class ? SessionStream.class.getName() + "$Logic" : type.getName();
      live.put(name, LiveObjects.count(name));
    }
    return live;
  }

  /** Opens {@code n} authenticated websockets that send nothing, and waits until each has its session. */
  private static List<Socket> openIdle(int n) throws Exception {
    NodeLifecycle lifecycle = NodeLifecycle.get(counted.node().system());
    IdleConnections idle = IdleConnections.get(counted.node().system());
    String token = counted.token("idler");
    List<Socket> sockets = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      Socket socket = new Socket();
      sockets.add(socket);
      socket.connect(new InetSocketAddress("127.0.0.1", counted.httpPort()));
      RawWebSocket.handshake(socket.getOutputStream(), socket.getInputStream(), counted.httpPort(), token);
    }
    await().atMost(Duration.ofSeconds(60)).until(() -> lifecycle.openConnections() == n && idle.watchedCount() == n);
    return sockets;
  }

  /** Closes the sockets and waits until the node has ended every session and stopped watching every connection. */
  private static void closeAll(List<Socket> sockets) throws Exception {
    for (Socket socket : sockets) socket.close();
    NodeLifecycle lifecycle = NodeLifecycle.get(counted.node().system());
    IdleConnections idle = IdleConnections.get(counted.node().system());
    await().atMost(Duration.ofSeconds(60)).until(() -> lifecycle.openConnections() == 0 && idle.watchedCount() == 0);
  }
}
