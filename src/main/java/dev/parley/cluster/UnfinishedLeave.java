package dev.parley.cluster;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.Done;
import org.apache.pekko.actor.Address;
import org.apache.pekko.actor.CoordinatedShutdown;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.cluster.Member;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Down;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The last step of a leave the cluster could not finish: a node still {@code Leaving} when its
 * wait for {@code Exiting} is over (phase {@code cluster-exiting}, 10 s) marks itself down before
 * it exits (phase {@value #PHASE}, between {@code cluster-exiting} and
 * {@code cluster-exiting-done}).
 *
 * <p>Why: the leader moves a member from {@code Leaving} to {@code Exiting} only on convergence,
 * which any member unreachable for a moment blocks; on a saturated machine the failure detectors
 * of CPU-starved nodes flap, and the leave of a node under load timed out (issue 20's
 * {@code remove-node} run). Exiting anyway, the node became an unreachable {@code Leaving} member
 * for the others. The split brain resolver downs such a member only after {@code stable-after}
 * without any reachability change, and it never counts it as settled (only unreachable members
 * that are {@code Down} or {@code Exiting} are): every flap of the others both postponed that
 * decision and kept the resolver's instability clock running, and {@code stable-after +
 * down-all-when-unstable} (3 + 4 s) after the first change every node took {@code DownAll}, the
 * whole cluster down for one scale-in. A member that is {@code Down} when it goes is settled: the
 * others' flaps heal as before, and the leader removes it once they converge.
 *
 * <p>Its shards have been handed off by then (the handoff comes before the leave), so going down
 * costs nothing a crash would not: if it was the oldest member, its singletons (the shard
 * coordinators) start on the next oldest after its removal and {@code down-removal-margin}
 * instead of being handed over.
 */
public final class UnfinishedLeave {

  /** The CoordinatedShutdown phase of this step (application.conf orders it). */
  public static final String PHASE = "parley-down-if-still-leaving";

  private static final Logger log = LoggerFactory.getLogger(UnfinishedLeave.class);
  private static final Duration POLL = Duration.ofMillis(100);

  private UnfinishedLeave() {}

  /**
   * Adds the step to {@code system}'s CoordinatedShutdown; it waits at most {@code within} for
   * the down to take effect here (inside the phase's timeout).
   */
  public static void install(ActorSystem<?> system, Duration within) {
    CoordinatedShutdown shutdown = CoordinatedShutdown.get(system);
    shutdown.addTask(PHASE, "parley-down-if-still-leaving", () -> downIfStillLeaving(system, shutdown, within));
  }

  private static CompletionStage<Done> downIfStillLeaving(ActorSystem<?> system, CoordinatedShutdown shutdown, Duration within) {
    Cluster cluster = Cluster.get(system);
    Member self = cluster.selfMember();
    if (!unfinished(self.status()) || Drain.downed(shutdown) || !othersExist(cluster)) return done();
    log.warn(
        "leave not finished: still {} after cluster-exiting; marking this node down before it exits, so that the others"
            + " do not see an unreachable leaving member (their split brain resolver would wait on it and could down every node)",
        self.status());
    cluster.manager().tell(new Down(self.address()));
    long started = System.nanoTime();
    return untilDownHere(cluster, started + within.toNanos())
        .thenApply(
            down -> {
              long ms = (System.nanoTime() - started) / 1_000_000;
              if (down) log.info("marked down ({} ms); the others learn it from this node's gossip", ms);
              else log.warn("not marked down within {} ms; the others will find this node unreachable while leaving", ms);
              return Done.getInstance();
            });
  }

  /** Still a full member: the leader never moved it to {@code Exiting} (or it never left). */
  static boolean unfinished(MemberStatus status) {
    return status == MemberStatus.leaving() || status == MemberStatus.up() || status == MemberStatus.weaklyUp();
  }

  /**
   * Until this node's own gossip says it is down. Pekko gossips a self-down to the other members
   * at once (up to five of them) and stops this node's cluster membership when it has seen it, so
   * there is no confirmation to wait for; the gossip goes out with the remoting's shutdown flush
   * at the latest, which waits for the others' acknowledgement (artery shutdown-flush-timeout).
   */
  private static CompletionStage<Boolean> untilDownHere(Cluster cluster, long deadlineNanos) {
    if (cluster.selfMember().status() == MemberStatus.down()) return CompletableFuture.completedFuture(true);
    if (System.nanoTime() > deadlineNanos) return CompletableFuture.completedFuture(false);
    return CompletableFuture.supplyAsync(() -> cluster, CompletableFuture.delayedExecutor(POLL.toMillis(), TimeUnit.MILLISECONDS))
        .thenCompose(c -> untilDownHere(c, deadlineNanos));
  }

  private static boolean othersExist(Cluster cluster) {
    Address self = cluster.selfMember().address();
    for (Member member : cluster.state().getMembers()) {
      if (!member.address().equals(self) && member.status() != MemberStatus.down() && member.status() != MemberStatus.removed()) return true;
    }
    return false;
  }

  private static CompletionStage<Done> done() {
    return CompletableFuture.completedFuture(Done.getInstance());
  }
}
