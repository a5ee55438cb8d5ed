package dev.parley.bench;

import dev.parley.auth.Tokens;
import java.io.PrintStream;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * One benchmark run, start to end: connect, create the conversations, subscribe every member, pace
 * sends for warm-up plus duration, drain outstanding acks and deliveries (bounded by the drain
 * timeout), close, report. Every phase is bounded, so a run always ends by itself.
 */
public final class BenchRun {

  /** Connections opened at once during setup: enough to be quick, few enough not to look like a herd. */
  private static final int CONNECT_BATCH = 200;
  /**
   * Connections per selector loop (one thread each), at most one loop per core: one loop drives a
   * few thousand connections at the rates this box can serve for a small fraction of a core, and
   * every extra thread on a 2-core box is CPU taken from the node being measured.
   */
  private static final int CONNECTIONS_PER_LOOP = 5_000;

  private final BenchSettings settings;
  private final PrintStream progress;
  private final BenchCounters counters = new BenchCounters();
  private final DeliveryTracker tracker = new DeliveryTracker();
  private final LatencyRecorder ackLatency = new LatencyRecorder();
  private final LatencyRecorder deliveryLatency = new LatencyRecorder();
  private final LatencyRecorder schedulerLag = new LatencyRecorder();
  private volatile String phase = "setup";
  private final Timeline timeline;
  /** With {@code --bot}: the bot's replies to the run's messages (issue 17); else null. */
  private BotReplies botReplies;
  private ProgressLine line;
  private long measuredNanos = -1;
  private final WindowCost windowCost;
  private volatile WindowCost.Sample windowStartCost;
  private WindowCost.Cost cost;

  public BenchRun(BenchSettings settings, PrintStream progress) {
    this(settings, progress, null);
  }

  /**
   * @param phaseFile when not null, each second of the report's timeline (and its per-phase
   *     totals) is labelled with this file's first line instead of the bench's own phase: a script
   *     marks before / during / after an event it causes (see {@link Timeline}).
   */
  public BenchRun(BenchSettings settings, PrintStream progress, java.nio.file.Path phaseFile) {
    this(settings, progress, phaseFile, new WindowCost(null, null));
  }

  /** @param windowCost what the node and its database spent in the measured window ({@link WindowCost}). */
  public BenchRun(BenchSettings settings, PrintStream progress, java.nio.file.Path phaseFile, WindowCost windowCost) {
    this.settings = settings;
    this.progress = progress;
    this.timeline = new Timeline(phaseFile);
    this.windowCost = windowCost;
  }

  /** Adds the bot {@code bot:<name>} to every conversation and books its replies. */
  public BenchRun withBot(BotReplies botReplies) {
    this.botReplies = botReplies;
    return this;
  }

  /** Also write every acknowledged send to {@code file} (see {@link AckLog}). */
  public BenchRun withAckLog(java.nio.file.Path file) {
    counters.ackLog = new AckLog(file);
    return this;
  }

  /** setup, warm-up, measure or drain: what the run is doing now. */
  String phase() {
    return phase;
  }

  public Report run() throws Exception {
    Workload workload = Workload.plan(settings, UUID.randomUUID().toString().substring(0, 8));
    String text = "x".repeat(settings.messageBytes());
    long runNanos = settings.warmup().plus(settings.duration()).toNanos();
    List<BenchConnection> connections = new ArrayList<>();
    OpenLoopPacer pacer =
        new OpenLoopPacer(
            settings.rate(),
            runNanos,
            (sendIndex, intendedNanos) -> {
              Workload.Slot slot = workload.slotFor(sendIndex);
              connections.get(slot.connection()).send(sendIndex, slot.conversation(), text);
            },
            (intendedNanos, lagNanos) -> {
              if (counters.inWindow(intendedNanos)) schedulerLag.record(lagNanos);
            });

    ScheduledExecutorService timers = Executors.newScheduledThreadPool(2, daemon("bench-timer"));
    int loopCount =
        Math.max(1, Math.min(Runtime.getRuntime().availableProcessors(), (workload.connections() + CONNECTIONS_PER_LOOP - 1) / CONNECTIONS_PER_LOOP));
    List<SelectorLoop> loops = new ArrayList<>();
    for (int i = 0; i < loopCount; i++) loops.add(new SelectorLoop("bench-io-" + i));
    try {
      long setupStart = System.nanoTime();
      Tokens tokens = Tokens.fromConfigured(settings.secret());
      Duration tokenTtl = settings.setupTimeout().plus(settings.drainTimeout()).plusNanos(runNanos).plusHours(1);
      // The schedule protocol.md asks of clients: random(0, min(30 s, 250 ms x 2^attempt)).
      Backoff backoff = new Backoff(Duration.ofMillis(250), Duration.ofSeconds(30), new Random());
      for (int i = 0; i < workload.connections(); i++) {
        connections.add(
            new BenchConnection(
                i,
                tokens.mint(workload.user(i), tokenTtl),
                settings.urls(),
                settings.firstUrl() - 1,
                workload.conversationsOf(i),
                loops.get(i % loops.size()),
                timers,
                backoff,
                tracker,
                counters,
                ackLatency,
                deliveryLatency,
                pacer::intendedNanos,
                botReplies));
      }
      setUp(workload, connections);
      double setupSeconds = (System.nanoTime() - setupStart) / 1e9;

      line =
          new ProgressLine(
              progress, counters, ackLatency, deliveryLatency, () -> phase, () -> pendingSends(connections), connections.size(),
              tracker, timeline);
      timers.scheduleAtFixedRate(line, 1, 1, TimeUnit.SECONDS);
      timers.scheduleAtFixedRate(
          () -> {
            long now = System.nanoTime();
            connections.forEach(c -> c.resendUnanswered(now));
          },
          1,
          1,
          TimeUnit.SECONDS);

      long start = System.nanoTime();
      long windowStart = start + settings.warmup().toNanos();
      counters.window(windowStart, windowStart + settings.duration().toNanos());
      pacer.startAt(start);
      phase = settings.warmup().isZero() ? "measure" : "warm-up";
      if (settings.warmup().isZero()) windowStartCost = windowCost.sample();
      timers.schedule(
          () -> {
            phase = "measure";
            if (windowStartCost == null) windowStartCost = windowCost.sample();
          },
          settings.warmup().toMillis(),
          TimeUnit.MILLISECONDS);
      // The first I/O loop makes the sends between its reads (SelectorLoop.pace): no thread of their own.
      CompletableFuture<Void> pacing = loops.get(0).pace(pacer);
      long pacingDeadline = System.nanoTime() + runNanos + TimeUnit.SECONDS.toNanos(60);
      while (!pacing.isDone() && System.nanoTime() - pacingDeadline < 0) {
        try {
          pacing.get(500, TimeUnit.MILLISECONDS);
        } catch (java.util.concurrent.TimeoutException stillPacing) {
          // look at the phase file, then wait again
        }
        if (!pacing.isDone() && timeline.endRequested()) {
          // The driving script wrote "end" into the phase file: the measured time ends now.
          long now = System.nanoTime();
          counters.window(windowStart, Math.max(windowStart, now));
          measuredNanos = Math.max(0, Math.min(settings.duration().toNanos(), now - windowStart));
          break;
        }
      }
      pacer.stop();
      try {
        pacing.get(5, TimeUnit.SECONDS);
      } catch (java.util.concurrent.TimeoutException e) {
        System.err.println("the pacer did not stop within 5 s");
      }
      if (windowStartCost != null) {
        double seconds = (measuredNanos >= 0 ? measuredNanos : settings.duration().toNanos()) / 1e9;
        long acked = counters.ackedInWindow.sum();
        cost = windowCost.between(windowStartCost, windowCost.sample(), acked, acked, seconds);
      }

      phase = "drain";
      drain(connections);
      return report(pacer, connections, setupSeconds);
    } finally {
      connections.forEach(BenchConnection::close);
      timers.shutdownNow();
      // the sockets' closing handshakes are on their way; the loops abort whatever is still open
      loops.forEach(SelectorLoop::close);
      AckLog log = counters.ackLog;
      if (log != null) log.close();
    }
  }

  private void setUp(Workload workload, List<BenchConnection> connections) throws Exception {
    long deadline = System.nanoTime() + settings.setupTimeout().toNanos();
    for (int from = 0; from < connections.size(); from += CONNECT_BATCH) {
      List<CompletableFuture<Void>> batch = new ArrayList<>();
      for (BenchConnection c : connections.subList(from, Math.min(from + CONNECT_BATCH, connections.size()))) {
        batch.add(c.connect());
      }
      await(batch, deadline, "connecting");
    }
    List<CompletableFuture<?>> created = new ArrayList<>();
    for (Workload.Conversation c : workload.conversations()) {
      List<String> others = new ArrayList<>(c.members().stream().skip(1).map(workload::user).toList());
      if (botReplies != null) others.add(botReplies.botUser());
      created.add(connections.get(c.creator()).create(c.id(), others));
      tracker.expectSubscribers(c.id(), c.members());
    }
    await(created, deadline, "creating conversations");
    List<CompletableFuture<?>> subscribed = new ArrayList<>();
    connections.forEach(c -> subscribed.add(c.subscribeAll()));
    await(subscribed, deadline, "subscribing");
  }

  private static void await(List<? extends CompletableFuture<?>> futures, long deadlineNanos, String what) throws Exception {
    try {
      CompletableFuture.allOf(futures.toArray(CompletableFuture[]::new))
          .get(Math.max(0, deadlineNanos - System.nanoTime()), TimeUnit.NANOSECONDS);
    } catch (java.util.concurrent.TimeoutException e) {
      throw new IllegalStateException("setup timed out while " + what, e);
    } catch (java.util.concurrent.ExecutionException e) {
      // e.g. a URL the websocket client refuses fails with a message-less exception: name it then
      throw new IllegalStateException("setup failed while " + what + ": " + e.getCause(), e.getCause());
    }
  }

  /** Waits, at most the drain timeout, for every ack and every delivery of an acked message. */
  private void drain(List<BenchConnection> connections) throws InterruptedException {
    long deadline = System.nanoTime() + settings.drainTimeout().toNanos();
    while (System.nanoTime() - deadline < 0) {
      boolean repliesOwed = botReplies != null && botReplies.owed() > 0;
      if (pendingSends(connections) == 0 && tracker.undeliveredMessages() == 0 && !repliesOwed) return;
      TimeUnit.MILLISECONDS.sleep(100);
    }
    // Whoever looks into a failed run needs to know where: which subscriber stopped receiving what.
    java.util.regex.Pattern subscriber = java.util.regex.Pattern.compile("subscriber (\\d+) ");
    for (String line : tracker.undeliveredDetails(20)) {
      System.err.println("undelivered: " + line);
      java.util.regex.Matcher m = subscriber.matcher(line);
      if (!m.find()) continue;
      int index = Integer.parseInt(m.group(1));
      connections.stream().filter(c -> c.index == index).findFirst()
          .ifPresent(c -> c.history().forEach(step -> System.err.println("  " + step)));
    }
  }

  private Report report(OpenLoopPacer pacer, List<BenchConnection> connections, double setupSeconds) {
    // The last partial second goes into the timeline before the totals take what is left.
    if (line != null) line.run();
    double measured = Math.max(1e-3, (measuredNanos >= 0 ? measuredNanos : settings.duration().toNanos()) / 1e9);
    Report.Setup setup =
        new Report.Setup(
            settings.urls().stream().map(URI::toString).toList(),
            settings.connections(),
            settings.conversations(),
            settings.members(),
            settings.rate(),
            settings.messageBytes(),
            settings.warmup().toNanos() / 1e9,
            measured,
            setupSeconds);
    return new Report(
        setup,
        measured,
        pacer.scheduled(),
        counters.ackedInWindow.sum() / measured,
        counters.deliveredInWindow.sum() / measured,
        ackLatency.total(),
        counters.lastTryToAck.total(),
        counters.ackedAtFirstTry.sum(),
        deliveryLatency.total(),
        schedulerLag.total(),
        counters.errorsByCode(),
        counters.reconnects.sum(),
        counters.handovers.sum(),
        counters.resentSends.sum(),
        counters.retriedSends.sum(),
        counters.failedSends.sum(),
        pendingSends(connections),
        tracker.counts(),
        cost,
        timeline.phases(),
        timeline.seconds());
  }

  private static int pendingSends(List<BenchConnection> connections) {
    return connections.stream().mapToInt(BenchConnection::pendingSends).sum();
  }

  private static java.util.concurrent.ThreadFactory daemon(String name) {
    return runnable -> {
      Thread thread = new Thread(runnable, name);
      thread.setDaemon(true);
      return thread;
    };
  }
}
