package dev.parley.bot;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.typesafe.config.Config;
import dev.parley.conversation.TimelineEvent;
import dev.parley.gateway.Frames;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.security.InvalidKeyException;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.HexFormat;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * An external bot reached by outgoing webhooks (type {@code webhook}): each event is POSTed as JSON,
 * the same shape as the websocket event frame plus {@code "bot"}, signed with HMAC-SHA256 over the
 * body ({@value #SIGNATURE_HEADER}: {@code sha256=<hex>}). A 2xx answer handles the event; its body
 * may carry {@code {"replies":[{"text":"..."}], "handoff": "reason"}}. Anything else (an error
 * status, no answer within the request timeout) fails the attempt: the runner retries with backoff
 * and, after the last attempt, writes a dead letter and moves on. Delivery is at least once:
 * {@value #DELIVERY_HEADER} ({@code <bot>/<conversation>/<seq>}) lets the receiver deduplicate.
 * The bot's own messages are not delivered (no loops through its own replies).
 */
public final class WebhookBot implements Bot {

  public static final String SIGNATURE_HEADER = "X-Parley-Signature";
  public static final String DELIVERY_HEADER = "X-Parley-Delivery";

  private final String name;
  private final URI url;
  private final byte[] secret;
  private final Duration requestTimeout;
  private final HttpClient http;

  public WebhookBot(String name, URI url, String secret, Duration requestTimeout) {
    if (secret.getBytes(StandardCharsets.UTF_8).length < 16) {
      throw new IllegalArgumentException("parley.bots." + name + ".secret must be at least 16 bytes");
    }
    this.name = name;
    this.url = url;
    this.secret = secret.getBytes(StandardCharsets.UTF_8);
    this.requestTimeout = requestTimeout;
    this.http = HttpClient.newBuilder().connectTimeout(requestTimeout).version(HttpClient.Version.HTTP_1_1).build();
  }

  static WebhookBot fromConfig(String name, Config c) {
    return new WebhookBot(
        name,
        URI.create(c.getString("url")),
        c.getString("secret"),
        c.hasPath("request-timeout") ? c.getDuration("request-timeout") : Duration.ofSeconds(5));
  }

  @Override
  public void onEvent(BotContext ctx, TimelineEvent event) throws IOException, InterruptedException {
    if (event instanceof TimelineEvent.MessagePosted m && m.sender().equals(ctx.self())) return;
    ObjectNode payload = Frames.event(ctx.conversation(), event).put("bot", ctx.self());
    byte[] body = Frames.write(payload).getBytes(StandardCharsets.UTF_8);
    HttpRequest request =
        HttpRequest.newBuilder(url)
            .timeout(requestTimeout)
            .header("Content-Type", "application/json")
            .header(SIGNATURE_HEADER, signature(secret, body))
            .header(DELIVERY_HEADER, name + "/" + ctx.conversation() + "/" + event.seq())
            .POST(HttpRequest.BodyPublishers.ofByteArray(body))
            .build();
    HttpResponse<String> response = http.send(request, HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
    if (response.statusCode() / 100 != 2) throw new IOException("webhook answered HTTP " + response.statusCode());
    String answer = response.body();
    if (answer == null || answer.isBlank()) return;
    JsonNode json;
    try {
      json = Frames.JSON.readTree(answer);
    } catch (IOException e) {
      throw new IOException("webhook answered a body that is not JSON");
    }
    for (JsonNode reply : json.path("replies")) {
      if (reply.path("text").isTextual()) ctx.reply(reply.path("text").asText());
    }
    if (json.path("handoff").isTextual()) ctx.handoff(json.path("handoff").asText());
  }

  /** {@code sha256=} and the lowercase hex HMAC-SHA256 of {@code body} under {@code secret}. */
  public static String signature(byte[] secret, byte[] body) {
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(secret, "HmacSHA256"));
      return "sha256=" + HexFormat.of().formatHex(mac.doFinal(body));
    } catch (NoSuchAlgorithmException | InvalidKeyException e) {
      throw new IllegalStateException("HmacSHA256 is unavailable", e);
    }
  }
}
