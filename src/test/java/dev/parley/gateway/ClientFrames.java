package dev.parley.gateway;

import java.io.ByteArrayOutputStream;
import java.util.concurrent.ThreadLocalRandom;

/** Websocket frames as a client writes them (RFC 6455: masked with a random key), for tests that speak raw bytes. */
final class ClientFrames {
  static final int TEXT_OPCODE = 1;

  private ClientFrames() {}

  /** One frame of {@code opcode} carrying {@code payload} (under 64 KiB), masked. */
  static byte[] masked(int opcode, boolean fin, byte[] payload) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.write((fin ? 0x80 : 0) | opcode);
    if (payload.length < 126) {
      out.write(0x80 | payload.length);
    } else {
      out.write(0x80 | 126);
      out.write(payload.length >> 8);
      out.write(payload.length & 0xFF);
    }
    byte[] mask = new byte[4];
    ThreadLocalRandom.current().nextBytes(mask);
    out.writeBytes(mask);
    for (int i = 0; i < payload.length; i++) out.write(payload[i] ^ mask[i % 4]);
    return out.toByteArray();
  }
}
