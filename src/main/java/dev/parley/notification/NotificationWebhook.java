package dev.parley.notification;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.parley.bot.WebhookBot;
import dev.parley.gateway.Frames;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;

/**
 * The receiver of offline notifications (protocol.md, "Offline notifications"): one signed JSON
 * POST per notification, signed exactly as the webhook bots' events are ({@link
 * WebhookBot#signature}: {@code X-Parley-Signature: sha256=<hex HMAC-SHA256 of the body>}), with
 * {@code X-Parley-Delivery: notify/<user>/<conversation>/<seq>} for deduplication (a crash between
 * the receiver's 2xx and its record repeats one). Any 2xx is success; anything else, or no answer
 * within the request timeout, fails the attempt.
 */
final class NotificationWebhook {

  static final String EVENT_HEADER = "X-Parley-Event";

  private final URI url;
  private final byte[] secret;
  private final NotificationSettings settings;
  private final HttpClient http;

  NotificationWebhook(NotificationSettings settings) {
    this.url = settings.url().orElseThrow();
    this.secret = settings.secret().getBytes(StandardCharsets.UTF_8);
    this.settings = settings;
    this.http = HttpClient.newBuilder().connectTimeout(settings.requestTimeout()).version(HttpClient.Version.HTTP_1_1).build();
  }

  /** Completes true on a 2xx, false on any other answer or failure; never exceptionally. */
  CompletableFuture<Boolean> post(NotificationStore.Due due) {
    byte[] body = Frames.write(payload(due, settings.includeText())).getBytes(StandardCharsets.UTF_8);
    HttpRequest request =
        HttpRequest.newBuilder(url)
            .timeout(settings.requestTimeout())
            .header("Content-Type", "application/json")
            .header(WebhookBot.SIGNATURE_HEADER, WebhookBot.signature(secret, body))
            .header(WebhookBot.DELIVERY_HEADER, deliveryId(due))
            .header(EVENT_HEADER, "notification")
            .POST(HttpRequest.BodyPublishers.ofByteArray(body))
            .build();
    return http.sendAsync(request, HttpResponse.BodyHandlers.discarding())
        .handle((response, failure) -> failure == null && response.statusCode() / 100 == 2);
  }

  static String deliveryId(NotificationStore.Due due) {
    return "notify/" + due.user() + "/" + due.conversation() + "/" + due.lastSeq();
  }

  /**
   * {@code unread}: the member's unread count in the conversation as their inbox shows it (never
   * below {@code messages}); {@code messages}: how many messages this notification covers (more
   * than one when coalesced); {@code message}: the newest of them.
   */
  static ObjectNode payload(NotificationStore.Due due, boolean includeText) {
    ObjectNode payload =
        Frames.JSON
            .createObjectNode()
            .put("type", "notification")
            .put("delivery", deliveryId(due))
            .put("user", due.user())
            .put("conversation", due.conversation());
    if (due.title() == null) payload.putNull("title");
    else payload.put("title", due.title());
    payload.put("unread", Math.max(due.unread(), due.messages())).put("messages", due.messages());
    ObjectNode message = payload.putObject("message").put("seq", due.lastSeq()).put("ts", due.lastTs()).put("sender", due.lastSender());
    if (includeText) message.put("text", due.lastText());
    return payload;
  }
}
