package dev.parley.bench;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import java.io.IOException;

/**
 * Reads a server frame's JSON (UTF-8 bytes as they came off the socket) into a {@link ServerFrame}
 * with Jackson's streaming parser: the top-level fields the bench looks at, every other value
 * (the message text, nested objects) skipped without being built. The same result as binding the
 * record with an {@code ObjectMapper} (unknown fields ignored, numbers and strings coerced the same
 * way), for a fraction of the work per frame.
 */
final class ServerFrameReader {

  private static final JsonFactory JSON = new JsonFactory();

  private ServerFrameReader() {}

  /** The frame in {@code utf8[offset, offset + length)}; throws on JSON that is not one object. */
  static ServerFrame read(byte[] utf8, int offset, int length) throws IOException {
    String type = null, id = null, conversation = null, clientMsgId = null, code = null, sender = null;
    Long seq = null, lastSeq = null, afterMs = null, closeInMs = null, ts = null, retryAfterMs = null;
    Boolean recovered = null;
    try (JsonParser p = JSON.createParser(utf8, offset, length)) {
      if (p.nextToken() != JsonToken.START_OBJECT) throw new IOException("a server frame is a JSON object");
      String field;
      while ((field = p.nextFieldName()) != null) {
        JsonToken value = p.nextToken();
        switch (field) {
          case "type" -> type = text(p, value);
          case "id" -> id = text(p, value);
          case "conversation" -> conversation = text(p, value);
          case "clientMsgId" -> clientMsgId = text(p, value);
          case "code" -> code = text(p, value);
          case "sender" -> sender = text(p, value);
          case "seq" -> seq = number(p, value);
          case "lastSeq" -> lastSeq = number(p, value);
          case "afterMs" -> afterMs = number(p, value);
          case "closeInMs" -> closeInMs = number(p, value);
          case "ts" -> ts = number(p, value);
          case "retryAfterMs" -> retryAfterMs = number(p, value);
          case "recovered" -> recovered = value == JsonToken.VALUE_NULL ? null : p.getValueAsBoolean();
          default -> p.skipChildren();
        }
      }
      if (p.currentToken() != JsonToken.END_OBJECT) throw new IOException("unfinished JSON object");
    }
    return new ServerFrame(type, id, conversation, seq, clientMsgId, code, lastSeq, recovered, afterMs, closeInMs, sender, ts, retryAfterMs);
  }

  private static String text(JsonParser p, JsonToken value) throws IOException {
    if (value == JsonToken.VALUE_NULL) return null;
    if (value.isStructStart()) {
      p.skipChildren();
      throw new IOException("expected a string, found a structure");
    }
    return p.getText();
  }

  private static Long number(JsonParser p, JsonToken value) throws IOException {
    if (value == JsonToken.VALUE_NULL) return null;
    if (value == JsonToken.VALUE_NUMBER_INT) return p.getLongValue();
    if (value == JsonToken.VALUE_NUMBER_FLOAT) return (long) p.getDoubleValue();
    if (value == JsonToken.VALUE_STRING) {
      try {
        return Long.parseLong(p.getText().trim());
      } catch (NumberFormatException e) {
        throw new IOException("not a number: " + p.getText(), e);
      }
    }
    throw new IOException("expected a number, found " + value);
  }
}
