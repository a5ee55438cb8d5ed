package dev.parley.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The bench's websocket client against a scripted server on a real socket (the codec itself: WebSocketClientFramesTest). */
class ClientWebSocketTest {

  private ServerSocket server;
  private SelectorLoop loop;
  private final List<String> heard = new CopyOnWriteArrayList<>();
  private final ClientWebSocket.Listener listener =
      new ClientWebSocket.Listener() {
        @Override
        public void onText(byte[] utf8, int offset, int length) {
          heard.add("text " + new String(utf8, offset, length, StandardCharsets.UTF_8));
        }

        @Override
        public void onClosed(int status, String reason) {
          heard.add("closed " + status + " " + reason);
        }
      };

  @BeforeEach
  void start() throws IOException {
    server = new ServerSocket(0, 10, InetAddress.getLoopbackAddress());
    loop = new SelectorLoop("test-io");
  }

  @AfterEach
  void stop() throws IOException {
    loop.close();
    server.close();
  }

  private URI url() {
    return URI.create("ws://127.0.0.1:" + server.getLocalPort() + "/v1/ws?token=t");
  }

  /** Accepts one connection and reads its upgrade request; returns the socket and the request. */
  private record Accepted(Socket socket, String request) {
    String key() {
      Matcher m = Pattern.compile("Sec-WebSocket-Key: (\\S+)").matcher(request);
      assertThat(m.find()).as(request).isTrue();
      return m.group(1);
    }

    void answer101(byte[] thenRight) throws IOException {
      String head = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: "
          + WebSocketHandshake.accept(key()) + "\r\n\r\n";
      OutputStream out = socket.getOutputStream();
      out.write(WebSocketClientFramesTest.concat(head.getBytes(StandardCharsets.US_ASCII), thenRight));
      out.flush();
    }
  }

  private CompletableFuture<Accepted> accept() {
    return CompletableFuture.supplyAsync(() -> {
      try {
        Socket s = server.accept();
        InputStream in = s.getInputStream();
        StringBuilder head = new StringBuilder();
        while (!head.toString().endsWith("\r\n\r\n")) head.append((char) in.read());
        return new Accepted(s, head.toString());
      } catch (IOException e) {
        throw new IllegalStateException(e);
      }
    });
  }

  /** One client frame as the server reads it: opcode and unmasked payload; fails unless it is masked. */
  private record ClientFrame(int opcode, byte[] payload) {
    String text() {
      return new String(payload, StandardCharsets.UTF_8);
    }

    static ClientFrame read(InputStream stream) throws IOException {
      DataInputStream in = new DataInputStream(stream);
      int b0 = in.readUnsignedByte();
      int b1 = in.readUnsignedByte();
      assertThat(b1 & 0x80).as("a client frame is masked").isEqualTo(0x80);
      long length = b1 & 0x7F;
      if (length == 126) length = in.readUnsignedShort();
      else if (length == 127) length = in.readLong();
      byte[] key = in.readNBytes(4);
      byte[] payload = in.readNBytes((int) length);
      for (int i = 0; i < payload.length; i++) payload[i] ^= key[i & 3];
      return new ClientFrame(b0 & 0x0F, payload);
    }
  }

  @Test
  void upgradesThenTalksAnswersPingsJoinsFragmentsAndEchoesTheServersClose() throws Exception {
    CompletableFuture<Accepted> accepted = accept();
    CompletableFuture<ClientWebSocket> opening = ClientWebSocket.open(loop, url(), listener, Duration.ofSeconds(5));
    Accepted a = accepted.get(5, TimeUnit.SECONDS);
    assertThat(a.request()).startsWith("GET /v1/ws?token=t HTTP/1.1\r\n").contains("Upgrade: websocket\r\n", "Sec-WebSocket-Version: 13\r\n");
    // the first frame comes in the same packet as the 101: it is read after the socket is installed
    a.answer101(WebSocketClientFramesTest.serverFrame(true, WebSocketClientFrames.TEXT, "hello".getBytes()));
    ClientWebSocket socket = opening.get(5, TimeUnit.SECONDS);
    await().atMost(Duration.ofSeconds(5)).until(() -> heard.contains("text hello"));

    assertThat(socket.sendText("{\"type\":\"send\"}")).isTrue();
    InputStream in = a.socket().getInputStream();
    ClientFrame sent = ClientFrame.read(in);
    assertThat(sent.opcode()).isEqualTo(WebSocketClientFrames.TEXT);
    assertThat(sent.text()).isEqualTo("{\"type\":\"send\"}");

    OutputStream out = a.socket().getOutputStream();
    out.write(WebSocketClientFramesTest.concat(
        WebSocketClientFramesTest.serverFrame(false, WebSocketClientFrames.TEXT, "frag".getBytes()),
        WebSocketClientFramesTest.serverFrame(true, WebSocketClientFrames.PING, "are you there".getBytes()),
        WebSocketClientFramesTest.serverFrame(true, WebSocketClientFrames.CONTINUATION, "ment".getBytes())));
    ClientFrame pong = ClientFrame.read(in);
    assertThat(pong.opcode()).isEqualTo(WebSocketClientFrames.PONG);
    assertThat(pong.text()).isEqualTo("are you there");
    await().atMost(Duration.ofSeconds(5)).until(() -> heard.contains("text fragment"));

    out.write(WebSocketClientFramesTest.concat(
        WebSocketClientFramesTest.serverFrame(true, WebSocketClientFrames.CLOSE, new byte[] {0x03, (byte) 0xE9, 'b', 'y', 'e'}),
        WebSocketClientFramesTest.serverFrame(true, WebSocketClientFrames.TEXT, "after the close".getBytes())));
    ClientFrame echo = ClientFrame.read(in);
    assertThat(echo.opcode()).isEqualTo(WebSocketClientFrames.CLOSE);
    assertThat(WebSocketClientFrames.closeStatus(echo.payload(), 0, echo.payload().length)).isEqualTo(1001);
    await().atMost(Duration.ofSeconds(5)).until(() -> heard.contains("closed 1001 bye"));
    assertThat(in.read()).as("the client ends the connection after the close").isEqualTo(-1);
    assertThat(heard).containsExactly("text hello", "text fragment", "closed 1001 bye");
    assertThat(socket.sendText("too late")).isFalse();
  }

  @Test
  void aRefusedUpgradeFailsTheOpeningWithItsStatus() throws Exception {
    CompletableFuture<Accepted> accepted = accept();
    CompletableFuture<ClientWebSocket> opening = ClientWebSocket.open(loop, url(), listener, Duration.ofSeconds(5));
    Accepted a = accepted.get(5, TimeUnit.SECONDS);
    a.socket().getOutputStream().write("HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nContent-Length: 0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
    assertThatThrownBy(() -> opening.get(5, TimeUnit.SECONDS)).isInstanceOf(ExecutionException.class).hasMessageContaining("HTTP 503");
    assertThat(heard).isEmpty();
  }

  @Test
  void aWrongAcceptFailsTheOpening() throws Exception {
    CompletableFuture<Accepted> accepted = accept();
    CompletableFuture<ClientWebSocket> opening = ClientWebSocket.open(loop, url(), listener, Duration.ofSeconds(5));
    Accepted a = accepted.get(5, TimeUnit.SECONDS);
    a.socket().getOutputStream().write(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: d3Jvbmc=\r\n\r\n"
            .getBytes(StandardCharsets.US_ASCII));
    assertThatThrownBy(() -> opening.get(5, TimeUnit.SECONDS)).hasMessageContaining("Sec-WebSocket-Accept");
  }

  @Test
  void aServerThatDoesNotAnswerTimesTheOpeningOut() throws Exception {
    CompletableFuture<Accepted> accepted = accept();
    CompletableFuture<ClientWebSocket> opening = ClientWebSocket.open(loop, url(), listener, Duration.ofMillis(300));
    Accepted a = accepted.get(5, TimeUnit.SECONDS);
    assertThatThrownBy(() -> opening.get(5, TimeUnit.SECONDS)).hasCauseInstanceOf(java.util.concurrent.TimeoutException.class);
    assertThat(a.socket().getInputStream().read()).as("the client closed its half-open socket").isEqualTo(-1);
  }

  @Test
  void framesQueueWhileTheServerDoesNotReadAndAllArriveInOrderOnceItDoes() throws Exception {
    CompletableFuture<Accepted> accepted = accept();
    CompletableFuture<ClientWebSocket> opening = ClientWebSocket.open(loop, url(), listener, Duration.ofSeconds(5));
    Accepted a = accepted.get(5, TimeUnit.SECONDS);
    a.answer101(new byte[0]);
    ClientWebSocket socket = opening.get(5, TimeUnit.SECONDS);
    // ~25 MB: far beyond what the loopback socket buffers hold, so most of it waits in the client
    String filler = "x".repeat(100_000);
    int frames = 250;
    for (int i = 0; i < frames; i++) assertThat(socket.sendText(i + " " + filler)).isTrue();
    InputStream in = a.socket().getInputStream();
    for (int i = 0; i < frames; i++) {
      ClientFrame frame = ClientFrame.read(in);
      assertThat(frame.text()).startsWith(i + " ").hasSize((i + " ").length() + filler.length());
    }
  }
}
