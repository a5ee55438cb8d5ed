package dev.parley.bench;

import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Base64;
import java.util.Locale;
import java.util.Map;
import java.util.OptionalLong;
import java.util.TreeMap;

/**
 * The client side of a websocket opening handshake (RFC 6455 section 4), as text: the request and
 * the reading of the answer. The idle mode opens its connections with plain sockets, because it
 * must choose each connection's source address and the JDK websocket client cannot.
 */
final class WebSocketHandshake {

  private static final String GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

  private WebSocketHandshake() {}

  /** The upgrade request for {@code url} (its path and query), with {@code key} as Sec-WebSocket-Key. */
  static String request(URI url, String key) {
    String path = (url.getRawPath() == null || url.getRawPath().isEmpty()) ? "/" : url.getRawPath();
    String target = url.getRawQuery() == null ? path : path + "?" + url.getRawQuery();
    String host = url.getPort() < 0 ? url.getHost() : url.getHost() + ":" + url.getPort();
    return "GET " + target + " HTTP/1.1\r\n"
        + "Host: " + host + "\r\n"
        + "Upgrade: websocket\r\n"
        + "Connection: Upgrade\r\n"
        + "Sec-WebSocket-Key: " + key + "\r\n"
        + "Sec-WebSocket-Version: 13\r\n"
        + "\r\n";
  }

  /** A fresh Sec-WebSocket-Key: 16 bytes, base64. */
  static String key(byte[] sixteenRandomBytes) {
    if (sixteenRandomBytes.length != 16) throw new IllegalArgumentException("the key is 16 bytes");
    return Base64.getEncoder().encodeToString(sixteenRandomBytes);
  }

  /** The Sec-WebSocket-Accept a server must answer to {@code key}. */
  static String accept(String key) {
    try {
      byte[] digest = MessageDigest.getInstance("SHA-1").digest((key + GUID).getBytes(StandardCharsets.US_ASCII));
      return Base64.getEncoder().encodeToString(digest);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-1 is required of every JVM", e);
    }
  }

  /** The status line and headers of an HTTP response (header names lower-cased). */
  record Response(int status, Map<String, String> headers) {

    static Response parse(String head) {
      String[] lines = head.split("\r\n");
      String[] statusLine = lines[0].split(" ", 3);
      if (statusLine.length < 2 || !statusLine[0].startsWith("HTTP/")) {
        throw new IllegalArgumentException("not an HTTP response: " + lines[0]);
      }
      int status = Integer.parseInt(statusLine[1]);
      Map<String, String> headers = new TreeMap<>();
      for (int i = 1; i < lines.length; i++) {
        int colon = lines[i].indexOf(':');
        if (colon > 0) headers.put(lines[i].substring(0, colon).trim().toLowerCase(Locale.ROOT), lines[i].substring(colon + 1).trim());
      }
      return new Response(status, headers);
    }

    /** True when this is the answer that opens a websocket for {@code key}. */
    boolean upgrades(String key) {
      return status == 101
          && "websocket".equalsIgnoreCase(headers.getOrDefault("upgrade", ""))
          && accept(key).equals(headers.get("sec-websocket-accept"));
    }

    /** Retry-After in seconds, when the server gave one as a number. */
    OptionalLong retryAfterSeconds() {
      String value = headers.get("retry-after");
      if (value == null) return OptionalLong.empty();
      try {
        return OptionalLong.of(Math.max(0, Long.parseLong(value)));
      } catch (NumberFormatException e) {
        return OptionalLong.empty(); // an HTTP date: not what this server sends
      }
    }
  }
}
