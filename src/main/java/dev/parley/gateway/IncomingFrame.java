package dev.parley.gateway;

/** A websocket message from a client after the inbound stream has collected it, within the size limit. */
public sealed interface IncomingFrame {
  /**
   * @param receivedNanos when the node read the message's bytes from the connection
   *     ({@link System#nanoTime()}; {@link IntakeClock}): how long it then waited before its session
   *     came to it counts against the send's wait (issue 18, target 8)
   */
  record Text(String text, long receivedNanos) implements IncomingFrame {
    /** A message read just now. */
    public Text(String text) {
      this(text, System.nanoTime());
    }

    /** The same message whenever it was read: the read time is a measurement, not part of the message. */
    @Override
    public boolean equals(Object other) {
      return other instanceof Text that && text.equals(that.text);
    }

    @Override
    public int hashCode() {
      return text.hashCode();
    }
  }

  /** A text message larger than the limit: its content was read and dropped, never buffered. */
  record Oversized() implements IncomingFrame {}

  /** The protocol is text only; binary messages are drained and refused. */
  record Binary() implements IncomingFrame {}
}
