package dev.parley.testing;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;

/** A client of the HTTP API on the JDK's {@link HttpClient}: JSON in, status and JSON out. */
public final class ApiClient {

  private static final HttpClient HTTP =
      HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(WsClient.TIMEOUT).build();

  private final URI base;

  ApiClient(URI base) {
    this.base = base;
  }

  /** A response: its status and its body parsed as JSON (a JSON string node when it is not JSON). */
  public record Response(int status, JsonNode body) {
    public String errorCode() {
      return body.path("code").asText();
    }
  }

  /** {@code token} null: no Authorization header at all. */
  public Response post(String path, String token, String body) {
    return call(request(path, token).header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)));
  }

  public Response get(String path, String token) {
    return call(request(path, token).GET());
  }

  private HttpRequest.Builder request(String path, String token) {
    HttpRequest.Builder builder = HttpRequest.newBuilder(base.resolve(path)).timeout(WsClient.TIMEOUT);
    if (token != null) builder.header("Authorization", "Bearer " + token);
    return builder;
  }

  private static Response call(HttpRequest.Builder request) {
    try {
      HttpResponse<String> response = HTTP.send(request.build(), HttpResponse.BodyHandlers.ofString());
      JsonNode body;
      try {
        body = WsClient.JSON.readTree(response.body());
      } catch (IOException notJson) {
        body = WsClient.JSON.getNodeFactory().textNode(response.body());
      }
      return new Response(response.statusCode(), body);
    } catch (IOException e) {
      throw new AssertionError("HTTP request failed: " + e, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError("interrupted", e);
    }
  }
}
