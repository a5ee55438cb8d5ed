package dev.parley.cluster;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigValueFactory;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;
import org.apache.pekko.Done;
import org.apache.pekko.actor.CoordinatedShutdown;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.eventstream.EventStream;
import org.apache.pekko.cluster.Member;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.typed.Cluster;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * How a node leaves without a herd, as CoordinatedShutdown tasks (run on SIGTERM, on a cluster
 * leave, or by {@code parley admin drain}):
 * <ol>
 *   <li>before-service-unbind: readiness turns false, so load balancers stop sending new clients;
 *       wait {@code readiness-delay} for them to notice;
 *   <li>service-unbind: stop accepting connections; open ones keep working;
 *   <li>service-requests-done: every connection gets a {@code reconnect} frame at its own random
 *       moment inside the drain window (which stretches with the connections held, see
 *       {@link Settings#windowFor}), so the other nodes see a ramp of reconnects instead of a
 *       wall, and keeps working for {@code handover} more, so its client can open its new
 *       connection before this one goes (make before break: no moment without a connection); then
 *       it is closed, after its requests in flight are answered;
 *   <li>meanwhile the shard coordinators move this node's shards to the other nodes, a few per
 *       rebalance round ({@link DrainAwareAllocationStrategy}, told by {@link DrainingMembers} at
 *       the first step), so their conversations recover as a ramp; the phase also waits for that,
 *       within the window;
 *   <li>then Pekko hands off what is left (cluster-sharding-shutdown-region);
 *   <li>parley-coordinator-grace: on the oldest node, which hosts the shard coordinators, wait
 *       {@code coordinator-grace} before leaving. Its coordinator has just deallocated the shards
 *       handed off; while it still runs it gives each a new home as soon as a message for it
 *       arrives. Once the node is Leaving, those requests go to the next oldest node, whose
 *       coordinator needs 2 to 3 s (gossip, hand-over, reading its replicated state) before it
 *       answers: every conversation of the leaving node would wait that long;
 *   <li>the node leaves (cluster-leave, cluster-exiting).
 * </ol>
 */
public final class Drain {

  private static final Logger log = LoggerFactory.getLogger(Drain.class);

  /**
   * {@code window} is the shortest drain window; a node holding more connections than
   * {@code handoverRate} × it stretches its window to hand them over at that rate (plus the
   * handover), up to {@code maxWindow}, from which the shutdown timeouts are derived
   * ({@link #derivedShutdownTimeouts}). {@code handoverRate} 0: the window is fixed.
   */
  public record Settings(
      Duration readinessDelay,
      Duration window,
      Duration handover,
      Duration coordinatorGrace,
      boolean moveShardsEarly,
      Duration maxWindow,
      double handoverRate) {

    public Settings {
      if (maxWindow.compareTo(window) < 0) {
        throw new IllegalArgumentException("parley.drain.max-window (" + maxWindow + ") must be at least parley.drain.window (" + window + ")");
      }
    }

    /** The settings of a fixed window (no stretching): for tests and callers that do not care. */
    public Settings(Duration readinessDelay, Duration window, Duration handover, Duration coordinatorGrace, boolean moveShardsEarly) {
      this(readinessDelay, window, handover, coordinatorGrace, moveShardsEarly, window, 0);
    }

    /**
     * The window of a node holding {@code connections}: the hints go out over the window minus the
     * handover, so {@code connections ÷ handover-rate + handover}, never shorter than
     * {@code window}, never longer than {@code max-window} (then the rate is higher than asked).
     */
    public Duration windowFor(int connections) {
      if (handoverRate <= 0) return window;
      long spreadMs = (long) Math.ceil(Math.max(0, connections) * 1000.0 / handoverRate);
      Duration needed = Duration.ofMillis(spreadMs).plus(handover);
      if (needed.compareTo(window) < 0) return window;
      return needed.compareTo(maxWindow) > 0 ? maxWindow : needed;
    }

    /**
     * The window of a node the cluster has downed, holding {@code connections}: its shards already
     * have new homes and it can serve nothing, so it keeps no minimum window and no handover, only
     * the spread that keeps its clients' arrival at the other nodes at {@code handover-rate} per
     * second (at least 1 s, at most {@code max-window}; 1 s when the rate is 0).
     */
    public Duration downedWindowFor(int connections) {
      if (handoverRate <= 0) return MIN_DOWNED_WINDOW;
      Duration spread = Duration.ofMillis((long) Math.ceil(Math.max(0, connections) * 1000.0 / handoverRate));
      if (spread.compareTo(MIN_DOWNED_WINDOW) < 0) return MIN_DOWNED_WINDOW;
      return spread.compareTo(maxWindow) > 0 ? maxWindow : spread;
    }
  }

  /** The shortest spread of a downed node's reconnect hints: a little jitter even for a handful. */
  static final Duration MIN_DOWNED_WINDOW = Duration.ofSeconds(1);

  /** Margin of each derived phase timeout over the drain step it bounds (the last requests: 2 s). */
  static final Duration PHASE_MARGIN = Duration.ofSeconds(5);

  /**
   * The CoordinatedShutdown phase timeouts the drain needs, derived from its settings: a phase that
   * times out cuts the drain short. {@code before-service-unbind} >= readiness-delay + margin,
   * {@code service-requests-done} >= max-window + margin (the connections' window, and the shards'
   * early moves within it). A configured longer timeout is kept. Applied before the actor system
   * starts (Node).
   */
  public static Config derivedShutdownTimeouts(Config config, Settings settings) {
    Config result = config;
    result = atLeast(result, "pekko.coordinated-shutdown.phases.before-service-unbind.timeout", settings.readinessDelay().plus(PHASE_MARGIN));
    result = atLeast(result, "pekko.coordinated-shutdown.phases.service-requests-done.timeout", settings.maxWindow().plus(PHASE_MARGIN));
    return result;
  }

  private static Config atLeast(Config config, String path, Duration minimum) {
    if (config.hasPath(path) && config.getDuration(path).compareTo(minimum) >= 0) return config;
    return config.withValue(path, ConfigValueFactory.fromAnyRef(minimum.toMillis() + "ms"));
  }

  /**
   * Published on the event stream; every session hints a reconnect at a random moment of the
   * window and closes itself {@link #handover()} later, within the window. {@code reason} goes into
   * the {@code reconnect} frame: {@link #DRAIN} for a node that leaves, {@link #DOWNED} for one the
   * cluster has downed (a crash of its reachability, a partition's losing side).
   */
  public record DrainConnections(Duration window, Duration requestedHandover, String reason) {
    public static final String DRAIN = "drain";
    public static final String DOWNED = "downed";

    /** At most half the window, so that the hints still spread over the other half. */
    public Duration handover() {
      Duration half = window.dividedBy(2);
      return requestedHandover.compareTo(half) > 0 ? half : requestedHandover;
    }

    /** The span over which the hints are spread: what is left of the window after the handover. */
    public Duration hintSpread() {
      return window.minus(handover());
    }
  }

  private Drain() {}

  public static void install(ActorSystem<?> system, Settings settings, Supplier<CompletionStage<Done>> stopAccepting) {
    CoordinatedShutdown shutdown = CoordinatedShutdown.get(system);
    NodeLifecycle lifecycle = NodeLifecycle.get(system);
    // Chosen once, when the drain starts: no connection arrives after that (the node refuses them).
    AtomicReference<Duration> window = new AtomicReference<>(settings.window());
    shutdown.addTask(
        CoordinatedShutdown.PhaseBeforeServiceUnbind(),
        "parley-readiness-off",
        () -> {
          lifecycle.startDraining();
          int connections = lifecycle.openConnections();
          if (downed(shutdown)) {
            // The cluster has removed this node: its shards are served elsewhere already and every
            // request here fails, so its clients are told at once (spread at the handover rate),
            // not over a leaving node's window; no readiness delay, no early shard moves.
            window.set(settings.downedWindowFor(connections));
            log.warn("downed by the cluster: {} connections open, told to reconnect elsewhere over {} s", connections, window.get().toMillis() / 1000.0);
            return done();
          }
          window.set(settings.windowFor(connections));
          log.info("draining: readiness is now false; {} connections open, drain window {} s", connections, window.get().toMillis() / 1000.0);
          if (settings.moveShardsEarly() && !window.get().isZero()) {
            DrainingMembers.get(system).announce(Instant.now().plus(settings.readinessDelay()).plus(window.get()));
          }
          return after(settings.readinessDelay());
        });
    shutdown.addTask(CoordinatedShutdown.PhaseServiceUnbind(), "parley-stop-accepting", stopAccepting);
    shutdown.addTask(
        CoordinatedShutdown.PhaseServiceRequestsDone(),
        "parley-drain-connections",
        () -> {
          boolean downed = downed(shutdown);
          DrainConnections drain =
              downed
                  ? new DrainConnections(window.get(), Duration.ZERO, DrainConnections.DOWNED)
                  : new DrainConnections(window.get(), settings.handover(), DrainConnections.DRAIN);
          system.eventStream().tell(new EventStream.Publish<>(drain));
          long deadline = System.nanoTime() + window.get().plusSeconds(2).toNanos();
          return untilNoConnections(lifecycle, deadline)
              .thenCompose(done -> settings.moveShardsEarly() && !downed ? untilShardsMoved(system, deadline) : done());
        });
    shutdown.addTask(
        "parley-coordinator-grace",
        "parley-coordinator-grace",
        () -> {
          Cluster cluster = Cluster.get(system);
          if (settings.coordinatorGrace().isZero() || downed(shutdown) || !hostsSingletonsForOthers(cluster)) {
            return CompletableFuture.completedFuture(Done.getInstance());
          }
          log.info("draining: shards handed off; staying {} ms so the shard coordinators here re-home them", settings.coordinatorGrace().toMillis());
          return after(settings.coordinatorGrace());
        });
  }

  /** Whether the node shuts down because the cluster downed it (Pekko runs the whole shutdown then). */
  static boolean downed(CoordinatedShutdown shutdown) {
    return shutdown.getShutdownReason().map(CoordinatedShutdown.clusterDowningReason()::equals).orElse(false);
  }

  /**
   * Whether this node is the oldest Up member, where cluster singletons such as the shard
   * coordinators run (Pekko places them on the oldest member of the data center), and another Up
   * member is there to take its shards over.
   */
  static boolean hostsSingletonsForOthers(Cluster cluster) {
    Member self = cluster.selfMember();
    boolean others = false;
    for (Member member : cluster.state().getMembers()) {
      if (member.equals(self) || member.status() != MemberStatus.up() || !member.dataCenter().equals(self.dataCenter())) continue;
      if (member.isOlderThan(self)) return false;
      others = true;
    }
    return others;
  }

  private static CompletionStage<Done> untilNoConnections(NodeLifecycle lifecycle, long deadlineNanos) {
    if (lifecycle.openConnections() <= 0) {
      log.info("draining: all connections closed");
      return CompletableFuture.completedFuture(Done.getInstance());
    }
    if (System.nanoTime() > deadlineNanos) {
      log.warn("draining: window over with {} connections still open", lifecycle.openConnections());
      return CompletableFuture.completedFuture(Done.getInstance());
    }
    return after(Duration.ofMillis(100)).thenCompose(done -> untilNoConnections(lifecycle, deadlineNanos));
  }

  /**
   * Until the shard coordinators have moved this node's shards elsewhere (see
   * {@link DrainAwareAllocationStrategy}) or the deadline: what is left then moves at the handoff,
   * all at once. Not when no other member can take them (a lone node, the last of a shutdown).
   */
  private static CompletionStage<Done> untilShardsMoved(ActorSystem<?> system, long deadlineNanos) {
    if (!anotherMemberCanHostShards(system)) return done();
    return LocalShards.count(system, DrainingMembers.get(system).movedEarlyTypes())
        // No answer is not "no shards" (a busy region answers late); ask again, until the deadline.
        .exceptionally(failure -> -1)
        .thenCompose(
            held -> {
              if (held == 0) {
                log.info("draining: every shard moved to other nodes");
                return done();
              }
              if (System.nanoTime() > deadlineNanos) {
                log.warn("draining: window over with {} shards still here; they move at the handoff", held < 0 ? "unknown" : held);
                return done();
              }
              return after(Duration.ofMillis(200)).thenCompose(d -> untilShardsMoved(system, deadlineNanos));
            });
  }

  private static boolean anotherMemberCanHostShards(ActorSystem<?> system) {
    Cluster cluster = Cluster.get(system);
    var draining = DrainingMembers.get(system).deadlines();
    for (Member member : cluster.state().getMembers()) {
      if (member.equals(cluster.selfMember()) || member.status() != MemberStatus.up()) continue;
      if (!draining.containsKey(DrainingMembers.keyOf(member.uniqueAddress()))) return true;
    }
    return false;
  }

  private static CompletionStage<Done> done() {
    return CompletableFuture.completedFuture(Done.getInstance());
  }

  private static CompletionStage<Done> after(Duration delay) {
    return CompletableFuture.supplyAsync(
        Done::getInstance, CompletableFuture.delayedExecutor(delay.toMillis(), TimeUnit.MILLISECONDS));
  }
}
