package dev.parley.cluster;

import dev.parley.ops.Metrics;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.Address;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.Props;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.ClusterEvent;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Subscribe;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One log line and one metric per step of a member's failure, as this node sees it: unreachable
 * (failure detector), downed (split brain resolver), removed (leader), and the first conversation
 * that finished recovering here afterwards (its shards started on this node). Operators read from
 * them where a failover spent its time (operations.md, "When a node crashes"):
 * {@code parley_cluster_failure_seconds{step="downed|removed|first_recovery"}}, each measured from
 * the moment the member became unreachable.
 */
public final class MemberFailures {

  private static final Logger log = LoggerFactory.getLogger(MemberFailures.class);
  /** After a removal, how long to watch for the first recovery on this node. */
  private static final Duration WATCH_RECOVERIES = Duration.ofSeconds(60);
  private static final Duration POLL = Duration.ofMillis(50);

  private MemberFailures() {}

  /** Starts watching membership as a system actor of {@code system}. */
  public static void start(ActorSystem<?> system) {
    system.systemActorOf(create(NodeLifecycle.get(system), Metrics.get(system).registry()), "parley-member-failures", Props.empty());
  }

  private sealed interface Event permits Membership, Reachability, CheckRecoveries {}

  private record Membership(ClusterEvent.MemberEvent event) implements Event {}

  private record Reachability(ClusterEvent.ReachabilityEvent event) implements Event {}

  /** Polls the node's recovery counter while a removed member's conversations find new homes. */
  private record CheckRecoveries(Address removed, long recoveriesAtRemoval, long until) implements Event {}

  /** When each step of a member's failure was seen (nanoTime), by address. */
  private static final class Failure {
    final long unreachableAt;
    long downedAt;
    long removedAt;

    Failure(long unreachableAt) {
      this.unreachableAt = unreachableAt;
    }
  }

  private static Behavior<Event> create(NodeLifecycle lifecycle, MeterRegistry registry) {
    return Behaviors.setup(
        context -> {
          Cluster cluster = Cluster.get(context.getSystem());
          ActorRef<ClusterEvent.MemberEvent> members = context.messageAdapter(ClusterEvent.MemberEvent.class, Membership::new);
          ActorRef<ClusterEvent.ReachabilityEvent> reachability =
              context.messageAdapter(ClusterEvent.ReachabilityEvent.class, Reachability::new);
          cluster.subscriptions().tell(Subscribe.create(members, ClusterEvent.MemberEvent.class));
          cluster.subscriptions().tell(Subscribe.create(reachability, ClusterEvent.ReachabilityEvent.class));
          Map<Address, Failure> failures = new HashMap<>();
          Timer downed = step(registry, "downed");
          Timer removed = step(registry, "removed");
          Timer firstRecovery = step(registry, "first_recovery");
          return Behaviors.withTimers(
              timers ->
                  Behaviors.receive(Event.class)
                      .onMessage(
                          Reachability.class,
                          r -> {
                            Address address = r.event().member().address();
                            if (r.event() instanceof ClusterEvent.UnreachableMember) {
                              failures.putIfAbsent(address, new Failure(System.nanoTime()));
                              log.warn("member {} is unreachable", address);
                            } else if (r.event() instanceof ClusterEvent.ReachableMember) {
                              failures.remove(address);
                              log.info("member {} is reachable again", address);
                            }
                            return Behaviors.same();
                          })
                      .onMessage(
                          Membership.class,
                          m -> {
                            Address address = m.event().member().address();
                            Failure failure = failures.get(address);
                            if (failure == null) return Behaviors.same();
                            long now = System.nanoTime();
                            if (m.event() instanceof ClusterEvent.MemberDowned) {
                              failure.downedAt = now;
                              downed.record(now - failure.unreachableAt, TimeUnit.NANOSECONDS);
                              log.warn("member {} downed {} ms after it became unreachable", address, millis(now - failure.unreachableAt));
                            } else if (m.event() instanceof ClusterEvent.MemberRemoved removal
                                && removal.previousStatus() == MemberStatus.down()) {
                              failure.removedAt = now;
                              removed.record(now - failure.unreachableAt, TimeUnit.NANOSECONDS);
                              log.warn(
                                  "member {} removed {} ms after it became unreachable ({} ms after it was downed): its shards get new homes",
                                  address, millis(now - failure.unreachableAt), failure.downedAt == 0 ? -1 : millis(now - failure.downedAt));
                              timers.startSingleTimer(
                                  new CheckRecoveries(address, lifecycle.recoveriesCompleted(), now + WATCH_RECOVERIES.toNanos()), POLL);
                            } else if (m.event() instanceof ClusterEvent.MemberRemoved) {
                              failures.remove(address);
                            }
                            return Behaviors.same();
                          })
                      .onMessage(
                          CheckRecoveries.class,
                          c -> {
                            Failure failure = failures.get(c.removed());
                            if (failure == null) return Behaviors.same();
                            long now = System.nanoTime();
                            if (lifecycle.recoveriesCompleted() > c.recoveriesAtRemoval()) {
                              failures.remove(c.removed());
                              firstRecovery.record(now - failure.unreachableAt, TimeUnit.NANOSECONDS);
                              log.warn(
                                  "member {}: first conversation recovered on this node {} ms after it became unreachable ({} ms after its removal)",
                                  c.removed(), millis(now - failure.unreachableAt), millis(now - failure.removedAt));
                            } else if (now < c.until()) {
                              timers.startSingleTimer(c, POLL);
                            } else {
                              failures.remove(c.removed());
                            }
                            return Behaviors.same();
                          })
                      .build());
        });
  }

  private static Timer step(MeterRegistry registry, String step) {
    return Timer.builder("parley.cluster.failure")
        .description("from a member becoming unreachable to this step of its failure, as this node saw it")
        .tag("step", step)
        .register(registry);
  }

  private static long millis(long nanos) {
    return nanos / 1_000_000;
  }
}
