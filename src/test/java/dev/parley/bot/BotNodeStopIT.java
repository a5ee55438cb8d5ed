package dev.parley.bot;

import static dev.parley.testing.WsClient.frame;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.parley.testing.TestNode;
import dev.parley.testing.WsClient;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/**
 * A single node stopping while one bot is behind and another is in the middle of a slow answer. The
 * region's handoff waits for the slow answer; meanwhile the runner that is behind, handed off with
 * work left, sends itself a wake for its new node. With no other node up Cluster Sharding has nowhere
 * to place it: had the wake been sent, the region would have held it and waited out the whole
 * region-shutdown phase before stopping (every stop of a one-node install with bots at work). The
 * phase is long here (60 s), so a node that waits it out fails the test by a wide margin; and the
 * bot that was behind answers every message once when the node starts again.
 */
class BotNodeStopIT {

  private static final Duration REGION_SHUTDOWN_PHASE = Duration.ofSeconds(60);

  @Test
  void aSingleNodeWithABotBehindStopsWithoutWaitingOutTheRegionShutdownPhaseAndTheBotResumesAfterARestart() throws Exception {
    Map<String, Object> settings = new HashMap<>();
    settings.put("parley.bots.gated.type", "class");
    settings.put("parley.bots.gated.class", GatedEchoBot.class.getName());
    settings.put("parley.bots.gated.enabled", true);
    // The gate stays closed: each attempt times out quickly and is retried, so the runner is
    // behind when its node stops, and handed off with work left.
    settings.put("parley.bots.gated.processing-timeout", "500ms");
    settings.put("parley.bots.gated.max-attempts", 1_000);
    settings.put("parley.bots.gated.min-backoff", "100ms");
    settings.put("parley.bots.gated.max-backoff", "100ms");
    settings.put("parley.bots.sleepy.type", "class");
    settings.put("parley.bots.sleepy.class", SleepyBot.Brief.class.getName());
    settings.put("parley.bots.sleepy.enabled", true);
    settings.put("parley.bots.sleepy.processing-timeout", "20s");
    // The runner that is behind sends its wake soon after its handoff, while the sleepy one holds the region.
    settings.put("parley.bot-runner.handoff-rewake", "200ms");
    settings.put("pekko.coordinated-shutdown.phases.cluster-sharding-shutdown-region.timeout", REGION_SHUTDOWN_PHASE.toSeconds() + "s");
    try (TestNode node = TestNode.onH2(settings)) {
      String conversation = "c-" + UUID.randomUUID();
      String slowConversation = "c-" + UUID.randomUUID();
      try (WsClient alice = node.connect("alice")) {
        create(alice, conversation, "bot:gated");
        send(alice, conversation, "hello 0");
        send(alice, conversation, "hello 1");
        await("the gated bot at work on the first message").atMost(Duration.ofSeconds(20)).until(() -> GatedEchoBot.waiting(conversation));
        create(alice, slowConversation, "bot:sleepy");
        send(alice, slowConversation, "are you there?");
        // The sleepy bot takes 3 s from here: the region's handoff waits for it.
        await("the sleepy bot at work").atMost(Duration.ofSeconds(20)).until(() -> SleepyBot.started(slowConversation) == 1);
      }

      long start = System.nanoTime();
      node.stop();
      Duration stopped = Duration.ofNanos(System.nanoTime() - start);
      assertThat(stopped).as("the node's stop (the region-shutdown phase is %s)", REGION_SHUTDOWN_PHASE)
          .isLessThan(REGION_SHUTDOWN_PHASE.dividedBy(2));

      // Nothing was lost by not sending the wake: the durable offset brings the bot back.
      GatedEchoBot.allow(conversation, 2);
      node.start();
      try (WsClient alice = node.connect("alice")) {
        await("one reply to each message after the restart")
            .atMost(Duration.ofSeconds(30))
            .pollInterval(Duration.ofMillis(200))
            .until(() -> replyTexts(alice, conversation).size() >= 2);
        assertThat(replyTexts(alice, conversation)).containsExactly("gated: hello 0", "gated: hello 1");
      }
    }
  }

  private static void create(WsClient client, String conversation, String bot) {
    ObjectNode create = frame("create").put("conversation", conversation);
    create.putArray("members").add(bot);
    assertThat(client.request(create).path("type").asText()).isEqualTo("created");
  }

  private static void send(WsClient client, String conversation, String text) {
    ObjectNode ack = client.request(frame("send").put("conversation", conversation).put("clientMsgId", "m-" + UUID.randomUUID()).put("text", text));
    assertThat(ack.path("type").asText()).as("%s", ack).isEqualTo("ack");
  }

  private static List<String> replyTexts(WsClient client, String conversation) {
    ObjectNode page = client.request(frame("history").put("conversation", conversation).put("limit", 100));
    assertThat(page.path("type").asText()).as("%s", page).isEqualTo("history");
    List<String> texts = new ArrayList<>();
    page.path("events").forEach(e -> {
      if ("message".equals(e.path("type").asText()) && "bot:gated".equals(e.path("sender").asText())) texts.add(e.path("text").asText());
    });
    return texts;
  }
}
