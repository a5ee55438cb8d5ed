package dev.parley.cluster;

import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
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
 *       moment inside the drain window, so the other nodes see a ramp of reconnects instead of a
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

  public record Settings(
      Duration readinessDelay, Duration window, Duration handover, Duration coordinatorGrace, boolean moveShardsEarly) {}

  /**
   * Published on the event stream; every session hints a reconnect at a random moment of the
   * window and closes itself {@link #handover()} later, within the window.
   */
  public record DrainConnections(Duration window, Duration requestedHandover) {
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
    shutdown.addTask(
        CoordinatedShutdown.PhaseBeforeServiceUnbind(),
        "parley-readiness-off",
        () -> {
          lifecycle.startDraining();
          log.info("draining: readiness is now false; {} connections open", lifecycle.openConnections());
          if (settings.moveShardsEarly() && !settings.window().isZero()) {
            DrainingMembers.get(system).announce(Instant.now().plus(settings.readinessDelay()).plus(settings.window()));
          }
          return after(settings.readinessDelay());
        });
    shutdown.addTask(CoordinatedShutdown.PhaseServiceUnbind(), "parley-stop-accepting", stopAccepting);
    shutdown.addTask(
        CoordinatedShutdown.PhaseServiceRequestsDone(),
        "parley-drain-connections",
        () -> {
          system.eventStream().tell(new EventStream.Publish<>(new DrainConnections(settings.window(), settings.handover())));
          long deadline = System.nanoTime() + settings.window().plusSeconds(2).toNanos();
          return untilNoConnections(lifecycle, deadline)
              .thenCompose(done -> settings.moveShardsEarly() ? untilShardsMoved(system, deadline) : done());
        });
    shutdown.addTask(
        "parley-coordinator-grace",
        "parley-coordinator-grace",
        () -> {
          Cluster cluster = Cluster.get(system);
          if (settings.coordinatorGrace().isZero() || !hostsSingletonsForOthers(cluster)) {
            return CompletableFuture.completedFuture(Done.getInstance());
          }
          log.info("draining: shards handed off; staying {} ms so the shard coordinators here re-home them", settings.coordinatorGrace().toMillis());
          return after(settings.coordinatorGrace());
        });
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
