package dev.parley.endtoend;

import static dev.parley.testing.WsClient.frame;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.parley.testing.JournalGate;
import dev.parley.testing.TestNode;
import dev.parley.testing.WsClient;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * An overloaded node refuses a send at once, with a hint of when to retry, and without persisting
 * it (issue 18, target 8), on H2 and PostgreSQL. "Overloaded" is made deterministic: the node
 * admits one send in flight ({@code max-sends-in-flight = 1}), and the journal table is held so
 * that the first send's write waits on the database while the second arrives.
 */
class OverloadIT {

  static java.util.stream.Stream<Arguments> storages() {
    Map<String, Object> oneSendInFlight = Map.of("parley.conversation.max-sends-in-flight", 1);
    return java.util.stream.Stream.of(
        Arguments.of("h2", (TestNode.Factory) () -> TestNode.onH2(oneSendInFlight)),
        Arguments.of("postgresql", (TestNode.Factory) () -> TestNode.onPostgres(oneSendInFlight)));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("storages")
  void aSendRefusedByAnOverloadedNodeCarriesARetryHintAndIsNotPersisted(String storage, TestNode.Factory factory)
      throws Exception {
    try (TestNode node = factory.start();
        WsClient alice = node.connect("alice")) {
      String conversation = "overload-" + UUID.randomUUID();
      ObjectNode created = alice.request(frame("create").put("conversation", conversation).put("title", "busy"));
      assertThat(created.path("type").asText()).isEqualTo("created");

      ObjectNode first = send(conversation, "first");
      ObjectNode refused;
      try (JournalGate hold = JournalGate.hold(node)) {
        // The first send is admitted; its write waits for the database.
        alice.send(first);
        // The second finds the one place taken and is answered at once, while the first still waits.
        refused = alice.request(send(conversation, "second"));
      }

      assertThat(refused.path("type").asText()).isEqualTo("error");
      assertThat(refused.path("code").asText()).isEqualTo("unavailable");
      assertThat(refused.path("retryAfterMs").asLong()).isBetween(100L, 5_000L);
      ObjectNode firstAck = alice.expect(f -> first.get("id").equals(f.get("id")), "the first send's answer");
      assertThat(firstAck.path("type").asText()).isEqualTo("ack");
      assertThat(firstAck.path("seq").asLong()).isEqualTo(2);
      assertThat(clientMsgIds(alice, conversation)).containsExactly("first");

      // The retry the hint asks for lands once, after the first.
      ObjectNode retried = alice.request(send(conversation, "second"));
      assertThat(retried.path("type").asText()).isEqualTo("ack");
      assertThat(retried.path("seq").asLong()).isEqualTo(3);
      assertThat(clientMsgIds(alice, conversation)).containsExactly("first", "second");
    }
  }

  private static ObjectNode send(String conversation, String clientMsgId) {
    return frame("send")
        .put("id", "req-" + clientMsgId)
        .put("conversation", conversation)
        .put("clientMsgId", clientMsgId)
        .put("text", "text of " + clientMsgId);
  }

  private static List<String> clientMsgIds(WsClient client, String conversation) {
    ObjectNode page = client.request(frame("history").put("conversation", conversation).put("limit", 50));
    List<String> ids = new ArrayList<>();
    for (JsonNode event : page.path("events")) {
      if ("message".equals(event.path("type").asText())) ids.add(event.path("clientMsgId").asText());
    }
    return ids;
  }
}
