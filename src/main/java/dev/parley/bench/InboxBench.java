package dev.parley.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.parley.auth.Tokens;
import dev.parley.bench.ProtocolSocket.Received;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Semaphore;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/**
 * {@code parley bench inbox} (issue 4): seeds users with many conversations through the public
 * protocol, then measures what a client of the inbox waits for.
 *
 * <ol>
 *   <li><b>Seeding</b> ({@link InboxSeedPlan}): each user creates its conversations over a few
 *       websockets with a bounded number of requests in flight, then the bench walks the user's
 *       inbox until the read model shows all of them. Names are deterministic, so a later run walks
 *       the inbox, finds the conversations there and seeds nothing (or only what is missing).
 *   <li><b>Pages</b>: per user, over one websocket, one request in flight: the first page and a
 *       deep page (the cursor of page {@code deepPage}, reached by following cursors; for an inbox
 *       with fewer pages its last page; for a one-page inbox the page after its newest item). The
 *       rows are interleaved request by request, so a noisy second on this shared machine hits
 *       every row alike and the ratios stay fair.
 *   <li><b>Connect to first page</b>: open a websocket, send {@code inbox}, until the reply; per
 *       user, alternating between the users.
 *   <li><b>Fan-out</b>: a conversation of {@code k} members, every member connected (one websocket
 *       each, not subscribed); one member sends; the time until the last member received the
 *       {@code inbox_update} carrying that message's seq. Sends are one at a time with a random
 *       0-250 ms pause between them, so they do not fall into step with the projection's polling.
 * </ol>
 */
public final class InboxBench {

  /** What a run is asked to do. */
  public record Settings(
      URI url,
      String secret,
      String prefix,
      List<Integer> users,
      int messageEvery,
      int pageLimit,
      int deepPage,
      int requests,
      int warmupRequests,
      int connects,
      List<Integer> fanoutMembers,
      int fanoutSends,
      int seedConnections,
      int seedInFlight,
      Duration seedTimeout,
      Duration requestTimeout,
      boolean seedOnly,
      Path json) {
    public Settings {
      BenchSettings.requireLoopback(url);
      users = List.copyOf(users);
      fanoutMembers = List.copyOf(fanoutMembers);
      require(!users.isEmpty(), "--users needs at least one size");
      users.forEach(u -> new InboxSeedPlan(prefix, u, messageEvery)); // validates prefix, sizes, messageEvery
      require(pageLimit >= 1 && pageLimit <= 100, "--page-size must be between 1 and 100 (the server's largest page)");
      require(deepPage >= 2, "--deep-page must be at least 2");
      require(requests >= 1 && warmupRequests >= 0 && connects >= 0 && fanoutSends >= 0, "counts must not be negative");
      fanoutMembers.forEach(k -> require(k >= 2 && k <= 1000, "--fanout members must be between 2 and 1000 (the server's limit at create)"));
      require(seedConnections >= 1 && seedInFlight >= 1, "--seed-connections and --seed-in-flight must be at least 1");
    }

    private static void require(boolean condition, String message) {
      if (!condition) throw new IllegalArgumentException(message);
    }
  }

  /** Requests answered unavailable or rate_limited are retried this many times (protocol.md asks clients to). */
  private static final int ATTEMPTS = 20;
  private static final Set<String> RETRYABLE = Set.of("unavailable", "rate_limited");
  /** The server's largest inbox page: walks use it. */
  private static final int WALK_PAGE = 100;
  private static final int CONNECT_BATCH = 100;

  private final Settings settings;
  private final PrintStream progress;
  private final Tokens tokens;
  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
  private final Map<String, LongAdder> errors = new ConcurrentHashMap<>();
  private final String runId = UUID.randomUUID().toString().substring(0, 8);
  private long missedUpdates;

  public InboxBench(Settings settings, PrintStream progress) {
    this.settings = settings;
    this.progress = progress;
    this.tokens = Tokens.fromConfigured(settings.secret());
  }

  public InboxReport run() throws Exception {
    List<InboxReport.Seeded> seeded = new ArrayList<>();
    for (int size : settings.users()) seeded.add(seed(new InboxSeedPlan(settings.prefix(), size, settings.messageEvery())));
    List<InboxReport.Row> rows = new ArrayList<>();
    if (!settings.seedOnly()) {
      rows.addAll(pages());
      if (settings.connects() > 0) rows.addAll(connects());
      if (settings.fanoutSends() > 0) for (int k : settings.fanoutMembers()) rows.addAll(fanout(k));
    }
    List<InboxReport.Row> withRatios = InboxReport.withRatios(rows);
    Map<String, Long> errorCounts = new TreeMap<>();
    errors.forEach((code, n) -> errorCounts.put(code, n.sum()));
    return new InboxReport(
        new InboxReport.Setup(settings.url().toString(), settings.users(), settings.pageLimit(), settings.deepPage(), settings.requests(),
            settings.connects(), settings.fanoutMembers(), settings.fanoutSends()),
        seeded, withRatios, errorCounts, missedUpdates, InboxReport.targets(withRatios));
  }

  // ---- seeding --------------------------------------------------------------------------------

  private InboxReport.Seeded seed(InboxSeedPlan plan) throws Exception {
    long start = System.nanoTime();
    long deadline = start + settings.seedTimeout().toNanos();
    List<ProtocolSocket> sockets = new ArrayList<>();
    try {
      for (int i = 0; i < settings.seedConnections(); i++) sockets.add(connect(plan.user(), r -> {}));
      Map<String, Long> present = walk(sockets.get(0), plan, deadline);
      List<InboxSeedPlan.Step> steps = plan.missing(present);
      progress.printf(Locale.ROOT, "[inbox] %s: %d of %d conversations in the inbox, %d steps to seed%n",
          plan.user(), present.size(), plan.size(), steps.size());
      Semaphore inFlight = new Semaphore(settings.seedInFlight());
      AtomicInteger done = new AtomicInteger();
      AtomicLong lastReport = new AtomicLong(System.nanoTime());
      List<Throwable> failures = new java.util.concurrent.CopyOnWriteArrayList<>();
      for (InboxSeedPlan.Step step : steps) {
        if (!failures.isEmpty()) break;
        if (!inFlight.tryAcquire(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS)) {
          throw new IllegalStateException("seeding " + plan.user() + " timed out");
        }
        ProtocolSocket socket = sockets.get(step.index() % sockets.size());
        seedStep(socket, plan, step).whenComplete((r, e) -> {
          inFlight.release();
          if (e != null) failures.add(e);
          int n = done.incrementAndGet();
          long now = System.nanoTime();
          long last = lastReport.get();
          if (now - last > TimeUnit.SECONDS.toNanos(5) && lastReport.compareAndSet(last, now)) {
            progress.printf(Locale.ROOT, "[inbox] %s: %d/%d seeded, %.0f/s%n", plan.user(), n, steps.size(), n / ((now - start) / 1e9));
          }
        });
      }
      inFlight.acquire(settings.seedInFlight()); // every step answered
      if (!failures.isEmpty()) throw new IllegalStateException("seeding " + plan.user() + " failed: " + failures.get(0).getMessage(), failures.get(0));
      double seedSeconds = (System.nanoTime() - start) / 1e9;
      long caughtUpStart = System.nanoTime();
      while (!steps.isEmpty()) {
        present = walk(sockets.get(0), plan, deadline);
        if (plan.complete(present)) break;
        progress.printf(Locale.ROOT, "[inbox] %s: read model shows %d of %d, waiting%n", plan.user(), present.size(), plan.size());
        if (System.nanoTime() - deadline > 0) throw new IllegalStateException("the inbox of " + plan.user() + " did not catch up in time");
        TimeUnit.SECONDS.sleep(2);
      }
      double catchUp = steps.isEmpty() ? 0 : (System.nanoTime() - caughtUpStart) / 1e9;
      return new InboxReport.Seeded(plan.user(), plan.size(), steps.size(), seedSeconds, catchUp);
    } finally {
      sockets.forEach(ProtocolSocket::close);
    }
  }

  private CompletableFuture<?> seedStep(ProtocolSocket socket, InboxSeedPlan plan, InboxSeedPlan.Step step) {
    CompletableFuture<?> created = CompletableFuture.completedFuture(null);
    if (step.create()) {
      created = retrying(socket, () -> {
        ObjectNode create = ProtocolSocket.frame("create").put("conversation", plan.conversation(step.index())).put("title", "inbox bench");
        create.putArray("members").add(plan.peer(step.index()));
        return create;
      }, ATTEMPTS);
    }
    if (!step.message()) return created;
    return created.thenCompose(r -> retrying(socket, () -> ProtocolSocket.frame("send")
        .put("conversation", plan.conversation(step.index()))
        .put("clientMsgId", plan.clientMsgId(step.index()))
        .put("text", "seeded message " + step.index()), ATTEMPTS));
  }

  /** A request retried after a jittered 0.25-1 s pause while answered unavailable or rate_limited. */
  private CompletableFuture<Received> retrying(ProtocolSocket socket, java.util.function.Supplier<ObjectNode> frame, int attemptsLeft) {
    return socket.request(frame.get(), settings.requestTimeout()).handle((reply, error) -> {
      if (error == null) return CompletableFuture.completedFuture(reply);
      Throwable cause = error instanceof java.util.concurrent.CompletionException ? error.getCause() : error;
      if (cause instanceof ProtocolSocket.Refused refused) errors.computeIfAbsent(refused.code(), c -> new LongAdder()).increment();
      if (!(cause instanceof ProtocolSocket.Refused refused && RETRYABLE.contains(refused.code())) || attemptsLeft <= 1) {
        return CompletableFuture.<Received>failedFuture(cause);
      }
      long pauseMs = 250 + ThreadLocalRandom.current().nextLong(750);
      return CompletableFuture.supplyAsync(() -> null, CompletableFuture.delayedExecutor(pauseMs, TimeUnit.MILLISECONDS))
          .thenCompose(ignored -> retrying(socket, frame, attemptsLeft - 1));
    }).thenCompose(f -> f);
  }

  /** Every conversation of the user's inbox (of this plan) with its lastSeq, following cursors to the end. */
  private Map<String, Long> walk(ProtocolSocket socket, InboxSeedPlan plan, long deadline) throws Exception {
    Map<String, Long> seen = new HashMap<>();
    String cursor = null;
    do {
      JsonNode page = await(retrying(socket, inboxFrame(WALK_PAGE, cursor), ATTEMPTS), deadline, "walking the inbox of " + plan.user()).frame();
      for (JsonNode item : page.path("items")) {
        String conversation = item.path("conversation").asText();
        if (plan.indexOf(conversation) >= 0) seen.put(conversation, item.path("lastSeq").asLong());
      }
      cursor = page.path("next").isTextual() ? page.path("next").asText() : null;
    } while (cursor != null);
    return seen;
  }

  private static java.util.function.Supplier<ObjectNode> inboxFrame(int limit, String cursor) {
    return () -> {
      ObjectNode frame = ProtocolSocket.frame("inbox").put("limit", limit);
      if (cursor != null) frame.put("cursor", cursor);
      return frame;
    };
  }

  // ---- pages ----------------------------------------------------------------------------------

  /** One page row being measured: which socket, which cursor (null: the first page). */
  private record PageProbe(String group, int size, String detail, ProtocolSocket socket, String cursor, LatencyRecorder latency) {}

  private List<InboxReport.Row> pages() throws Exception {
    List<PageProbe> probes = new ArrayList<>();
    List<ProtocolSocket> sockets = new ArrayList<>();
    long deadline = System.nanoTime() + settings.seedTimeout().toNanos();
    try {
      for (int size : settings.users()) {
        InboxSeedPlan plan = new InboxSeedPlan(settings.prefix(), size, settings.messageEvery());
        ProtocolSocket socket = connect(plan.user(), r -> {});
        sockets.add(socket);
        probes.add(new PageProbe("page-first", size, "first page (" + itemsOn(socket, null, deadline) + " items)", socket, null,
            new LatencyRecorder()));
        Deep deep = deepCursor(socket, plan, deadline);
        probes.add(new PageProbe("page-deep", size, deep.detail() + ", " + itemsOn(socket, deep.cursor(), deadline) + " items", socket,
            deep.cursor(), new LatencyRecorder()));
      }
      progress.printf(Locale.ROOT, "[inbox] pages: %d warm-up + %d measured requests per row, %d rows interleaved%n",
          settings.warmupRequests(), settings.requests(), probes.size());
      for (int i = 0; i < settings.warmupRequests() + settings.requests(); i++) {
        boolean measured = i >= settings.warmupRequests();
        for (PageProbe probe : probes) {
          long sent = System.nanoTime();
          Received reply = await(probe.socket().request(inboxFrame(settings.pageLimit(), probe.cursor()).get(), settings.requestTimeout()),
              deadline, "fetching inbox pages");
          if (measured) probe.latency().record(reply.arrivedNanos() - sent);
        }
      }
    } finally {
      sockets.forEach(ProtocolSocket::close);
    }
    return probes.stream().map(p -> new InboxReport.Row(p.group(), p.size(), p.detail(), p.latency().total(), 1, 1)).toList();
  }

  /** How many items the measured page has: a row's detail says it, since a small inbox's pages are shorter. */
  private int itemsOn(ProtocolSocket socket, String cursor, long deadline) throws Exception {
    return await(retrying(socket, inboxFrame(settings.pageLimit(), cursor), ATTEMPTS), deadline, "fetching a page").frame().path("items").size();
  }

  private record Deep(String cursor, String detail) {}

  /** The cursor of page {@code deepPage} (or the last page of a shorter inbox), by following cursors. */
  private Deep deepCursor(ProtocolSocket socket, InboxSeedPlan plan, long deadline) throws Exception {
    String cursor = null;
    int page = 1;
    int skipped = 0;
    while (page < settings.deepPage()) {
      JsonNode reply = await(retrying(socket, inboxFrame(settings.pageLimit(), cursor), ATTEMPTS), deadline, "following cursors").frame();
      if (!reply.path("next").isTextual()) break;
      cursor = reply.path("next").asText();
      skipped += reply.path("items").size();
      page++;
    }
    if (cursor == null) {
      // A one-page inbox has no deep page: the page after its newest item still runs the cursor query.
      JsonNode reply = await(retrying(socket, inboxFrame(1, null), ATTEMPTS), deadline, "following cursors").frame();
      cursor = reply.path("next").isTextual() ? reply.path("next").asText() : null;
      skipped = cursor == null ? 0 : 1;
      if (cursor == null) return new Deep(null, "first page (a 1-item inbox has no other)");
      return new Deep(cursor, "page after item 1 (only one page)");
    }
    return new Deep(cursor, "page " + page + " (after " + skipped + " items)");
  }

  // ---- connect to first page ------------------------------------------------------------------

  private List<InboxReport.Row> connects() throws Exception {
    long deadline = System.nanoTime() + settings.seedTimeout().toNanos();
    Map<Integer, LatencyRecorder> bySize = new TreeMap<>();
    settings.users().forEach(size -> bySize.put(size, new LatencyRecorder()));
    Duration ttl = Duration.ofHours(2);
    progress.printf(Locale.ROOT, "[inbox] connect to first page: %d per user, alternating%n", settings.connects());
    for (int i = 0; i < settings.connects(); i++) {
      for (int size : settings.users()) {
        String token = tokens.mint(new InboxSeedPlan(settings.prefix(), size, settings.messageEvery()).user(), ttl);
        long start = 0;
        ProtocolSocket socket = null;
        for (int attempt = 1; socket == null; attempt++) {
          start = System.nanoTime();
          try {
            socket = await(ProtocolSocket.open(http, settings.url(), token, r -> {}), deadline, "connecting");
          } catch (IllegalStateException refused) {
            // Refused (admission) or failed: not a sample of connect-to-first-page; counted, paused, tried again.
            errors.computeIfAbsent("connect_refused", c -> new LongAdder()).increment();
            if (attempt >= ATTEMPTS) throw refused;
            TimeUnit.MILLISECONDS.sleep(250 + ThreadLocalRandom.current().nextLong(750));
          }
        }
        try {
          Received reply = await(socket.request(inboxFrame(settings.pageLimit(), null).get(), settings.requestTimeout()), deadline, "first page");
          bySize.get(size).record(reply.arrivedNanos() - start);
        } finally {
          socket.close();
        }
      }
    }
    List<InboxReport.Row> rows = new ArrayList<>();
    bySize.forEach((size, latency) -> rows.add(
        new InboxReport.Row("connect", size, "open websocket + inbox until reply", latency.total(), 1, 1)));
    return rows;
  }

  // ---- fan-out --------------------------------------------------------------------------------

  /**
   * The send being timed: which seq each member must see, and when the last one did. A member
   * counts once, on its first {@code inbox_update} of the conversation with {@code lastSeq} at or
   * above the expected seq (a later update may carry a later seq too).
   */
  static final class FanoutProbe {
    final String conversation;
    final AtomicIntegerArray seen;
    volatile long expectedSeq;
    volatile long sentNanos;
    volatile AtomicInteger remaining = new AtomicInteger();
    volatile CompletableFuture<Long> allArrived = new CompletableFuture<>();

    FanoutProbe(String conversation, int members) {
      this.conversation = conversation;
      this.seen = new AtomicIntegerArray(members);
    }

    /** Called before each send, while nothing of {@code seq} can be on its way yet. */
    void expect(long seq) {
      expectedSeq = seq; // first: a late push of the previous seq must not count for this one
      allArrived = new CompletableFuture<>();
      remaining = new AtomicInteger(seen.length());
      for (int i = 0; i < seen.length(); i++) seen.set(i, 0);
    }

    void onPush(int member, Received pushed) {
      JsonNode f = pushed.frame();
      if (!"inbox_update".equals(f.path("type").asText()) || !conversation.equals(f.path("conversation").asText())) return;
      if (f.path("lastSeq").asLong(-1) < expectedSeq) return;
      if (seen.compareAndSet(member, 0, 1) && remaining.decrementAndGet() == 0) {
        allArrived.complete(pushed.arrivedNanos() - sentNanos);
      }
    }
  }

  /** Two rows: send to the last member's inbox_update, and send to ack (the persist alone) of the same sends. */
  private List<InboxReport.Row> fanout(int members) throws Exception {
    long deadline = System.nanoTime() + settings.seedTimeout().toNanos();
    String conversation = settings.prefix() + "-" + runId + "-f" + members;
    FanoutProbe probe = new FanoutProbe(conversation, members);
    probe.expect(1); // the conversation_created event: every member's inbox gets the conversation
    List<ProtocolSocket> sockets = new ArrayList<>();
    LatencyRecorder latency = new LatencyRecorder();
    LatencyRecorder acks = new LatencyRecorder();
    try {
      for (int from = 0; from < members; from += CONNECT_BATCH) {
        List<CompletableFuture<ProtocolSocket>> batch = new ArrayList<>();
        for (int m = from; m < Math.min(from + CONNECT_BATCH, members); m++) {
          int member = m;
          batch.add(openRetrying(tokens.mint(conversation + "-m" + member, Duration.ofHours(2)), r -> probe.onPush(member, r), ATTEMPTS));
        }
        for (CompletableFuture<ProtocolSocket> f : batch) sockets.add(await(f, deadline, "connecting the members"));
      }
      ObjectNode create = ProtocolSocket.frame("create").put("conversation", conversation).put("title", "fan-out " + members);
      for (int m = 1; m < members; m++) create.withArray("members").add(conversation + "-m" + m);
      probe.sentNanos = System.nanoTime();
      await(retrying(sockets.get(0), () -> create, ATTEMPTS), deadline, "creating the conversation");
      await(probe.allArrived, deadline, "waiting for every member's inbox to show the conversation");
      progress.printf(Locale.ROOT, "[inbox] fan-out to %d members: %d sends%n", members, settings.fanoutSends());
      for (int i = 1; i <= settings.fanoutSends(); i++) {
        probe.expect(1 + i);
        probe.sentNanos = System.nanoTime();
        ObjectNode send = ProtocolSocket.frame("send").put("conversation", conversation).put("clientMsgId", runId + "-" + i)
            .put("text", "fan-out " + i);
        Received ack = await(retrying(sockets.get(0), () -> send, ATTEMPTS), deadline, "sending");
        acks.record(ack.arrivedNanos() - probe.sentNanos);
        long seq = ack.frame().path("seq").asLong();
        if (seq != 1 + i) throw new IllegalStateException("expected seq " + (1 + i) + " in the bench's own conversation, got " + seq);
        try {
          latency.record(probe.allArrived.get(settings.requestTimeout().toMillis(), TimeUnit.MILLISECONDS));
        } catch (TimeoutException e) {
          missedUpdates++;
        }
        TimeUnit.MILLISECONDS.sleep(ThreadLocalRandom.current().nextLong(251)); // out of step with the projection's polling
      }
    } finally {
      sockets.forEach(ProtocolSocket::close);
    }
    return List.of(
        new InboxReport.Row("fanout", members, "send -> inbox_update at every member", latency.total(), 1, 1),
        new InboxReport.Row("fanout-ack", members, "send -> ack, same sends (persisted)", acks.total(), 1, 1));
  }

  // ---- helpers --------------------------------------------------------------------------------

  private ProtocolSocket connect(String user, java.util.function.Consumer<Received> pushes) throws Exception {
    return await(openRetrying(tokens.mint(user, Duration.ofHours(2)), pushes, ATTEMPTS),
        System.nanoTime() + TimeUnit.SECONDS.toNanos(60), "connecting as " + user);
  }

  /**
   * Opens a websocket, retrying after a jittered 0.25-1 s pause when the node refuses it (HTTP 503
   * from connection admission, {@code parley.admission.connections-per-second}): opening 1,000
   * member connections at once is over the default burst of 400.
   */
  private CompletableFuture<ProtocolSocket> openRetrying(String token, java.util.function.Consumer<Received> pushes, int attemptsLeft) {
    return ProtocolSocket.open(http, settings.url(), token, pushes).handle((socket, error) -> {
      if (error == null) return CompletableFuture.completedFuture(socket);
      errors.computeIfAbsent("connect_refused", c -> new LongAdder()).increment();
      if (attemptsLeft <= 1) return CompletableFuture.<ProtocolSocket>failedFuture(error);
      long pauseMs = 250 + ThreadLocalRandom.current().nextLong(750);
      return CompletableFuture.supplyAsync(() -> null, CompletableFuture.delayedExecutor(pauseMs, TimeUnit.MILLISECONDS))
          .thenCompose(ignored -> openRetrying(token, pushes, attemptsLeft - 1));
    }).thenCompose(f -> f);
  }

  private static <T> T await(CompletableFuture<T> future, long deadlineNanos, String what) throws Exception {
    try {
      return future.get(Math.max(0, deadlineNanos - System.nanoTime()), TimeUnit.NANOSECONDS);
    } catch (TimeoutException e) {
      throw new IllegalStateException("timed out " + what, e);
    } catch (ExecutionException e) {
      throw new IllegalStateException("failed " + what + ": " + e.getCause().getMessage(), e.getCause());
    }
  }
}
