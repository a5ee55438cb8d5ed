package dev.parley.endtoend;

import static dev.parley.testing.WsClient.frame;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.parley.bot.GatedEchoBot;
import dev.parley.testing.TcpProxy;
import dev.parley.testing.TestNode;
import dev.parley.testing.TestPostgres;
import dev.parley.testing.WsClient;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;
import java.util.stream.LongStream;
import org.awaitility.core.ConditionTimeoutException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * PostgreSQL goes away for 30 s (its connections are reset and refused, through a real TCP path)
 * while clients send, then comes back: the node's storage breaker opens and sends fail fast with
 * {@code unavailable} instead of queueing, nothing is acknowledged that was not persisted, the
 * node stays ready (the database is shared: readiness on it would empty the load balancer), the
 * breaker closes within 2 s of the database's return and the node serves again on its own, a
 * client that was refused is told so ({@code writes_resumed}) while one that was not is left alone,
 * and retries with the same clientMsgId land exactly once.
 */
class DatabaseOutageIT {

  /** No answer ever takes longer than the node's ask timeout (5 s), plus slack for a loaded machine. */
  private static final Duration BOUNDED = Duration.ofSeconds(12);
  /** An answer from an open breaker: no database, no entity, no ask timeout involved. */
  private static final Duration FAST = Duration.ofMillis(500);
  private static final Duration OUTAGE = Duration.ofSeconds(30);
  /** Issue 23's target: no longer than the outage plus 2 s without an acknowledged write. */
  private static final Duration WRITES_RESUME_WITHIN = Duration.ofSeconds(2);
  /**
   * The gated bot's backoff after a failure that is not its own: at least 15 s (half the minimum,
   * jittered), so that a reply within {@link #BOT_RESUMES_WITHIN} of the next message can only come
   * from the wake ending the wait, not from the backoff running out.
   */
  private static final String BOT_MIN_BACKOFF = "30s";
  private static final Duration BOT_RESUMES_WITHIN = Duration.ofSeconds(8);
  /** Unacknowledged messages a client holds at most (see the outage loop). */
  private static final int OUTBOX = 200;
  private static final HttpClient HTTP = HttpClient.newHttpClient();

  private TcpProxy database;
  private TestNode node;

  @BeforeEach
  void start() throws Exception {
    database = new TcpProxy(TestPostgres.server().host(), TestPostgres.server().port());
    // One client sending one message at a time is light load: each failed write takes the ask
    // timeout, so the breaker opens after 3 rather than the default 5. The default outbound buffer
    // (512 frames, not TestNode's 64 for replay tests): the retries after the outage put ~130
    // messages on bob's connection within a second, and on a busy machine a stall of his stream
    // for a few hundred ms closed him as a slow consumer (CI, 2026-12-06) — not what this test is about.
    node =
        TestNode.onPostgresAt(
            database.port(),
            Map.of(
                "parley.storage-breaker.max-failures", 3,
                "parley.gateway.outbound-buffer", 512,
                "parley.bots.gated.type", "class",
                "parley.bots.gated.class", GatedEchoBot.class.getName(),
                "parley.bots.gated.enabled", true,
                "parley.bots.gated.min-backoff", BOT_MIN_BACKOFF,
                "parley.bots.gated.max-backoff", "60s"));
  }

  @AfterEach
  void stop() throws Exception {
    database.restore();
    try {
      node.close();
    } finally {
      database.close();
    }
  }

  @Test
  void sendsFailFastWhileTheDatabaseIsAwayAndNothingAcknowledgedIsLost() {
    String conversation = "outage-" + UUID.randomUUID();
    WsClient alice = node.connect("alice");
    WsClient bob = node.connect("bob");
    WsClient carol = node.connect("carol");
    assertThat(alice.request(frame("create").put("conversation", conversation).set("members", WsClient.JSON.createArrayNode().add("bob").add("carol")))
            .path("type").asText())
        .isEqualTo("created");
    assertThat(bob.request(frame("subscribe").put("conversation", conversation).put("since", 0)).path("type").asText())
        .isEqualTo("subscribed");

    Map<String, Long> acked = new LinkedHashMap<>();
    for (int i = 1; i <= 3; i++) acked.put("m" + i, ack(alice.request(send(conversation, "m" + i))));

    assertThat(breaker().path("state").asText()).isEqualTo("closed");
    database.cut();
    Set<String> refused = new LinkedHashSet<>();
    List<Duration> answersWhileOpen = new ArrayList<>();
    long outageEnds = System.nanoTime() + OUTAGE.toNanos();
    // Like a real client, alice holds at most OUTBOX unacknowledged messages: beyond that she
    // retries what she holds (same clientMsgId) instead of writing new ones. Unbounded, a fast
    // breaker lets her pile up thousands, and retrying them one by one outlasts the test.
    int next = 4;
    Iterator<String> retries = Collections.emptyIterator();
    while (System.nanoTime() < outageEnds) {
      String clientMsgId;
      if (refused.size() < OUTBOX) {
        clientMsgId = "m" + next++;
      } else {
        if (!retries.hasNext()) retries = List.copyOf(refused).iterator();
        clientMsgId = retries.next();
      }
      assertThat(readiness()).as("/ready while the database is away: a shared outage must not empty the load balancer").isEqualTo(200);
      long refusedBefore = breaker().path("refused").asLong();
      long started = System.nanoTime();
      ObjectNode reply = alice.request(send(conversation, clientMsgId));
      Duration took = Duration.ofNanos(System.nanoTime() - started);
      assertThat(took).as("answer to a send while the database is away").isLessThan(BOUNDED);
      if ("ack".equals(reply.path("type").asText())) {
        acked.put(clientMsgId, reply.path("seq").asLong()); // persisted before the cut took effect
        refused.remove(clientMsgId);
      } else {
        assertThat(reply.path("type").asText()).isEqualTo("error");
        assertThat(reply.path("code").asText()).isEqualTo("unavailable");
        refused.add(clientMsgId);
        // Answered by the open breaker (its refusal counter moved), not by a trial write.
        if (breaker().path("refused").asLong() == refusedBefore + 1) answersWhileOpen.add(took);
      }
    }
    assertThat(refused).as("sends refused while the database is away").isNotEmpty();
    JsonNode duringOutage = breaker();
    assertThat(duringOutage.path("opened").asLong()).as("the breaker opened").isPositive();
    assertThat(duringOutage.path("refused").asLong()).isPositive();
    assertThat(answersWhileOpen).as("answers while the breaker was open").isNotEmpty().allSatisfy(d -> assertThat(d).isLessThan(FAST));
    assertThat(answersWhileOpen.size()).as("most sends of the outage were answered by the open breaker").isGreaterThan(refused.size() / 2);

    // The figures security.md quotes, for whoever reads the build log.
    System.out.printf(
        "database away %d s: %d messages refused unavailable, %d refusals answered by the open breaker (slowest %d ms), breaker opened %d time(s)%n",
        OUTAGE.toSeconds(), refused.size(), answersWhileOpen.size(),
        answersWhileOpen.stream().mapToLong(Duration::toMillis).max().orElse(0), duringOutage.path("opened").asLong());
    assertThat(status().path("database").path("answers")).as("/parley/status: the database does not answer").hasToString("false");
    assertThat(status().path("database").path("writes").asText()).isEqualTo("unavailable");
    // Carol writes once while the database is away, is refused, and then only waits to be told.
    ObjectNode carolRefused = carol.request(send(conversation, "carol-1"));
    assertThat(carolRefused.path("code").asText()).as("carol's send while the breaker is open: %s", carolRefused).isEqualTo("unavailable");
    database.restore();
    long restored = System.nanoTime();
    // Writes resume as soon as the database answers: the breaker asks it every second (it used to
    // wait for a trial write, up to 10 s apart), and the journal's own breaker tries every second.
    await("a new message acknowledged within 2 s of the database's return")
        .atMost(WRITES_RESUME_WITHIN)
        .pollInterval(Duration.ofMillis(100))
        .until(() -> "ack".equals(alice.request(send(conversation, "after-outage")).path("type").asText()));
    acked.put("after-outage", alice.request(send(conversation, "after-outage")).path("seq").asLong());
    System.out.printf("database back: first new message acknowledged after %d ms%n", Duration.ofNanos(System.nanoTime() - restored).toMillis());
    assertThat(status().path("database").path("answers")).hasToString("true");
    // Told, without asking, that writes work again; her retry is acknowledged.
    carol.expect("writes_resumed");
    System.out.printf("database back: writes_resumed received by a refused client %d ms after the return%n", Duration.ofNanos(System.nanoTime() - restored).toMillis());
    acked.put("carol-1", ack(carol.request(send(conversation, "carol-1"))));
    // The client's retry policy: the same clientMsgId until it is acknowledged.
    await()
        .atMost(Duration.ofSeconds(90))
        .pollInterval(Duration.ofMillis(500))
        .untilAsserted(
            () -> {
              for (String clientMsgId : List.copyOf(refused)) {
                ObjectNode reply = alice.request(send(conversation, clientMsgId));
                if ("ack".equals(reply.path("type").asText())) {
                  acked.put(clientMsgId, reply.path("seq").asLong());
                  refused.remove(clientMsgId);
                }
              }
              assertThat(refused).isEmpty();
            });
    JsonNode afterOutage = breaker();
    assertThat(afterOutage.path("state").asText()).as("the breaker closed again").isEqualTo("closed");
    assertThat(afterOutage.path("closed").asLong()).isPositive();
    System.out.printf(
        "database back: every refused send acknowledged on retry after %d ms, breaker closed %d time(s)%n",
        Duration.ofNanos(System.nanoTime() - restored).toMillis(), afterOutage.path("closed").asLong());

    // Every acknowledged message is in the history exactly once, at its seq, with no gap.
    List<JsonNode> history = fullHistory(alice, conversation);
    Map<Long, String> messages = new TreeMap<>();
    for (JsonNode event : history) {
      if ("message".equals(event.path("type").asText())) messages.put(event.path("seq").asLong(), event.path("clientMsgId").asText());
    }
    assertThat(history.stream().map(e -> e.path("seq").asLong()).toList())
        .containsExactlyElementsOf(LongStream.rangeClosed(1, history.size()).boxed().toList());
    assertThat(messages.values()).doesNotHaveDuplicates().containsExactlyInAnyOrderElementsOf(acked.keySet());
    acked.forEach((clientMsgId, seq) -> assertThat(messages).containsEntry(seq, clientMsgId));

    // Bob's stream: whatever the session re-established on its own, a resubscribe from his last
    // seq completes it, and across both he saw every event once, in order.
    List<ObjectNode> bobsFrames = bob.framesBeforePong();
    assertThat(bobsFrames).as("bob was never refused: no writes_resumed for him").noneMatch(f -> "writes_resumed".equals(f.path("type").asText()));
    List<Long> seen = new ArrayList<>(eventSeqs(bobsFrames, conversation));
    long lastSeen = seen.isEmpty() ? 0 : seen.get(seen.size() - 1);
    bob.request(frame("subscribe").put("conversation", conversation).put("since", lastSeen));
    long lastSeq = history.size();
    if (lastSeen < lastSeq) seen.addAll(WsClient.seqs(bob.expectEvents(conversation, (int) (lastSeq - lastSeen))));
    assertThat(seen).containsExactlyElementsOf(LongStream.rangeClosed(1, lastSeq).boxed().toList());
  }

  /**
   * A bot whose reply failed while the database was away waits out a backoff; the next message
   * after the database's return wakes it at once instead (issue 23's fault benchmark: the echo
   * bot stayed silent up to its 30 s max-backoff after a cut), and it answers both messages, once
   * each.
   */
  @Test
  void aBotStalledByTheOutageAnswersAsSoonAsTheNextMessageArrives() {
    String conversation = "outage-bot-" + UUID.randomUUID();
    WsClient alice = node.connect("alice");
    assertThat(alice.request(frame("create").put("conversation", conversation).set("members", WsClient.JSON.createArrayNode().add("bot:gated")))
            .path("type").asText())
        .isEqualTo("created");
    ack(alice.request(send(conversation, "before-cut")));
    // The bot holds its reply until the database is away; the reply then fails (no answer within
    // the ask timeout), a failure that is not the bot's: the runner backs off for at least 15 s.
    await("the bot has read the message and waits to answer it").atMost(Duration.ofSeconds(15)).until(() -> GatedEchoBot.waiting(conversation));
    database.cut();
    GatedEchoBot.allow(conversation, 1);
    await("the bot's reply failed while the database is away")
        .atMost(Duration.ofSeconds(30))
        .pollInterval(Duration.ofMillis(200))
        .until(() -> status().path("bots").path("gated").path("failures").asLong() >= 1);
    database.restore();
    // The second message needs the gate; the retry of the first passed it already (a permit is per
    // message, however many attempts its reply takes after the outage).
    GatedEchoBot.allow(conversation, 1);
    await("a message acknowledged after the database's return")
        .atMost(Duration.ofSeconds(15))
        .pollInterval(Duration.ofMillis(200))
        .until(() -> "ack".equals(alice.request(send(conversation, "after-cut")).path("type").asText()));
    long woken = System.nanoTime();
    try {
      await("the bot answers the message it owed, woken by the next one (not after its backoff)")
          .atMost(BOT_RESUMES_WITHIN)
          .pollInterval(Duration.ofMillis(200))
          .until(() -> botReplies(alice, conversation).contains("gated: text of before-cut"));
      // The next message's own answer comes right after, unless a step of it fails for a reason not
      // the bot's (a pool still reconnecting after the outage): then the bot waits out its stall
      // backoff, which this test sets to 15-30 s. What the wake promises is the owed answer above.
      await("the bot answers the next message too")
          .atMost(BOT_RESUMES_WITHIN.plus(Duration.ofSeconds(Duration.parse("PT" + BOT_MIN_BACKOFF).toSeconds())))
          .pollInterval(Duration.ofMillis(200))
          .until(() -> botReplies(alice, conversation).contains("gated: text of after-cut"));
    } catch (ConditionTimeoutException e) {
      // Silent otherwise: say where the bot stands (failures, lag) and what the conversation holds.
      throw new AssertionError(
          e.getMessage() + "; bots: " + status().path("bots")
              + "; replies so far: " + botReplies(alice, conversation) + "; gate waiting: " + GatedEchoBot.waiting(conversation),
          e);
    }
    System.out.printf("bot after the outage: both replies %d ms after the next message%n", Duration.ofNanos(System.nanoTime() - woken).toMillis());
    assertThat(botReplies(alice, conversation)).containsExactly("gated: text of before-cut", "gated: text of after-cut");
  }

  /** The bot's replies in the conversation's history, in order. */
  private static List<String> botReplies(WsClient client, String conversation) {
    return fullHistory(client, conversation).stream()
        .filter(e -> "message".equals(e.path("type").asText()) && "bot:gated".equals(e.path("sender").asText()))
        .map(e -> e.path("text").asText())
        .toList();
  }

  /** The node's storage breaker, as {@code GET /parley/status} on the management port shows it. */
  private JsonNode breaker() {
    return status().path("storageBreaker");
  }

  private int readiness() {
    try {
      return HTTP.send(
              HttpRequest.newBuilder(node.managementUri().resolve("/ready")).timeout(Duration.ofSeconds(5)).build(),
              HttpResponse.BodyHandlers.discarding())
          .statusCode();
    } catch (Exception e) {
      throw new AssertionError("/ready unavailable: " + e, e);
    }
  }

  private JsonNode status() {
    try {
      HttpResponse<String> response =
          HTTP.send(
              HttpRequest.newBuilder(node.managementUri().resolve("/parley/status"))
                  .header("Authorization", "Bearer " + TestNode.ADMIN_TOKEN)
                  .timeout(Duration.ofSeconds(5))
                  .build(),
              HttpResponse.BodyHandlers.ofString());
      assertThat(response.statusCode()).isEqualTo(200);
      return WsClient.JSON.readTree(response.body());
    } catch (Exception e) {
      throw new AssertionError("status unavailable: " + e, e);
    }
  }

  private static ObjectNode send(String conversation, String clientMsgId) {
    return frame("send").put("conversation", conversation).put("clientMsgId", clientMsgId).put("text", "text of " + clientMsgId);
  }

  private static long ack(ObjectNode reply) {
    assertThat(reply.path("type").asText()).as("reply %s", reply).isEqualTo("ack");
    return reply.path("seq").asLong();
  }

  private static List<Long> eventSeqs(List<ObjectNode> frames, String conversation) {
    return frames.stream().filter(f -> WsClient.isEventOf(conversation, f)).map(f -> f.path("seq").asLong()).toList();
  }

  private static List<JsonNode> fullHistory(WsClient client, String conversation) {
    List<JsonNode> newestFirst = new ArrayList<>();
    Long before = null;
    while (true) {
      ObjectNode request = frame("history").put("conversation", conversation).put("limit", 100);
      if (before != null) request.put("before", before);
      JsonNode page = client.request(request).path("events");
      assertThat(page.isArray()).isTrue();
      if (page.isEmpty()) break;
      for (int i = page.size() - 1; i >= 0; i--) newestFirst.add(page.get(i));
      before = page.get(0).path("seq").asLong();
      if (before <= 1) break;
    }
    List<JsonNode> ordered = new ArrayList<>(newestFirst);
    java.util.Collections.reverse(ordered);
    return ordered;
  }
}
