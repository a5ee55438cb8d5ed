package dev.parley.gateway;

import org.apache.pekko.stream.Attributes;

/**
 * When the bytes a connection's websocket stage is now reading were read from the socket: set by
 * {@link PlainTcp}'s stage as it hands bytes on (the read time of the oldest bytes in the hand-over),
 * read by {@link WebSocketFrames} when they arrive, and carried by each message
 * ({@link IncomingFrame.Text#receivedNanos()}) to its session. Why: a node short of CPU reads its
 * clients' frames later than they come; the bytes then wait in the connection's read-ahead (up to
 * {@link PlainTcp#READ_AHEAD_BYTES}, seconds of a busy client's sends), where send admission cannot
 * see them, and a send admitted after such a wait is answered after its client gave up on it
 * (benchmarks.md, issue 18, fifth session). Travels as a stream attribute from the connection's
 * materialization ({@code PlainTcp}) through {@link ConnectionSwitch} to the websocket's substream.
 *
 * <p>Confined to the connection's stream: its stages, the websocket's substream included, run in
 * one actor, one at a time.
 */
final class IntakeClock implements Attributes.Attribute {

  private long readNanos = System.nanoTime();

  /** The bytes handed on now were read at {@code readNanos} ({@link System#nanoTime()}), the oldest of them. */
  void handedOn(long readNanos) {
    this.readNanos = readNanos;
  }

  /** When the bytes handed on last were read. */
  long readNanos() {
    return readNanos;
  }
}
