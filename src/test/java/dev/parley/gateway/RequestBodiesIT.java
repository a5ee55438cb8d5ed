package dev.parley.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.parley.testing.TestNode;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * HTTP request bodies the API answers without needing them (unknown path, bad token) are read whole
 * before the answer, so the kept-alive connection serves the client's next request: an HTTP/1.1
 * client reuses it, and a body left unread made Pekko HTTP close the connection under the next
 * request (the JDK client's "header parser received no bytes" in HostileInputIT). A body that stops
 * arriving, or is too large, gets its JSON error. Raw sockets, so the body's framing is the test's:
 * a chunked body is always streamed by the server, never handed over whole with the headers.
 */
class RequestBodiesIT {

  private static final ObjectMapper JSON = new ObjectMapper();
  private static TestNode node;

  @BeforeAll
  static void start() throws Exception {
    node = TestNode.onH2(Map.of("parley.gateway.request-body-timeout", "1s"));
  }

  @AfterAll
  static void stop() throws Exception {
    node.close();
  }

  @Test
  void aBodyTheApiAnswersWithoutReadingLeavesTheConnectionServingTheNextRequest() throws Exception {
    try (Socket socket = connect()) {
      OutputStream out = socket.getOutputStream();
      InputStream in = socket.getInputStream();
      for (String[] request : new String[][] {{"/v1/no-such-thing", "Bearer a.b.c", "404"}, {"/v1/conversations", "Bearer a.b.c", "401"}}) {
        out.write(ascii("POST " + request[0] + " HTTP/1.1\r\nHost: parley\r\nAuthorization: " + request[1]
            + "\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"));
        out.flush();
        out.write(chunk("{\"text\":\"" + "x".repeat(1_500)));
        out.flush();
        out.write(chunk("\"}"));
        out.write(ascii("0\r\n\r\n"));
        out.flush();

        Response answer = Response.read(in);

        assertThat(answer.status()).as("POST %s: %s", request[0], answer.body()).isEqualTo(Integer.parseInt(request[2]));
        assertThat(answer.json().path("type").asText()).isEqualTo("error");
        assertThat(answer.headers().getOrDefault("connection", "")).as("the connection is kept").doesNotContainIgnoringCase("close");
      }

      out.write(ascii("GET /health HTTP/1.1\r\nHost: parley\r\n\r\n"));
      out.flush();
      Response health = Response.read(in);

      assertThat(health.status()).as("the next request on the same connection").isEqualTo(200);
      assertThat(health.json().path("status").asText()).isEqualTo("ok");
    }
  }

  @Test
  void aBodyThatStopsArrivingIsAnswered408WithAJsonError() throws Exception {
    try (Socket socket = connect()) {
      OutputStream out = socket.getOutputStream();
      out.write(ascii("POST /v1/no-such-thing HTTP/1.1\r\nHost: parley\r\nAuthorization: Bearer " + node.token("slow")
          + "\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"text\":"));
      out.flush();

      Response answer = Response.read(socket.getInputStream());

      assertThat(answer.status()).as(answer.body()).isEqualTo(408);
      assertThat(answer.json().path("code").asText()).isEqualTo("bad_request");
      assertThat(answer.json().path("message").asText()).contains("timed out");
    }
  }

  @Test
  void aStreamedBodyLargerThanTheLimitIsAnswered413WithAJsonError() throws Exception {
    try (Socket socket = connect()) {
      OutputStream out = socket.getOutputStream();
      out.write(ascii("POST /v1/no-such-thing HTTP/1.1\r\nHost: parley\r\nAuthorization: Bearer a.b.c"
          + "\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"));
      // Above max-frame-bytes (the tests' 2,048) in chunks: no Content-Length tells the server in advance.
      for (int i = 0; i < 5; i++) out.write(chunk("y".repeat(1_000)));
      out.write(ascii("0\r\n\r\n"));
      out.flush();

      Response answer = Response.read(socket.getInputStream());

      assertThat(answer.status()).as(answer.body()).isEqualTo(413);
      assertThat(answer.json().path("code").asText()).isEqualTo("too_large");
    }
  }

  private static Socket connect() throws IOException {
    Socket socket = new Socket();
    socket.connect(new InetSocketAddress("127.0.0.1", node.httpPort()));
    socket.setSoTimeout(15_000);
    socket.setTcpNoDelay(true);
    return socket;
  }

  private static byte[] ascii(String text) {
    return text.getBytes(StandardCharsets.US_ASCII);
  }

  private static byte[] chunk(String data) {
    byte[] bytes = data.getBytes(StandardCharsets.UTF_8);
    return ascii(Integer.toHexString(bytes.length) + "\r\n" + data + "\r\n");
  }

  /** One HTTP/1.1 response with a Content-Length body (what the node sends for JSON answers). */
  private record Response(int status, Map<String, String> headers, String body) {
    JsonNode json() throws IOException {
      return JSON.readTree(body);
    }

    static Response read(InputStream in) throws IOException {
      String statusLine = line(in);
      assertThat(statusLine).as("a status line (not the connection closed without an answer)").isNotNull().startsWith("HTTP/1.1 ");
      Map<String, String> headers = new LinkedHashMap<>();
      for (String header = line(in); header == null || !header.isEmpty(); header = line(in)) {
        if (header == null) throw new EOFException("the connection closed within the response's headers");
        int colon = header.indexOf(':');
        headers.put(header.substring(0, colon).trim().toLowerCase(Locale.ROOT), header.substring(colon + 1).trim());
      }
      int length = Integer.parseInt(headers.getOrDefault("content-length", "0"));
      byte[] body = in.readNBytes(length);
      assertThat(body).as("the whole body").hasSize(length);
      return new Response(Integer.parseInt(statusLine.substring(9, 12)), headers, new String(body, StandardCharsets.UTF_8));
    }

    /** The next line without its CRLF; null if the connection closed before it. */
    private static String line(InputStream in) throws IOException {
      ByteArrayOutputStream line = new ByteArrayOutputStream();
      for (int b = in.read(); b != '\n'; b = in.read()) {
        if (b == -1) return null;
        if (b != '\r') line.write(b);
      }
      return line.toString(StandardCharsets.US_ASCII);
    }
  }
}
