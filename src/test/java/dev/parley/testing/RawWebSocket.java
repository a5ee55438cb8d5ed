package dev.parley.testing;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.DataInputStream;
import java.io.EOFException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

/**
 * A websocket spoken over a plain socket, for clients the JDK's websocket client cannot play: one
 * that stops reading, one that never answers a ping.
 */
public final class RawWebSocket {

  private RawWebSocket() {}

  /** Sends the upgrade request for {@code /v1/ws?token=...} and checks the 101 answer. */
  public static void handshake(OutputStream out, InputStream in, int port, String token) throws Exception {
    sendHandshake(out, port, token);
    StringBuilder head = new StringBuilder();
    while (!head.toString().endsWith("\r\n\r\n")) {
      int b = in.read();
      if (b < 0) break;
      head.append((char) b);
    }
    assertThat(head.toString()).startsWith("HTTP/1.1 101");
  }

  /** Sends the upgrade request for {@code /v1/ws?token=...}, without waiting for its answer. */
  public static void sendHandshake(OutputStream out, int port, String token) throws Exception {
    byte[] nonce = new byte[16];
    ThreadLocalRandom.current().nextBytes(nonce);
    String request =
        "GET /v1/ws?token=" + URLEncoder.encode(token, StandardCharsets.UTF_8) + " HTTP/1.1\r\n"
            + "Host: 127.0.0.1:" + port + "\r\n"
            + "Upgrade: websocket\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Key: " + Base64.getEncoder().encodeToString(nonce) + "\r\n"
            + "Sec-WebSocket-Version: 13\r\n\r\n";
    out.write(request.getBytes(StandardCharsets.US_ASCII));
    out.flush();
  }

  /**
   * Collects text frames until the close frame (its status), the end of the connection (-1) or the
   * socket's read timeout (-2); other frames (pings) are read and dropped.
   */
  public static int readUntilClose(DataInputStream in, List<String> texts) throws Exception {
    try {
      while (true) {
        int first = in.readUnsignedByte();
        int second = in.readUnsignedByte();
        long length = second & 0x7F;
        if (length == 126) length = in.readUnsignedShort();
        else if (length == 127) length = in.readLong();
        byte[] payload = new byte[(int) length];
        in.readFully(payload);
        int opcode = first & 0x0F;
        if (opcode == 0x8) return payload.length >= 2 ? ((payload[0] & 0xFF) << 8) | (payload[1] & 0xFF) : 1005;
        if (opcode == 0x1) texts.add(new String(payload, StandardCharsets.UTF_8));
      }
    } catch (EOFException ended) {
      return -1;
    } catch (java.net.SocketTimeoutException quiet) {
      return -2;
    }
  }
}
