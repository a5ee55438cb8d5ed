package dev.parley.bot;

import static dev.parley.testing.WsClient.frame;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpServer;
import dev.parley.testing.TestNode;
import dev.parley.testing.WsClient;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.StreamSupport;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Bots end to end: a real node with registered bots, people on real websockets, a real local HTTP
 * server as webhook receiver. Subclasses choose the storage (H2, PostgreSQL). Every test uses
 * conversations of its own; "exactly one reply per message" is counted from the conversation's
 * history by the reply's clientMsgId ({@code r<seq>-0}: the seq of the message it answers).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
abstract class BotScenarios {

  static final String WEBHOOK_SECRET = "webhook-secret-for-the-bot-tests";
  static final String AGENT = "agent-ann";

  private TestNode node;
  private HttpServer webhooks;
  /** Per delivery id (bot/conversation/seq): how many POSTs arrived. */
  private final Map<String, AtomicInteger> deliveries = new ConcurrentHashMap<>();
  private final List<String> badSignatures = new CopyOnWriteArrayList<>();
  private final List<WsClient> clients = new ArrayList<>();

  protected abstract TestNode startNode(Map<String, Object> settings) throws Exception;

  @BeforeAll
  void start() throws Exception {
    webhooks = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    webhooks.createContext("/hook", exchange -> answerWebhook(exchange, 2));
    webhooks.createContext("/always-failing", exchange -> answerWebhook(exchange, Integer.MAX_VALUE));
    webhooks.start();
    String hooks = "http://127.0.0.1:" + webhooks.getAddress().getPort();
    Map<String, Object> settings = new HashMap<>();
    settings.put("parley.bot-runner.sweep-interval", "1s");
    settings.put("parley.bots.echo.enabled", true);
    settings.put("parley.bots.first-response.enabled", true);
    settings.put("parley.bots.first-response.agent", AGENT);
    bot(settings, "gated", GatedEchoBot.class);
    bot(settings, "sleepy", SleepyBot.class);
    settings.put("parley.bots.sleepy.processing-timeout", "30s");
    bot(settings, "flaky", FlakyBot.class);
    settings.put("parley.bots.flaky.min-backoff", "100ms");
    settings.put("parley.bots.flaky.max-backoff", "500ms");
    bot(settings, "chatty", ChattyBot.class);
    settings.put("parley.bots.chatty.replies-per-second", 2);
    settings.put("parley.bots.chatty.replies-burst", 1);
    webhook(settings, "hook", hooks + "/hook", 5);
    webhook(settings, "dead-hook", hooks + "/always-failing", 2);
    node = startNode(settings);
  }

  private static void bot(Map<String, Object> settings, String name, Class<? extends Bot> type) {
    settings.put("parley.bots." + name + ".type", "class");
    settings.put("parley.bots." + name + ".class", type.getName());
    settings.put("parley.bots." + name + ".enabled", true);
  }

  private static void webhook(Map<String, Object> settings, String name, String url, int maxAttempts) {
    settings.put("parley.bots." + name + ".type", "webhook");
    settings.put("parley.bots." + name + ".url", url);
    settings.put("parley.bots." + name + ".secret", WEBHOOK_SECRET);
    settings.put("parley.bots." + name + ".enabled", true);
    settings.put("parley.bots." + name + ".max-attempts", maxAttempts);
    settings.put("parley.bots." + name + ".min-backoff", "100ms");
    settings.put("parley.bots." + name + ".max-backoff", "400ms");
  }

  @AfterAll
  void stop() throws Exception {
    if (node != null) node.close();
    if (webhooks != null) webhooks.stop(0);
  }

  @AfterEach
  void closeClients() {
    clients.forEach(WsClient::close);
    clients.clear();
  }

  // ---- echo, durable offsets ------------------------------------------------------------------

  @Test
  void echoBotRepliesOnceToEachMessageOfAPerson() throws Exception {
    WsClient alice = connect("alice");
    String conversation = create(alice, "bot:echo");
    subscribe(alice, conversation);

    List<Long> sent = List.of(send(alice, conversation, "one"), send(alice, conversation, "two"), send(alice, conversation, "three"));

    ObjectNode live = alice.expect(f -> "message".equals(f.path("type").asText()) && "bot:echo".equals(f.path("sender").asText()), "an echo");
    assertThat(live.path("text").asText()).isEqualTo("echo: one");
    Map<Long, List<String>> replies = awaitReplies(alice, conversation, "bot:echo", sent);
    assertThat(replies).containsExactly(
        Map.entry(sent.get(0), List.of("echo: one")),
        Map.entry(sent.get(1), List.of("echo: two")),
        Map.entry(sent.get(2), List.of("echo: three")));
    JsonNode echo = status().path("bots").path("echo");
    assertThat(echo.path("handled").asLong()).as("%s", echo).isGreaterThanOrEqualTo(4);
    assertThat(echo.path("replies").asLong()).as("%s", echo).isGreaterThanOrEqualTo(3);
    // The same counters in Prometheus, as an operator scrapes them (no token on /metrics).
    String metrics =
        HttpClient.newHttpClient()
            .send(HttpRequest.newBuilder(URI.create(node.managementUri() + "/metrics")).build(), HttpResponse.BodyHandlers.ofString())
            .body();
    assertThat(sample(metrics, "parley_bot_replies_total{bot=\"echo\"")).isGreaterThanOrEqualTo(3);
    assertThat(sample(metrics, "parley_bot_events_handled_total{bot=\"echo\"")).isGreaterThanOrEqualTo(4);
    assertThat(sample(metrics, "parley_bot_lag_events{bot=\"echo\"")).isGreaterThanOrEqualTo(0);
    // The reply gap (issue 17): a histogram per bot, and its last minute in the status.
    assertThat(sample(metrics, "parley_bot_reply_gap_seconds_count{bot=\"echo\"")).isGreaterThanOrEqualTo(3);
    JsonNode gap = status().path("bots").path("echo").path("replyGapMs");
    assertThat(gap.path("count").asLong()).as("%s", gap).isGreaterThanOrEqualTo(3);
    assertThat(gap.path("p99").asLong()).as("%s", gap).isPositive();
    assertThat(gap.path("max").asLong()).as("%s", gap).isGreaterThanOrEqualTo(gap.path("p50").asLong());
  }

  private static double sample(String metrics, String prefix) {
    return metrics.lines()
        .filter(line -> line.startsWith(prefix))
        .mapToDouble(line -> Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1)))
        .findFirst()
        .orElseThrow(() -> new AssertionError("no " + prefix + " in /metrics:\n" + metrics));
  }

  @Test
  void afterANodeRestartTheBotResumesWithNoMissedAndNoDuplicatedReply() throws Exception {
    List<Long> sent = new ArrayList<>();
    String conversation;
    try (WsClient alice = WsClient.connect(node.wsUri(node.token("alice")))) {
      conversation = create(alice, "bot:gated");
      for (int i = 0; i < 8; i++) sent.add(send(alice, conversation, "before " + i));
      GatedEchoBot.allow(conversation, 3);
      awaitReplies(alice, conversation, "bot:gated", sent.subList(0, 3));
    }

    node.restart();
    // Nothing new happens in the conversation: only the durable offset (and the sweeper that wakes
    // runners that are behind) brings the bot back to the five messages it had not answered.
    GatedEchoBot.allow(conversation, 100);
    WsClient alice = connect("alice");
    awaitReplies(alice, conversation, "bot:gated", sent);
    for (int i = 0; i < 3; i++) sent.add(send(alice, conversation, "after " + i));

    Map<Long, List<String>> replies = awaitReplies(alice, conversation, "bot:gated", sent);
    assertThat(replies).hasSize(sent.size());
    for (int i = 0; i < sent.size(); i++) {
      assertThat(replies.get(sent.get(i))).containsExactly("gated: " + (i < 8 ? "before " + i : "after " + (i - 8)));
    }
  }

  @Test
  void duplicateWakesNeverProduceASecondReply() {
    WsClient alice = connect("alice");
    String conversation = create(alice, "bot:echo");
    Bots bots = node.node().bots();
    List<Long> sent = new ArrayList<>();
    for (int i = 0; i < 5; i++) {
      long seq = send(alice, conversation, "dup " + i);
      sent.add(seq);
      // Besides the conversation's push and the projection's wake: wakes for this and every earlier
      // seq again, as a re-delivered push, a late projection batch and a sweep would send them.
      for (long s = 1; s <= seq; s++) {
        bots.wake(new BotStore.Wake("echo", conversation, s));
        bots.wake(new BotStore.Wake("echo", conversation, seq));
      }
    }
    awaitReplies(alice, conversation, "bot:echo", sent);
    // Created, five messages, five replies: once the bot has handled all eleven, nothing is owed
    // that could still turn into a second reply.
    await("the bot handled every event")
        .atMost(Duration.ofSeconds(30))
        .until(() -> bots.store().progress("echo", conversation).map(BotStore.Progress::lastHandled).orElse(0L) >= 11);
    Map<Long, List<String>> replies = replies(alice, conversation, "bot:echo");
    assertThat(replies).hasSize(5);
    for (int i = 0; i < 5; i++) assertThat(replies.get(sent.get(i))).containsExactly("echo: dup " + i);
  }

  // ---- isolation ------------------------------------------------------------------------------

  @Test
  void aBotThatTakesTenSecondsPerEventDoesNotSlowPeople() {
    WsClient alice = connect("alice");
    String conversation = create(alice, "bot:sleepy");
    send(alice, conversation, "wake up");
    await("the sleepy bot is busy with the first message").atMost(Duration.ofSeconds(15)).until(() -> SleepyBot.started(conversation) >= 1);

    List<Long> ackMillis = new ArrayList<>();
    for (int i = 0; i < 20; i++) {
      long start = System.nanoTime();
      send(alice, conversation, "still there? " + i);
      ackMillis.add((System.nanoTime() - start) / 1_000_000);
    }

    List<Long> sorted = ackMillis.stream().sorted().toList();
    System.out.printf("send->ack with a stuck bot (%s): median %d ms, max %d ms, all %s%n",
        node.storageName(), sorted.get(sorted.size() / 2), sorted.get(sorted.size() - 1), ackMillis);
    assertThat(ackMillis).allSatisfy(ms -> assertThat(ms).isLessThan(2_000));
    assertThat(SleepyBot.started(conversation)).as("the bot was still on its first message").isEqualTo(1);
    assertThat(replies(alice, conversation, "bot:sleepy")).isEmpty();
  }

  @Test
  void aBotThatThrowsIsRetriedAndResumesWithoutSkipping() throws Exception {
    WsClient alice = connect("alice");
    String conversation = create(alice, "bot:flaky");
    List<Long> sent = new ArrayList<>();
    for (int i = 0; i < 5; i++) sent.add(send(alice, conversation, "m" + i));

    Map<Long, List<String>> replies = awaitReplies(alice, conversation, "bot:flaky", sent);

    for (int i = 0; i < sent.size(); i++) {
      assertThat(replies.get(sent.get(i))).containsExactly("flaky: m" + i);
      assertThat(FlakyBot.attempts(conversation, sent.get(i))).isEqualTo(2);
    }
    List<Long> replySeqs = replySeqsInOrder(alice, conversation, "bot:flaky");
    assertThat(replySeqs).as("replies in the order of the messages they answer").isSorted().hasSize(sent.size());
    assertThat(status().path("bots").path("flaky").path("failures").asLong()).isGreaterThanOrEqualTo(5);
  }

  @Test
  void aFloodingBotIsHeldToItsReplyRateAndLosesNoReply() {
    WsClient alice = connect("alice");
    String conversation = create(alice, "bot:chatty");
    long hello = send(alice, conversation, "hello");

    Map<Long, List<String>> replies = awaitReplies(alice, conversation, "bot:chatty", List.of(hello));
    await("all five replies").atMost(Duration.ofSeconds(15)).until(() -> replies(alice, conversation, "bot:chatty").get(hello).size() == 5);

    assertThat(replies(alice, conversation, "bot:chatty").get(hello))
        .containsExactly("chatty 0: hello", "chatty 1: hello", "chatty 2: hello", "chatty 3: hello", "chatty 4: hello");
    List<Long> ts =
        history(alice, conversation).stream().filter(e -> isMessageFrom(e, "bot:chatty")).map(e -> e.path("ts").asLong()).toList();
    // 2 replies per second with a burst of 1: the fifth comes at least 4 × 500 ms after the first.
    assertThat(ts.get(4) - ts.get(0)).as("time from the first reply to the fifth, ms").isGreaterThanOrEqualTo(1_800);
  }

  // ---- first response ---------------------------------------------------------------------------

  @Test
  void firstResponseBotGreetsAnswersFromItsFaqAndHandsOffOnRequest() {
    WsClient alice = connect("alice");
    String conversation = create(alice, "bot:first-response");
    subscribe(alice, conversation);
    ObjectNode greeting = alice.expect(f -> isMessageFrom(f, "bot:first-response"), "the greeting");
    assertThat(greeting.path("text").asText()).startsWith("Hello!");
    assertThat(greeting.path("clientMsgId").asText()).isEqualTo("r1-0");

    long question = send(alice, conversation, "What are your opening HOURS?");
    ObjectNode answer = alice.expect(f -> isMessageFrom(f, "bot:first-response"), "the FAQ answer");
    assertThat(answer.path("text").asText()).contains("9:00-17:00");
    assertThat(answer.path("clientMsgId").asText()).isEqualTo("r" + question + "-0");

    long request = send(alice, conversation, "can I talk to an agent please");
    ObjectNode handoffMessage = alice.expect(f -> isMessageFrom(f, "bot:first-response"), "the handoff message");
    assertThat(handoffMessage.path("text").asText()).isEqualTo("Let me find a person to help you.");
    ObjectNode handoff = alice.expect("handoff");
    assertThat(handoff.path("conversation").asText()).isEqualTo(conversation);
    assertThat(handoff.path("by").asText()).isEqualTo("bot:first-response");
    assertThat(handoff.path("reason").asText()).isEqualTo("requested");
    assertThat(handoff.path("seq").asLong()).isGreaterThan(request);
    ObjectNode joined = alice.expect("member_joined");
    assertThat(joined.path("user").asText()).isEqualTo(AGENT);
    assertThat(joined.path("invitedBy").asText()).isEqualTo("bot:first-response");

    long after = send(alice, conversation, "hello? what about pricing?");
    await("the bot has handled the message after the handoff")
        .atMost(Duration.ofSeconds(15))
        .until(() -> node.node().bots().store().progress("first-response", conversation).orElseThrow().lastHandled() >= after);
    assertThat(replies(alice, conversation, "bot:first-response")).as("quiet after the handoff").doesNotContainKey(after).hasSize(3);
  }

  @Test
  void firstResponseBotHandsOffWhatItCannotAnswer() {
    WsClient alice = connect("alice");
    String conversation = create(alice, "bot:first-response");
    subscribe(alice, conversation);
    alice.expect(f -> isMessageFrom(f, "bot:first-response"), "the greeting");

    send(alice, conversation, "my parcel arrived broken");

    assertThat(alice.expect("handoff").path("reason").asText()).isEqualTo("unanswered");
  }

  // ---- webhooks -------------------------------------------------------------------------------

  @Test
  void webhookDeliveriesAreSignedRetriedAndTheirRepliesPostedOnce() {
    WsClient alice = connect("alice");
    String conversation = create(alice, "bot:hook");
    long ping = send(alice, conversation, "ping");

    Map<Long, List<String>> replies = awaitReplies(alice, conversation, "bot:hook", List.of(ping));

    assertThat(replies.get(ping)).containsExactly("hook: ping");
    assertThat(deliveries.get("hook/" + conversation + "/" + ping)).as("failed twice, then answered").hasValue(3);
    assertThat(deliveries.get("hook/" + conversation + "/1")).as("the creation, delivered once").hasValue(1);
    assertThat(badSignatures).isEmpty();
  }

  @Test
  void aWebhookThatKeepsFailingIsDeadLetteredAfterItsLastAttemptAndTheBotMovesOn() {
    WsClient alice = connect("alice");
    String conversation = create(alice, "bot:dead-hook");
    long first = send(alice, conversation, "lost");
    long second = send(alice, conversation, "lost too");

    BotStore store = node.node().bots().store();
    await("both messages dead-lettered")
        .atMost(Duration.ofSeconds(20))
        .until(() -> store.deadLetters("dead-hook").stream().filter(d -> d.conversation().equals(conversation)).count() == 2);
    List<BotStore.DeadLetter> letters =
        store.deadLetters("dead-hook").stream().filter(d -> d.conversation().equals(conversation)).toList();
    assertThat(letters).extracting(BotStore.DeadLetter::seq).containsExactly(first, second);
    assertThat(letters).allSatisfy(d -> {
      assertThat(d.attempts()).isEqualTo(2);
      assertThat(d.error()).contains("HTTP 500");
    });
    assertThat(letters.get(0).payload()).contains("\"text\":\"lost\"");
    assertThat(deliveries.get("dead-hook/" + conversation + "/" + first)).hasValue(2);
    assertThat(store.progress("dead-hook", conversation).orElseThrow().lastHandled()).isEqualTo(second);
  }

  // ---- external bots over the websocket -------------------------------------------------------

  @Test
  void anExternalBotConnectsWithABotTokenAndRepliesLikeAnyMember() {
    WsClient alice = connect("alice");
    String conversation = create(alice, "bot:outside");
    WsClient outside = WsClient.connect(node.wsUri(node.tokens().mintBot("outside", Duration.ofMinutes(5))));
    clients.add(outside);
    subscribe(outside, conversation);
    subscribe(alice, conversation);

    send(outside, conversation, "hello from outside");

    ObjectNode message = alice.expect(f -> isMessageFrom(f, "bot:outside"), "the external bot's message");
    assertThat(message.path("text").asText()).isEqualTo("hello from outside");
    assertThat(WsClient.refusedUpgradeStatus(node.wsUri(node.token("bot:outside")))).as("a person's token naming a bot").isEqualTo(401);
  }

  // ---- helpers --------------------------------------------------------------------------------

  private void answerWebhook(com.sun.net.httpserver.HttpExchange exchange, int failuresFirst) throws IOException {
    byte[] body = exchange.getRequestBody().readAllBytes();
    String expected = WebhookBot.signature(WEBHOOK_SECRET.getBytes(StandardCharsets.UTF_8), body);
    if (!expected.equals(exchange.getRequestHeaders().getFirst(WebhookBot.SIGNATURE_HEADER))) {
      badSignatures.add(exchange.getRequestHeaders().getFirst(WebhookBot.DELIVERY_HEADER));
    }
    String delivery = exchange.getRequestHeaders().getFirst(WebhookBot.DELIVERY_HEADER);
    int attempt = deliveries.computeIfAbsent(delivery, d -> new AtomicInteger()).incrementAndGet();
    JsonNode event = WsClient.JSON.readTree(body);
    boolean personSpoke = "message".equals(event.path("type").asText()) && !event.path("sender").asText().startsWith("bot:");
    int status = 200;
    String answer = "";
    if (personSpoke && attempt <= failuresFirst) {
      status = 500;
    } else if (personSpoke) {
      ObjectNode reply = WsClient.JSON.createObjectNode();
      reply.putArray("replies").addObject().put("text", "hook: " + event.path("text").asText());
      answer = reply.toString();
    }
    byte[] bytes = answer.getBytes(StandardCharsets.UTF_8);
    exchange.getResponseHeaders().add("Content-Type", "application/json");
    exchange.sendResponseHeaders(status, bytes.length == 0 ? -1 : bytes.length);
    try (OutputStream out = exchange.getResponseBody()) {
      out.write(bytes);
    }
  }

  private WsClient connect(String user) {
    WsClient client = node.connect(user);
    clients.add(client);
    return client;
  }

  private static String create(WsClient client, String... members) {
    String conversation = "c-" + UUID.randomUUID();
    ObjectNode create = frame("create").put("conversation", conversation);
    var array = create.putArray("members");
    for (String m : members) array.add(m);
    ObjectNode created = client.request(create);
    assertThat(created.path("type").asText()).as("%s", created).isEqualTo("created");
    return conversation;
  }

  private static void subscribe(WsClient client, String conversation) {
    ObjectNode subscribed = client.request(frame("subscribe").put("conversation", conversation).put("since", 0));
    assertThat(subscribed.path("type").asText()).as("%s", subscribed).isEqualTo("subscribed");
  }

  /** Sends and returns the acknowledged seq. */
  private static long send(WsClient client, String conversation, String text) {
    ObjectNode ack =
        client.request(frame("send").put("conversation", conversation).put("clientMsgId", "m-" + UUID.randomUUID()).put("text", text));
    assertThat(ack.path("type").asText()).as("%s", ack).isEqualTo("ack");
    return ack.path("seq").asLong();
  }

  private static boolean isMessageFrom(JsonNode f, String sender) {
    return "message".equals(f.path("type").asText()) && sender.equals(f.path("sender").asText());
  }

  private static List<JsonNode> history(WsClient client, String conversation) {
    ObjectNode page = client.request(frame("history").put("conversation", conversation).put("limit", 100));
    assertThat(page.path("type").asText()).as("%s", page).isEqualTo("history");
    return StreamSupport.stream(page.path("events").spliterator(), false).toList();
  }

  /** The bot's replies in the conversation, by the seq of the message each answers (from its clientMsgId r<seq>-<n>). */
  private static Map<Long, List<String>> replies(WsClient client, String conversation, String bot) {
    Map<Long, List<String>> bySeq = new TreeMap<>();
    for (JsonNode e : history(client, conversation)) {
      if (!isMessageFrom(e, bot)) continue;
      String id = e.path("clientMsgId").asText();
      long trigger = Long.parseLong(id.substring(1, id.indexOf('-')));
      bySeq.computeIfAbsent(trigger, k -> new ArrayList<>()).add(e.path("text").asText());
    }
    return bySeq;
  }

  private static List<Long> replySeqsInOrder(WsClient client, String conversation, String bot) {
    List<Long> triggers = new ArrayList<>();
    for (JsonNode e : history(client, conversation)) {
      if (!isMessageFrom(e, bot)) continue;
      String id = e.path("clientMsgId").asText();
      triggers.add(Long.parseLong(id.substring(1, id.indexOf('-'))));
    }
    return triggers;
  }

  /** Waits until every message of {@code sent} has a reply, then returns all replies (to check there are no extra ones). */
  private static Map<Long, List<String>> awaitReplies(WsClient client, String conversation, String bot, List<Long> sent) {
    await("replies of " + bot + " to " + sent)
        .atMost(Duration.ofSeconds(30))
        .pollInterval(Duration.ofMillis(200))
        .until(() -> replies(client, conversation, bot).keySet().containsAll(sent));
    return replies(client, conversation, bot);
  }

  private JsonNode status() throws Exception {
    HttpResponse<String> response =
        HttpClient.newHttpClient()
            .send(
                HttpRequest.newBuilder(URI.create(node.managementUri() + "/parley/status"))
                    .header("Authorization", "Bearer " + TestNode.ADMIN_TOKEN)
                    .GET()
                    .build(),
                HttpResponse.BodyHandlers.ofString());
    assertThat(response.statusCode()).isEqualTo(200);
    return WsClient.JSON.readTree(response.body());
  }
}
