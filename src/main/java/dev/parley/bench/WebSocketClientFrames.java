package dev.parley.bench;

import java.net.ProtocolException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * The client side of RFC 6455's framing (section 5), without I/O: frames a client writes (always
 * masked, section 5.3) and a decoder for the frames a server writes (unmasked; a masked one is
 * unmasked anyway), with fragmented messages reassembled and control frames (ping, pong, close)
 * passed on as they come, also between the fragments of a message.
 */
final class WebSocketClientFrames {

  static final int CONTINUATION = 0x0;
  static final int TEXT = 0x1;
  static final int BINARY = 0x2;
  static final int CLOSE = 0x8;
  static final int PING = 0x9;
  static final int PONG = 0xA;

  /** Close status codes used here (RFC 6455 section 7.4.1). */
  static final int NORMAL_CLOSURE = 1000;
  static final int NO_STATUS = 1005;
  static final int PROTOCOL_ERROR = 1002;
  static final int TOO_BIG = 1009;

  private WebSocketClientFrames() {}

  /** A whole (FIN) text frame of {@code text}, masked with {@code maskKey}, ready to write. */
  static ByteBuffer text(String text, int maskKey) {
    byte[] payload = text.getBytes(StandardCharsets.UTF_8);
    return frame(TEXT, payload, 0, payload.length, maskKey);
  }

  /** A close frame: the status code, then the reason in UTF-8 (at most 123 bytes, cut if longer). */
  static ByteBuffer close(int status, String reason, int maskKey) {
    byte[] why = reason.getBytes(StandardCharsets.UTF_8);
    int reasonLength = Math.min(why.length, 123);
    byte[] payload = new byte[2 + reasonLength];
    payload[0] = (byte) (status >> 8);
    payload[1] = (byte) status;
    System.arraycopy(why, 0, payload, 2, reasonLength);
    return frame(CLOSE, payload, 0, payload.length, maskKey);
  }

  /**
   * One whole frame ({@code FIN} set) of {@code opcode}: the header with the shortest length
   * encoding that fits (7 bits up to 125, 16 bits up to 65,535, else 64 bits), the mask key, and the
   * payload XORed with it (section 5.3).
   */
  static ByteBuffer frame(int opcode, byte[] payload, int offset, int length, int maskKey) {
    if (opcode >= CLOSE && length > 125) throw new IllegalArgumentException("a control frame carries at most 125 bytes");
    int lengthBytes = length <= 125 ? 0 : length <= 0xFFFF ? 2 : 8;
    byte[] out = new byte[2 + lengthBytes + 4 + length];
    out[0] = (byte) (0x80 | opcode);
    int i = 2;
    if (lengthBytes == 0) {
      out[1] = (byte) (0x80 | length);
    } else if (lengthBytes == 2) {
      out[1] = (byte) (0x80 | 126);
      out[i++] = (byte) (length >> 8);
      out[i++] = (byte) length;
    } else {
      out[1] = (byte) (0x80 | 127);
      long l = length;
      for (int shift = 56; shift >= 0; shift -= 8) out[i++] = (byte) (l >> shift);
    }
    out[i++] = (byte) (maskKey >> 24);
    out[i++] = (byte) (maskKey >> 16);
    out[i++] = (byte) (maskKey >> 8);
    out[i++] = (byte) maskKey;
    for (int k = 0; k < length; k++) out[i + k] = (byte) (payload[offset + k] ^ out[i - 4 + (k & 3)]);
    return ByteBuffer.wrap(out);
  }

  /** What the decoder found; the payload arrays are reused afterwards: copy what must outlive the call. */
  interface Sink {
    /** A whole text or binary message, its fragments joined. */
    void message(int opcode, byte[] payload, int offset, int length);

    /** A ping, pong or close frame (a close's payload is its status and reason, see {@link #closeStatus}). */
    void control(int opcode, byte[] payload, int offset, int length);
  }

  /** The status of a close frame's payload, or {@link #NO_STATUS} when it has none. */
  static int closeStatus(byte[] payload, int offset, int length) {
    return length < 2 ? NO_STATUS : ((payload[offset] & 0xFF) << 8) | (payload[offset + 1] & 0xFF);
  }

  /** The reason of a close frame's payload ("" when it has none). */
  static String closeReason(byte[] payload, int offset, int length) {
    return length <= 2 ? "" : new String(payload, offset + 2, length - 2, StandardCharsets.UTF_8);
  }

  /**
   * Reads server frames out of a byte stream that arrives in pieces. Not thread-safe: one decoder per
   * connection, fed by its I/O thread.
   */
  static final class Decoder {
    private final Sink sink;
    private final int maxMessageBytes;
    /** The fragments of a message that is not finished yet, or none (opcode -1). */
    private int fragmentedOpcode = -1;
    private byte[] fragments = new byte[0];
    private int fragmentsLength;

    Decoder(Sink sink, int maxMessageBytes) {
      this.sink = sink;
      this.maxMessageBytes = maxMessageBytes;
    }

    /**
     * Consumes every whole frame in {@code in} (a heap buffer, flipped for reading) and leaves its
     * position at the first byte of a frame not yet whole. Returns how many bytes that frame needs
     * in all when it is known (for the caller to grow its buffer), else 0.
     */
    int decode(ByteBuffer in) throws ProtocolException {
      byte[] bytes = in.array();
      int base = in.arrayOffset();
      while (true) {
        int start = in.position();
        int available = in.limit() - start;
        if (available < 2) return 0;
        int b0 = bytes[base + start] & 0xFF;
        int b1 = bytes[base + start + 1] & 0xFF;
        if ((b0 & 0x70) != 0) throw new ProtocolException("reserved bits set without an extension");
        boolean fin = (b0 & 0x80) != 0;
        int opcode = b0 & 0x0F;
        boolean masked = (b1 & 0x80) != 0;
        int headerLength = 2 + (masked ? 4 : 0);
        long length = b1 & 0x7F;
        if (length == 126) {
          headerLength += 2;
          if (available < 4) return 0;
          length = ((bytes[base + start + 2] & 0xFF) << 8) | (bytes[base + start + 3] & 0xFF);
        } else if (length == 127) {
          headerLength += 8;
          if (available < 10) return 0;
          length = 0;
          for (int k = 0; k < 8; k++) length = (length << 8) | (bytes[base + start + 2 + k] & 0xFF);
          if (length < 0) throw new ProtocolException("frame length overflows");
        }
        if (length > maxMessageBytes) throw new ProtocolException("frame of " + length + " bytes is above the limit");
        int frameLength = headerLength + (int) length;
        if (available < frameLength) return frameLength;
        int payload = base + start + headerLength;
        if (masked) {
          int keyAt = payload - 4;
          for (int k = 0; k < length; k++) bytes[payload + k] ^= bytes[keyAt + (k & 3)];
        }
        in.position(start + frameLength);
        frame(fin, opcode, bytes, payload, (int) length);
      }
    }

    private void frame(boolean fin, int opcode, byte[] bytes, int offset, int length) throws ProtocolException {
      if (opcode >= CLOSE) {
        if (!fin || length > 125) throw new ProtocolException("a control frame must be whole and at most 125 bytes");
        if (opcode != CLOSE && opcode != PING && opcode != PONG) throw new ProtocolException("unknown control opcode " + opcode);
        sink.control(opcode, bytes, offset, length);
        return;
      }
      if (opcode == CONTINUATION) {
        if (fragmentedOpcode < 0) throw new ProtocolException("a continuation frame without a message to continue");
        append(bytes, offset, length);
        if (fin) {
          int messageOpcode = fragmentedOpcode;
          fragmentedOpcode = -1;
          int messageLength = fragmentsLength;
          fragmentsLength = 0;
          sink.message(messageOpcode, fragments, 0, messageLength);
        }
        return;
      }
      if (opcode != TEXT && opcode != BINARY) throw new ProtocolException("unknown data opcode " + opcode);
      if (fragmentedOpcode >= 0) throw new ProtocolException("a new message before the previous one's last fragment");
      if (fin) {
        sink.message(opcode, bytes, offset, length);
      } else {
        fragmentedOpcode = opcode;
        fragmentsLength = 0;
        append(bytes, offset, length);
      }
    }

    private void append(byte[] bytes, int offset, int length) throws ProtocolException {
      int needed = fragmentsLength + length;
      if (needed > maxMessageBytes) throw new ProtocolException("message above the limit");
      if (needed > fragments.length) fragments = java.util.Arrays.copyOf(fragments, Math.max(needed, 2 * fragments.length));
      System.arraycopy(bytes, offset, fragments, fragmentsLength, length);
      fragmentsLength = needed;
    }
  }
}
