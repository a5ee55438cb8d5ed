package dev.parley.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.parley.auth.Revocations;
import dev.parley.auth.Tokens;
import dev.parley.testing.TestNode;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * What a refused websocket upgrade answers, read off the wire through the node's real binding
 * ({@link RoutedRequests} in Pekko HTTP's server): the status, the JSON content type and the
 * protocol's error object, for every reason the route refuses before the upgrade; and that a plain
 * HTTP connection's requests are answered in order on one connection.
 */
class UpgradeRefusalsIT {

  private static final ObjectMapper json = new ObjectMapper();
  private static TestNode node;

  @BeforeAll
  static void start() throws Exception {
    node = TestNode.onH2(Map.of("parley.admission.connections-per-second", 0));
  }

  @AfterAll
  static void stop() throws Exception {
    node.close();
  }

  /** One HTTP response as read off the socket. */
  private record Response(int status, Map<String, String> headers, String body) {
    JsonNode error() throws Exception {
      return json.readTree(body);
    }
  }

  private static String upgradeRequest(String token, String origin) {
    return "GET /v1/ws" + (token == null ? "" : "?token=" + URLEncoder.encode(token, StandardCharsets.UTF_8)) + " HTTP/1.1\r\n"
        + "Host: 127.0.0.1:" + node.httpPort() + "\r\n"
        + (origin == null ? "" : "Origin: " + origin + "\r\n")
        + "Upgrade: websocket\r\nConnection: Upgrade\r\n"
        + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
  }

  private static Response upgrade(String token, String origin) throws Exception {
    try (Socket socket = new Socket()) {
      socket.connect(new InetSocketAddress("127.0.0.1", node.httpPort()));
      socket.setSoTimeout(10_000);
      socket.getOutputStream().write(upgradeRequest(token, origin).getBytes(StandardCharsets.US_ASCII));
      return read(socket.getInputStream());
    }
  }

  /** Reads one response: status line, headers, a body of Content-Length bytes. */
  private static Response read(InputStream in) throws Exception {
    ByteArrayOutputStream head = new ByteArrayOutputStream();
    while (!head.toString(StandardCharsets.US_ASCII).endsWith("\r\n\r\n")) {
      int b = in.read();
      if (b < 0) throw new IllegalStateException("connection closed inside the response head: " + head);
      head.write(b);
    }
    String[] lines = head.toString(StandardCharsets.US_ASCII).split("\r\n");
    Map<String, String> headers = new LinkedHashMap<>();
    for (int i = 1; i < lines.length; i++) {
      int colon = lines[i].indexOf(':');
      headers.put(lines[i].substring(0, colon).trim().toLowerCase(Locale.ROOT), lines[i].substring(colon + 1).trim());
    }
    byte[] body = in.readNBytes(Integer.parseInt(headers.getOrDefault("content-length", "0")));
    return new Response(Integer.parseInt(lines[0].split(" ")[1]), headers, new String(body, StandardCharsets.UTF_8));
  }

  private static void assertError(Response response, int status, String code, String message) throws Exception {
    assertThat(response.status()).isEqualTo(status);
    assertThat(response.headers().get("content-type")).isEqualTo("application/json");
    assertThat(response.error().path("type").asText()).isEqualTo("error");
    assertThat(response.error().path("code").asText()).isEqualTo(code);
    assertThat(response.error().path("message").asText()).isEqualTo(message);
  }

  @Test
  void noTokenIs401() throws Exception {
    assertError(upgrade(null, null), 401, "unauthorized", "missing, invalid or expired token");
  }

  @Test
  void anExpiredTokenIs401() throws Exception {
    // Expired beyond the 30 s clock skew.
    String expired = node.tokens().mint("expired-user", Duration.ofMinutes(-2));
    assertError(upgrade(expired, null), 401, "unauthorized", "missing, invalid or expired token");
  }

  @Test
  void aTokenOfAnotherSecretIs401() throws Exception {
    String forged = new Tokens("another-secret-of-at-least-thirty-two-bytes!", Clock.systemUTC()).mint("forger", Duration.ofHours(1));
    assertError(upgrade(forged, null), 401, "unauthorized", "missing, invalid or expired token");
  }

  @Test
  void aRevokedTokenIs401() throws Exception {
    String token = node.token("revoked-user");
    // Revokes every token issued until now, this one included (same second or earlier).
    Revocations.get(node.node().system()).revoke("revoked-user");
    assertError(upgrade(token, null), 401, "unauthorized", "token revoked");
  }

  @Test
  void aPageOfAnotherSiteIs403() throws Exception {
    assertError(upgrade(node.token("hijacked"), "https://evil.example"), 403, "forbidden", "origin not allowed");
  }

  @Test
  void aValidTokenIsUpgraded() throws Exception {
    try (Socket socket = new Socket()) {
      socket.connect(new InetSocketAddress("127.0.0.1", node.httpPort()));
      socket.setSoTimeout(10_000);
      socket.getOutputStream().write(upgradeRequest(node.token("upgraded"), null).getBytes(StandardCharsets.US_ASCII));
      Response response = read(socket.getInputStream());
      assertThat(response.status()).isEqualTo(101);
      assertThat(response.headers().get("upgrade")).isEqualToIgnoringCase("websocket");
    }
  }

  @Test
  void oneConnectionsRequestsAreAnsweredInOrder() throws Exception {
    try (Socket socket = new Socket()) {
      socket.connect(new InetSocketAddress("127.0.0.1", node.httpPort()));
      socket.setSoTimeout(10_000);
      OutputStream out = socket.getOutputStream();
      String host = "Host: 127.0.0.1:" + node.httpPort() + "\r\n";
      // Pipelined: both requests written before either answer is read.
      out.write(("GET /v1/no-such-thing HTTP/1.1\r\n" + host + "\r\n"
              + "GET /v1/ws HTTP/1.1\r\n" + host + "\r\n").getBytes(StandardCharsets.US_ASCII));
      InputStream in = socket.getInputStream();
      assertError(read(in), 404, "not_found", "no such resource");
      assertError(read(in), 401, "unauthorized", "missing, invalid or expired token");
    }
  }

  /**
   * A GET of the websocket path that is not an upgrade: the token is checked first, then it is
   * refused as Pekko HTTP's websocket directive refused it (through the node's rejection handler).
   */
  @Test
  void aValidTokenWithoutAnUpgradeIsRefusedByTheRoutes() throws Exception {
    try (Socket socket = new Socket()) {
      socket.connect(new InetSocketAddress("127.0.0.1", node.httpPort()));
      socket.setSoTimeout(10_000);
      String token = URLEncoder.encode(node.token("not-upgrading"), StandardCharsets.UTF_8);
      socket.getOutputStream().write(("GET /v1/ws?token=" + token + " HTTP/1.1\r\nHost: 127.0.0.1:" + node.httpPort() + "\r\n\r\n")
          .getBytes(StandardCharsets.US_ASCII));
      assertError(read(socket.getInputStream()), 400, "bad_request", "Bad Request");
    }
  }

  private static Response exchange(String request) throws Exception {
    try (Socket socket = new Socket()) {
      socket.connect(new InetSocketAddress("127.0.0.1", node.httpPort()));
      socket.setSoTimeout(10_000);
      socket.getOutputStream().write(request.getBytes(StandardCharsets.US_ASCII));
      return read(socket.getInputStream());
    }
  }

  /** Another method than GET on the websocket path: 405, as the routing DSL's method rejection was rendered. */
  @Test
  void anotherMethodThanGetIs405() throws Exception {
    assertError(
        exchange("POST /v1/ws HTTP/1.1\r\nHost: 127.0.0.1:" + node.httpPort() + "\r\nContent-Length: 0\r\n\r\n"),
        405, "bad_request", "Method Not Allowed");
  }

  /** A query string that does not parse: 400, from Pekko HTTP's request parser, before any route (as before). */
  @Test
  void aMalformedQueryIs400() throws Exception {
    assertThat(exchange(upgradeRequest(null, null).replace("GET /v1/ws ", "GET /v1/ws?token=%zz ")).status()).isEqualTo(400);
  }
}
