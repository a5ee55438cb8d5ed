package dev.parley.gateway;

/** A websocket message from a client after the inbound stream has collected it, within the size limit. */
public sealed interface IncomingFrame {
  record Text(String text) implements IncomingFrame {}

  /** A text message larger than the limit: its content was read and dropped, never buffered. */
  record Oversized() implements IncomingFrame {}

  /** The protocol is text only; binary messages are drained and refused. */
  record Binary() implements IncomingFrame {}
}
