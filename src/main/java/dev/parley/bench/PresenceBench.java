package dev.parley.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.parley.auth.Tokens;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * {@code parley bench presence} (issue 21): one room of {@code members}, {@code watchers} of them
 * connected and watching its presence, and a churn of other members connecting and disconnecting
 * at {@code churn} per second (open model: scheduled by the clock). Reports the presence frames per
 * second each watcher received (the batching cap is one per {@code parley.presence.batch-interval})
 * and how long a change took to reach a watcher. With {@code victims}: that many members connect to
 * {@code victimUrl}, the bench says READY (and touches {@code readyFile}), and times, from the first
 * victim socket closing (the operator kills that node), until the first watcher sees each victim offline.
 *
 * <p>With {@code rooms} &gt; 1 the members are spread over that many rooms (member {@code i} in room
 * {@code i % rooms}), watcher {@code w} watches room {@code w % rooms}, and every watcher's
 * observations are timed: presence churn spread over many small conversations, beside a send load
 * (issue 21, target 1). With {@code churnFile} the churn runs only while that file exists (a script
 * alternates churn and no churn under one steady load); {@code eventsFile} gets one line per churn
 * event and per observation, in epoch milliseconds, so a script can split them by its phases.
 *
 * <p>{@code anchored}: before the churn, every churning member opens one more connection, kept open
 * to the end. The churn then opens and closes connections at the same rate, but no presence changes
 * (each user stays online through the anchor): the connect path's cost without presence's, beside
 * the same churn with presence (issue 21, target 1: which share of a churn event is presence).
 */
public final class PresenceBench {

  public record Settings(
      List<URI> urls,
      String secret,
      String prefix,
      int members,
      int watchers,
      double churnPerSecond,
      Duration warmup,
      Duration duration,
      int victims,
      URI victimUrl,
      Path readyFile,
      Duration victimTimeout,
      Path stopFile,
      int rooms,
      Path churnFile,
      Path eventsFile,
      boolean anchored) {

    public Settings {
      if (rooms < 1) throw new IllegalArgumentException("--rooms must be at least 1");
      if (rooms > 1 && rooms > watchers) throw new IllegalArgumentException("--rooms must not exceed --watchers (each room's first member creates and watches it)");
    }
  }

  private final Settings settings;
  private final PrintStream log;
  private final Tokens tokens;
  private final HttpClient http = HttpClient.newHttpClient();
  private final String room;
  /** Churn events and observations, one line each ({@code eventsFile}); null without it. */
  private java.io.BufferedWriter events;
  private final long epochMillisAtZeroNanos = System.currentTimeMillis() - System.nanoTime() / 1_000_000;
  /** Per watcher: presence frames received in the measured window. */
  private AtomicLongArray frames;
  private volatile boolean measuring;
  /** (user|status) -> nanoTime the change was made; and the delays of sampled watchers seeing it. */
  private final Map<String, Long> changedAt = new ConcurrentHashMap<>();
  private final List<Long> delaysNanos = java.util.Collections.synchronizedList(new ArrayList<>());
  private final Map<String, Long> victimsOfflineSeen = new ConcurrentHashMap<>();
  private final Map<String, Long> onlineSeen = new ConcurrentHashMap<>();
  private static final int SAMPLED_WATCHERS = 10;
  private static final int CHURN_POOL = 500;

  public PresenceBench(Settings settings, PrintStream log) {
    this.settings = settings;
    this.log = log;
    this.tokens = Tokens.fromConfigured(settings.secret());
    this.room = settings.prefix() + "-room";
  }

  private String member(int i) {
    return settings.prefix() + "-m" + i;
  }

  /** The room of member {@code i}: the one room, or room {@code i % rooms}. */
  private String roomOf(int i) {
    return settings.rooms() == 1 ? room : room + "-" + (i % settings.rooms());
  }

  private synchronized void event(String line) {
    if (events == null) return;
    try {
      events.write(line);
      events.write('\n');
      events.flush(); // readable while the run goes on (a few hundred lines a second)
    } catch (java.io.IOException e) {
      // a by-product: a full disk must not stop the run
    }
  }

  private URI urlFor(int i) {
    return settings.urls().get(i % settings.urls().size());
  }

  private ProtocolSocket open(URI url, String user, java.util.function.Consumer<ProtocolSocket.Received> pushes) throws Exception {
    return ProtocolSocket.open(http, url, tokens.mint(user, Duration.ofHours(2)), pushes).get(30, TimeUnit.SECONDS);
  }

  public String run() throws Exception {
    if (settings.eventsFile() != null) {
      events = Files.newBufferedWriter(settings.eventsFile());
      event("# E epochMs user status: a churn event; S changeEpochMs seenEpochMs user status watcher: a watcher saw it");
    }
    try {
      return runAndReport();
    } finally {
      synchronized (this) {
        if (events != null) events.close();
      }
    }
  }

  private String runAndReport() throws Exception {
    if (settings.rooms() == 1) seedRoom(room, 0, 1);
    else for (int r = 0; r < settings.rooms(); r++) seedRoom(roomOf(r), r, settings.rooms());
    frames = new AtomicLongArray(settings.watchers());
    List<ProtocolSocket> watchers = new ArrayList<>();
    for (int w = 0; w < settings.watchers(); w++) {
      int index = w;
      ProtocolSocket s = open(urlFor(w), member(w), r -> onPresence(index, r));
      s.request(ProtocolSocket.frame("subscribe").put("conversation", roomOf(w)), Duration.ofSeconds(30)).get();
      s.request(ProtocolSocket.frame("presence_subscribe").put("conversation", roomOf(w)), Duration.ofSeconds(30)).get();
      watchers.add(s);
    }
    log.printf("%d watchers connected and watching %s%n", watchers.size(), settings.rooms() == 1 ? room : settings.rooms() + " rooms " + room + "-*");
    List<ProtocolSocket> anchors = settings.anchored() ? anchors() : List.of();
    String report = settings.victims() > 0 ? victims() : churn();
    watchers.forEach(ProtocolSocket::close);
    anchors.forEach(ProtocolSocket::close);
    return report;
  }

  /** One connection per churning member, open until the end: the churn then changes no presence. */
  private List<ProtocolSocket> anchors() throws Exception {
    Semaphore inFlight = new Semaphore(32);
    List<CompletableFuture<ProtocolSocket>> opening = new ArrayList<>();
    for (int i = settings.watchers(); i < settings.members(); i++) {
      inFlight.acquire();
      opening.add(
          ProtocolSocket.open(http, urlFor(i), tokens.mint(member(i), Duration.ofHours(2)), r -> {})
              .whenComplete((socket, e) -> inFlight.release()));
    }
    CompletableFuture.allOf(opening.toArray(CompletableFuture[]::new)).get(5, TimeUnit.MINUTES);
    List<ProtocolSocket> anchors = opening.stream().map(CompletableFuture::join).toList();
    log.printf("%d anchors connected: the churn changes no presence%n", anchors.size());
    return anchors;
  }

  /**
   * Creates a room of the members {@code first, first + step, ...} (the first creates it with up to
   * 1,000 of them), then invites the rest (idempotent: a re-run invites members again, harmlessly).
   */
  private void seedRoom(String name, int first, int step) throws Exception {
    ProtocolSocket creator = open(settings.urls().get(0), member(first), r -> {});
    ObjectNode create = ProtocolSocket.frame("create").put("conversation", name);
    var list = create.putArray("members");
    int i = first + step;
    for (; i < settings.members() && list.size() < 999; i += step) list.add(member(i));
    creator.request(create, Duration.ofSeconds(30)).get();
    Semaphore inFlight = new Semaphore(24);
    List<CompletableFuture<?>> invites = new ArrayList<>();
    for (; i < settings.members(); i += step) {
      inFlight.acquire();
      invites.add(
          creator
              .request(ProtocolSocket.frame("invite").put("conversation", name).put("user", member(i)), Duration.ofSeconds(60))
              .whenComplete((r, e) -> inFlight.release()));
    }
    CompletableFuture.allOf(invites.toArray(CompletableFuture[]::new)).get(10, TimeUnit.MINUTES);
    creator.close();
    if (settings.rooms() == 1) log.printf("room %s has %d members%n", name, settings.members());
  }

  private void onPresence(int watcher, ProtocolSocket.Received r) {
    if (!"presence".equals(r.frame().path("type").asText())) return;
    if (measuring) frames.incrementAndGet(watcher);
    for (JsonNode u : r.frame().path("users")) {
      String key = u.path("user").asText() + "|" + u.path("status").asText();
      if (watcher < SAMPLED_WATCHERS || settings.rooms() > 1) {
        Long at = changedAt.get(key);
        if (at != null && measuring) delaysNanos.add(r.arrivedNanos() - at);
        if (at != null) event("S " + epochMillis(at) + " " + epochMillis(r.arrivedNanos()) + " " + u.path("user").asText() + " " + u.path("status").asText() + " " + watcher);
      }
      if (watcher == 0) {
        if (u.path("status").asText().equals("offline")) victimsOfflineSeen.putIfAbsent(u.path("user").asText(), r.arrivedNanos());
        if (u.path("status").asText().equals("online")) onlineSeen.putIfAbsent(u.path("user").asText(), r.arrivedNanos());
      }
    }
  }

  private long epochMillis(long nanos) {
    return epochMillisAtZeroNanos + nanos / 1_000_000;
  }

  /** The churn file is given and absent: churn waits (while it is absent, or until the stop file appears). */
  private boolean paused() {
    return settings.churnFile() != null && !Files.exists(settings.churnFile());
  }

  private boolean stopRequested() {
    return settings.stopFile() != null && Files.exists(settings.stopFile());
  }

  /**
   * Members beyond the watchers connect and disconnect, alternately, at the churn rate. While paused
   * (churn file absent) the connected churning members stay connected and the clock stops: the
   * schedule resumes where it left off, and neither the pause nor its changes count as measured.
   */
  private String churn() throws Exception {
    int first = settings.watchers();
    // Opened without waiting: the clock, not the node's answer, paces the churn (open model).
    Deque<CompletableFuture<ProtocolSocket>> connected = new ArrayDeque<>();
    Deque<Integer> connectedUsers = new ArrayDeque<>();
    long periodNanos = (long) (1e9 / settings.churnPerSecond());
    long total = (long) ((settings.warmup().toNanos() + settings.duration().toNanos()) / (double) periodNanos);
    // At most half the churning members connected at once, so that a member is closed before the
    // churn comes round to it again (a few dozen members in a test; 500 of thousands in a benchmark).
    int pool = Math.min(CHURN_POOL, (settings.members() - first) / 2);
    long started = System.nanoTime();
    long measuredNanos = 0;
    long measuringSince = 0;
    int next = first;
    long late = 0;
    for (long i = 0; i < total; i++) {
      if (i % 10 == 0 && stopRequested()) break;
      if (paused()) {
        long pausedAt = System.nanoTime();
        if (measuring) {
          measuring = false;
          measuredNanos += pausedAt - measuringSince;
          log.println("paused");
        }
        while (paused() && !stopRequested()) TimeUnit.MILLISECONDS.sleep(20);
        if (stopRequested()) break;
        started += System.nanoTime() - pausedAt;
      }
      long due = started + i * periodNanos;
      long wait = due - System.nanoTime();
      if (wait > 0) TimeUnit.NANOSECONDS.sleep(wait);
      else if (wait < -periodNanos) late++;
      if (!measuring && System.nanoTime() - started >= settings.warmup().toNanos()) {
        measuring = true;
        measuringSince = System.nanoTime();
        log.println("measuring");
      }
      // Each churning member stays connected for pool / (churn / 2) seconds (10 s at 100/s, pool 500):
      // shorter, a connect and its disconnect would coalesce within one write interval and change nothing.
      if (connected.size() < pool || i % 2 == 0) {
        int user = next++;
        if (next >= settings.members()) next = first;
        long now = System.nanoTime();
        changedAt.put(member(user) + "|online", now);
        event("E " + epochMillis(now) + " " + member(user) + " online");
        connected.add(ProtocolSocket.open(http, urlFor(user), tokens.mint(member(user), Duration.ofHours(2)), r -> {}));
        connectedUsers.add(user);
      } else {
        int user = connectedUsers.poll();
        long now = System.nanoTime();
        changedAt.put(member(user) + "|offline", now);
        event("E " + epochMillis(now) + " " + member(user) + " offline");
        connected.poll().thenAccept(ProtocolSocket::close);
      }
    }
    if (measuring) measuredNanos += System.nanoTime() - measuringSince;
    measuring = false;
    connected.forEach(c -> c.thenAccept(ProtocolSocket::close));
    double seconds = measuredNanos / 1e9;
    long[] perWatcher = new long[settings.watchers()];
    for (int w = 0; w < perWatcher.length; w++) perWatcher[w] = frames.get(w);
    Arrays.sort(perWatcher);
    long sum = Arrays.stream(perWatcher).sum();
    long[] delays;
    synchronized (delaysNanos) {
      delays = delaysNanos.stream().mapToLong(Long::longValue).sorted().toArray();
    }
    return String.format(
        "presence bench: room of %d members, %d watchers, churn %.0f/s (joins+leaves), %.1f s measured, %d late churn events%n"
            + "  presence frames per watcher per second: mean %.2f, max %.2f, min %.2f%n"
            + "  change -> watcher (%d watchers, %d observations): p50 %.0f ms, p99 %.0f ms, max %.0f ms%n",
        settings.members(), settings.watchers(), settings.churnPerSecond(), seconds, late,
        sum / (double) perWatcher.length / seconds, perWatcher[perWatcher.length - 1] / seconds, perWatcher[0] / seconds,
        settings.rooms() > 1 ? settings.watchers() : SAMPLED_WATCHERS, delays.length, percentile(delays, 50), percentile(delays, 99), percentile(delays, 100));
  }

  /** Victims connect to one node; the operator kills it; their offline is timed from the first socket closing. */
  private String victims() throws Exception {
    int first = settings.members() - settings.victims();
    List<ProtocolSocket> victims = new ArrayList<>();
    for (int i = first; i < settings.members(); i++) victims.add(open(settings.victimUrl(), member(i), r -> {}));
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (countSeen(onlineSeen, first) < settings.victims() && System.nanoTime() < deadline) TimeUnit.MILLISECONDS.sleep(50);
    victimsOfflineSeen.clear();
    log.println("READY: " + settings.victims() + " victims online; kill the victim node now");
    if (settings.readyFile() != null) Files.writeString(settings.readyFile(), "ready\n");
    long closedAt =
        CompletableFuture.anyOf(victims.stream().map(ProtocolSocket::closed).toArray(CompletableFuture[]::new))
            .thenApply(t -> (Long) t)
            .get(10, TimeUnit.MINUTES);
    long until = closedAt + settings.victimTimeout().toNanos();
    while (countSeen(victimsOfflineSeen, first) < settings.victims() && System.nanoTime() < until) TimeUnit.MILLISECONDS.sleep(20);
    long[] delays =
        victimsOfflineSeen.entrySet().stream()
            .filter(e -> index(e.getKey()) >= first)
            .mapToLong(e -> e.getValue() - closedAt)
            .sorted()
            .toArray();
    return String.format(
        "presence bench: %d victims on %s, node killed; %d/%d seen offline by a watcher on another node%n"
            + "  socket closed -> offline seen: p50 %.0f ms, max %.0f ms (min %.0f ms)%n",
        settings.victims(), settings.victimUrl(), delays.length, settings.victims(),
        percentile(delays, 50), percentile(delays, 100), percentile(delays, 0));
  }

  private long countSeen(Map<String, Long> seen, int first) {
    return seen.keySet().stream().filter(u -> index(u) >= first).count();
  }

  private int index(String user) {
    String tail = user.substring(user.lastIndexOf("-m") + 2);
    try {
      return Integer.parseInt(tail);
    } catch (NumberFormatException e) {
      return -1;
    }
  }

  private static double percentile(long[] sortedNanos, double p) {
    if (sortedNanos.length == 0) return Double.NaN;
    int i = (int) Math.ceil(p / 100.0 * sortedNanos.length) - 1;
    return sortedNanos[Math.max(0, Math.min(sortedNanos.length - 1, i))] / 1e6;
  }
}
