package dev.parley.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.net.ProtocolException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class WebSocketClientFramesTest {

  private static final int MASK = 0x37FA213D;

  @ParameterizedTest
  @ValueSource(ints = {0, 1, 125, 126, 127, 65_535, 65_536, 70_000})
  void aClientFrameIsMaskedWithTheShortestLengthThatFits(int length) {
    byte[] payload = payload(length);
    ByteBuffer frame = WebSocketClientFrames.frame(WebSocketClientFrames.TEXT, payload, 0, length, MASK);
    byte[] bytes = Arrays.copyOfRange(frame.array(), frame.position(), frame.limit());

    assertThat(bytes[0] & 0xFF).as("FIN + text").isEqualTo(0x81);
    assertThat(bytes[1] & 0x80).as("the mask bit").isEqualTo(0x80);
    int lengthField = bytes[1] & 0x7F;
    int header;
    if (length <= 125) {
      assertThat(lengthField).isEqualTo(length);
      header = 2;
    } else if (length <= 65_535) {
      assertThat(lengthField).isEqualTo(126);
      assertThat(((bytes[2] & 0xFF) << 8) | (bytes[3] & 0xFF)).isEqualTo(length);
      header = 4;
    } else {
      assertThat(lengthField).isEqualTo(127);
      long encoded = 0;
      for (int i = 2; i < 10; i++) encoded = (encoded << 8) | (bytes[i] & 0xFF);
      assertThat(encoded).isEqualTo(length);
      header = 10;
    }
    byte[] key = Arrays.copyOfRange(bytes, header, header + 4);
    assertThat(key).containsExactly(0x37, 0xFA - 256, 0x21, 0x3D);
    assertThat(bytes).hasSize(header + 4 + length);
    byte[] unmasked = new byte[length];
    for (int i = 0; i < length; i++) unmasked[i] = (byte) (bytes[header + 4 + i] ^ key[i & 3]);
    assertThat(unmasked).isEqualTo(payload);
    if (length >= 4) assertThat(Arrays.copyOfRange(bytes, header + 4, header + 8)).isNotEqualTo(Arrays.copyOf(payload, 4));
  }

  @Test
  void aCloseFrameCarriesItsStatusAndReason() {
    ByteBuffer frame = WebSocketClientFrames.close(1000, "bench done", 0);
    byte[] bytes = Arrays.copyOfRange(frame.array(), 0, frame.limit());
    assertThat(bytes[0] & 0xFF).isEqualTo(0x88);
    byte[] payload = Arrays.copyOfRange(bytes, 6, bytes.length); // mask key 0: payload as is
    assertThat(WebSocketClientFrames.closeStatus(payload, 0, payload.length)).isEqualTo(1000);
    assertThat(WebSocketClientFrames.closeReason(payload, 0, payload.length)).isEqualTo("bench done");
    assertThatThrownBy(() -> WebSocketClientFrames.frame(WebSocketClientFrames.PING, new byte[126], 0, 126, 0))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @ParameterizedTest
  @ValueSource(ints = {0, 125, 126, 65_535, 65_536})
  void serverFramesOfEveryLengthEncodingAreReadWhateverPiecesTheyArriveIn(int length) throws Exception {
    byte[] text = payload(length);
    byte[] stream = concat(serverFrame(true, WebSocketClientFrames.TEXT, text), serverFrame(true, WebSocketClientFrames.TEXT, "next".getBytes()));
    for (int piece : new int[] {1, 3, 7, 1000, stream.length}) {
      Recorded seen = feed(stream, piece);
      assertThat(seen.messages).as("pieces of %d bytes", piece).hasSize(2);
      assertThat(seen.messages.get(0)).isEqualTo(text);
      assertThat(new String(seen.messages.get(1), StandardCharsets.UTF_8)).isEqualTo("next");
    }
  }

  @Test
  void aFragmentedMessageIsJoinedAndAPingBetweenItsFragmentsComesFirst() throws Exception {
    byte[] stream =
        concat(
            serverFrame(false, WebSocketClientFrames.TEXT, "{\"type\":".getBytes()),
            serverFrame(true, WebSocketClientFrames.PING, "p1".getBytes()),
            serverFrame(false, WebSocketClientFrames.CONTINUATION, "\"ack\",".getBytes()),
            serverFrame(true, WebSocketClientFrames.CONTINUATION, "\"seq\":1}".getBytes()));
    Recorded seen = feed(stream, 5);
    assertThat(seen.events).containsExactly("control 9 p1", "message 1 {\"type\":\"ack\",\"seq\":1}");
  }

  @Test
  void aCloseFrameMidStreamIsPassedOnBetweenTheMessagesAroundIt() throws Exception {
    byte[] close = new byte[] {0x03, (byte) 0xE9, 'b', 'y', 'e'}; // 1001 "bye"
    byte[] stream =
        concat(
            serverFrame(true, WebSocketClientFrames.TEXT, "before".getBytes()),
            serverFrame(true, WebSocketClientFrames.CLOSE, close),
            serverFrame(true, WebSocketClientFrames.TEXT, "after".getBytes()));
    Recorded seen = feed(stream, 4);
    assertThat(seen.events).containsExactly("message 1 before", "control 8 " + new String(close, StandardCharsets.ISO_8859_1), "message 1 after");
    assertThat(WebSocketClientFrames.closeStatus(close, 0, close.length)).isEqualTo(1001);
    assertThat(WebSocketClientFrames.closeReason(close, 0, close.length)).isEqualTo("bye");
    assertThat(WebSocketClientFrames.closeStatus(new byte[0], 0, 0)).isEqualTo(WebSocketClientFrames.NO_STATUS);
  }

  @Test
  void aMaskedServerFrameIsUnmasked() throws Exception {
    ByteBuffer masked = WebSocketClientFrames.text("masked anyway", MASK);
    Recorded seen = feed(Arrays.copyOf(masked.array(), masked.limit()), 2);
    assertThat(seen.events).containsExactly("message 1 masked anyway");
  }

  @Test
  void framesThatBreakTheProtocolAreRefused() {
    assertThatThrownBy(() -> feed(serverFrame(true, WebSocketClientFrames.CONTINUATION, "x".getBytes()), 10))
        .isInstanceOf(ProtocolException.class);
    assertThatThrownBy(() -> feed(serverFrame(false, WebSocketClientFrames.PING, "x".getBytes()), 10))
        .isInstanceOf(ProtocolException.class);
    assertThatThrownBy(() -> feed(serverFrame(true, WebSocketClientFrames.PING, new byte[126]), 200))
        .isInstanceOf(ProtocolException.class);
    assertThatThrownBy(() -> feed(concat(serverFrame(false, WebSocketClientFrames.TEXT, "a".getBytes()), serverFrame(true, WebSocketClientFrames.TEXT, "b".getBytes())), 10))
        .isInstanceOf(ProtocolException.class);
    byte[] reserved = serverFrame(true, WebSocketClientFrames.TEXT, "x".getBytes());
    reserved[0] |= 0x40;
    assertThatThrownBy(() -> feed(reserved, 10)).isInstanceOf(ProtocolException.class);
    assertThatThrownBy(() -> feed(serverFrame(true, WebSocketClientFrames.TEXT, new byte[2_000]), 4096, 1_000))
        .isInstanceOf(ProtocolException.class);
  }

  // ---- helpers ----------------------------------------------------------------------------------

  static byte[] payload(int length) {
    byte[] bytes = new byte[length];
    new Random(length).nextBytes(bytes);
    return bytes;
  }

  /** A server's frame: unmasked. */
  static byte[] serverFrame(boolean fin, int opcode, byte[] payload) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.write((fin ? 0x80 : 0) | opcode);
    int length = payload.length;
    if (length <= 125) {
      out.write(length);
    } else if (length <= 65_535) {
      out.write(126);
      out.write(length >> 8);
      out.write(length);
    } else {
      out.write(127);
      for (int shift = 56; shift >= 0; shift -= 8) out.write((int) ((long) length >> shift));
    }
    out.writeBytes(payload);
    return out.toByteArray();
  }

  static byte[] concat(byte[]... parts) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    for (byte[] part : parts) out.writeBytes(part);
    return out.toByteArray();
  }

  static final class Recorded implements WebSocketClientFrames.Sink {
    final List<byte[]> messages = new ArrayList<>();
    final List<String> events = new ArrayList<>();

    @Override
    public void message(int opcode, byte[] payload, int offset, int length) {
      messages.add(Arrays.copyOfRange(payload, offset, offset + length));
      events.add("message " + opcode + " " + new String(payload, offset, length, StandardCharsets.ISO_8859_1));
    }

    @Override
    public void control(int opcode, byte[] payload, int offset, int length) {
      events.add("control " + opcode + " " + new String(payload, offset, length, StandardCharsets.ISO_8859_1));
    }
  }

  private static Recorded feed(byte[] stream, int piece) throws ProtocolException {
    return feed(stream, piece, 16 << 20);
  }

  /** Feeds {@code stream} in pieces of {@code piece} bytes the way ClientWebSocket does: read, flip, decode, compact or grow. */
  private static Recorded feed(byte[] stream, int piece, int maxMessageBytes) throws ProtocolException {
    Recorded seen = new Recorded();
    WebSocketClientFrames.Decoder decoder = new WebSocketClientFrames.Decoder(seen, maxMessageBytes);
    ByteBuffer in = ByteBuffer.allocate(64);
    for (int at = 0; at < stream.length; ) {
      int n = Math.min(Math.min(piece, in.remaining()), stream.length - at);
      in.put(stream, at, n);
      at += n;
      in.flip();
      int needed = decoder.decode(in);
      if (needed > in.capacity()) {
        ByteBuffer bigger = ByteBuffer.allocate(Math.max(needed, 2 * in.capacity()));
        bigger.put(in);
        in = bigger;
      } else {
        in.compact();
      }
    }
    return seen;
  }
}
