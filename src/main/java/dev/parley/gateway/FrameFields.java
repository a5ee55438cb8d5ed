package dev.parley.gateway;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.BigIntegerNode;
import com.fasterxml.jackson.databind.node.IntNode;
import com.fasterxml.jackson.databind.node.LongNode;
import com.fasterxml.jackson.databind.node.TextNode;
import dev.parley.ErrorCode;
import java.io.IOException;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.List;

/**
 * The top-level fields of a client frame (or of an HTTP request body) that the protocol reads, taken
 * from its text in one pass of a streaming parser: no tree, no ObjectMapper context per frame (issue
 * 18: {@code readTree} was a tenth of a node's Java samples per send). {@link Frames} validates them.
 *
 * <p>The parse refuses exactly what {@code ObjectMapper.readTree} with {@link Frames#JSON}'s limits
 * refused: the same parser and constraints read every token, values of fields the protocol does
 * not read included (their strings and numbers are materialized as the tree did, so an over-long
 * string anywhere is still refused), trailing tokens are refused, and a repeated field keeps its
 * last value as the tree did.
 *
 * <p>A value is kept as: a {@link String}; a {@link Long}, or a {@link BigInteger} beyond a long;
 * a {@link Boolean}; {@link #NULL}; a {@code List} of elements (each a String or {@link #OTHER})
 * for the two fields that are arrays of user ids; {@link #OTHER} for anything else (a fraction,
 * an object, an array where none is read). An absent field is {@code null}.
 */
final class FrameFields {

  /** The fields a frame or body may carry; any other name is parsed and dropped. */
  enum Field {
    ID("id"), TYPE("type"), CONVERSATION("conversation"), MEMBERS("members"), TITLE("title"), USER("user"),
    SINCE("since"), CLIENT_MSG_ID("clientMsgId"), TEXT("text"), SEQ("seq"), BEFORE("before"), LIMIT("limit"),
    CURSOR("cursor"), MUTED("muted"), AFTER("after"), COUNTS("counts"), USERS("users"), STATUS("status");

    final String wire;

    Field(String wire) {
      this.wire = wire;
    }

    /** The field of this name, or null (a string switch: the parser's names are canonical, their hash cached). */
    static Field named(String name) {
      return switch (name) {
        case "id" -> ID;
        case "type" -> TYPE;
        case "conversation" -> CONVERSATION;
        case "members" -> MEMBERS;
        case "title" -> TITLE;
        case "user" -> USER;
        case "since" -> SINCE;
        case "clientMsgId" -> CLIENT_MSG_ID;
        case "text" -> TEXT;
        case "seq" -> SEQ;
        case "before" -> BEFORE;
        case "limit" -> LIMIT;
        case "cursor" -> CURSOR;
        case "muted" -> MUTED;
        case "after" -> AFTER;
        case "counts" -> COUNTS;
        case "users" -> USERS;
        case "status" -> STATUS;
        default -> null;
      };
    }

    private boolean isUserList() {
      return this == MEMBERS || this == USERS;
    }
  }

  /** JSON {@code null}. */
  static final Object NULL = new Object() {
    @Override
    public String toString() {
      return "null";
    }
  };

  /** A value of no type a field is read as (a fraction, an object, an array where none is read). */
  static final Object OTHER = new Object() {
    @Override
    public String toString() {
      return "other";
    }
  };

  private static final Field[] FIELDS = Field.values();
  private static final int MAX_REQUEST_ID = 128;

  private final Object[] values = new Object[FIELDS.length];

  private FrameFields() {}

  /** No field yet: for an HTTP request's query parameters, set one by one with {@link #with}. */
  static FrameFields empty() {
    return new FrameFields();
  }

  /** Sets a field by its wire name (unknown names are dropped); returns this. */
  FrameFields with(String name, Object value) {
    Field field = Field.named(name);
    if (field != null) values[field.ordinal()] = value;
    return this;
  }

  /** The field's value as described above, null when absent. */
  Object get(Field field) {
    return values[field.ordinal()];
  }

  boolean has(Field field) {
    return values[field.ordinal()] != null;
  }

  /** Present and not JSON null. */
  boolean hasNonNull(Field field) {
    Object value = values[field.ordinal()];
    return value != null && value != NULL;
  }

  /**
   * The request id to echo: a string of at most 128 characters or an integer, as the JSON node the
   * tree would have held (an int that fits is an {@link IntNode}); anything else is ignored (null).
   */
  JsonNode requestId() {
    Object id = get(Field.ID);
    if (id instanceof String s) return s.length() <= MAX_REQUEST_ID ? TextNode.valueOf(s) : null;
    if (id instanceof Long n) return n == n.intValue() ? IntNode.valueOf(n.intValue()) : LongNode.valueOf(n);
    if (id instanceof BigInteger n) return BigIntegerNode.valueOf(n);
    return null;
  }

  /** Parses a frame's text, or fails with {@code bad_request} ("not valid JSON", "must be a JSON object"). */
  static FrameFields parse(String text) {
    FrameFields fields = new FrameFields();
    boolean object;
    try (JsonParser p = Frames.JSON.getFactory().createParser(text)) {
      JsonToken token = p.nextToken();
      object = token == JsonToken.START_OBJECT;
      if (object) {
        while (p.nextToken() == JsonToken.FIELD_NAME) {
          Field field = Field.named(p.currentName());
          p.nextToken();
          if (field == null) skip(p);
          else fields.values[field.ordinal()] = value(p, field);
        }
      } else if (token != null) {
        skip(p);
      }
      // "{...} junk" is not a frame: refuse it rather than act on its first half.
      if (token != null && p.nextToken() != null) throw new IOException("trailing tokens");
    } catch (IOException | RuntimeException e) {
      throw new ProtocolException(ErrorCode.BAD_REQUEST, "frame is not valid JSON");
    }
    if (!object) throw new ProtocolException(ErrorCode.BAD_REQUEST, "frame must be a JSON object");
    return fields;
  }

  /** The value at the parser's current token, which starts it. */
  private static Object value(JsonParser p, Field field) throws IOException {
    return switch (p.currentToken()) {
      case VALUE_STRING -> p.getText();
      case VALUE_NUMBER_INT -> p.getNumberType() == JsonParser.NumberType.BIG_INTEGER ? p.getBigIntegerValue() : (Object) p.getLongValue();
      case VALUE_TRUE -> Boolean.TRUE;
      case VALUE_FALSE -> Boolean.FALSE;
      case VALUE_NULL -> NULL;
      case START_ARRAY -> field.isUserList() ? userList(p) : skip(p);
      default -> skip(p);
    };
  }

  /** An array of user ids: each element a string or {@link #OTHER}. */
  private static List<Object> userList(JsonParser p) throws IOException {
    List<Object> elements = new ArrayList<>();
    while (p.nextToken() != JsonToken.END_ARRAY) {
      elements.add(p.currentToken() == JsonToken.VALUE_STRING ? p.getText() : skip(p));
    }
    return elements;
  }

  /**
   * Reads past the value at the current token as the tree would have read it: every string and
   * number materialized, so the parser's limits (string length, number length, nesting) apply.
   */
  private static Object skip(JsonParser p) throws IOException {
    int depth = 0;
    JsonToken token = p.currentToken();
    while (true) {
      switch (token) {
        case START_OBJECT, START_ARRAY -> depth++;
        case END_OBJECT, END_ARRAY -> depth--;
        case VALUE_STRING -> p.getText();
        case VALUE_NUMBER_INT, VALUE_NUMBER_FLOAT -> p.getNumberValue();
        default -> {}
      }
      if (depth == 0) return OTHER;
      token = p.nextToken();
      if (token == null) throw new IOException("unexpected end of input");
    }
  }
}
