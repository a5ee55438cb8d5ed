package dev.parley.endtoend;

import static org.assertj.core.api.Assertions.assertThat;

import dev.parley.testing.TestNode;
import dev.parley.testing.WsClient;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.concurrent.ThreadLocalRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Invalid UTF-8 inside a websocket text frame, sent over a raw socket (the JDK client cannot send
 * it): RFC 6455 requires the connection to be failed, so the server closes it with status 1007
 * (invalid payload data) rather than guessing; the node itself keeps serving.
 */
class InvalidUtf8IT {

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
  void aTextFrameOfInvalidUtf8IsClosedWith1007AndTheNodeKeepsServing() throws Exception {
    try (Socket socket = new Socket("127.0.0.1", node.httpPort())) {
      socket.setSoTimeout(15_000);
      OutputStream out = socket.getOutputStream();
      DataInputStream in = new DataInputStream(socket.getInputStream());
      byte[] nonce = new byte[16];
      ThreadLocalRandom.current().nextBytes(nonce);
      String request =
          "GET /v1/ws?token=" + URLEncoder.encode(node.token("mallory"), StandardCharsets.UTF_8) + " HTTP/1.1\r\n"
              + "Host: 127.0.0.1:" + node.httpPort() + "\r\n"
              + "Upgrade: websocket\r\nConnection: Upgrade\r\n"
              + "Sec-WebSocket-Key: " + Base64.getEncoder().encodeToString(nonce) + "\r\n"
              + "Sec-WebSocket-Version: 13\r\n\r\n";
      out.write(request.getBytes(StandardCharsets.US_ASCII));
      out.flush();
      assertThat(readHead(in)).startsWith("HTTP/1.1 101");

      // {"type":"ping","id":"<0xC3 0x28>"}: a two-byte sequence whose second byte is no continuation.
      ByteArrayOutputStream payload = new ByteArrayOutputStream();
      payload.write("{\"type\":\"ping\",\"id\":\"".getBytes(StandardCharsets.US_ASCII));
      payload.write(new byte[] {(byte) 0xC3, (byte) 0x28});
      payload.write("\"}".getBytes(StandardCharsets.US_ASCII));
      writeMaskedFrame(out, 0x1, payload.toByteArray());

      int opcode = skipToNonTextFrame(in);
      assertThat(opcode).as("a close frame").isEqualTo(0x8);
    }
    assertThat(node.connect("alice").pingPong().path("type").asText()).isEqualTo("pong");
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

  private static void writeMaskedFrame(OutputStream out, int opcode, byte[] payload) throws Exception {
    byte[] mask = new byte[4];
    ThreadLocalRandom.current().nextBytes(mask);
    out.write(0x80 | opcode);
    out.write(0x80 | payload.length); // short payloads only
    out.write(mask);
    for (int i = 0; i < payload.length; i++) out.write(payload[i] ^ mask[i % 4]);
    out.flush();
  }

  /** Reads frames until one that is not text (the server may send nothing else but the close). */
  private static int skipToNonTextFrame(DataInputStream in) throws Exception {
    while (true) {
      int first = in.readUnsignedByte();
      int second = in.readUnsignedByte();
      long length = second & 0x7F;
      if (length == 126) length = in.readUnsignedShort();
      else if (length == 127) length = in.readLong();
      byte[] payload = new byte[(int) length];
      in.readFully(payload);
      int opcode = first & 0x0F;
      if (opcode == 0x8) {
        int status = payload.length >= 2 ? ((payload[0] & 0xFF) << 8) | (payload[1] & 0xFF) : -1;
        assertThat(status).as("close status").isEqualTo(1007);
        return opcode;
      }
      if (opcode != 0x1) return opcode;
      assertThat(new String(payload, StandardCharsets.UTF_8)).doesNotContain("Exception");
    }
  }
}
