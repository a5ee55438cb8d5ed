package dev.parley.gateway;

import dev.parley.cluster.ClusterConnections;
import dev.parley.cluster.NodeLifecycle;
import dev.parley.cluster.RebalancePlan;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.Extension;
import org.apache.pekko.actor.typed.ExtensionId;
import org.apache.pekko.actor.typed.Props;
import org.apache.pekko.actor.typed.javadsl.Behaviors;

/**
 * Moves this node's surplus connections to the other nodes, a few per round, with the drain's own
 * {@code reconnect} frame: once per {@code interval} it decides with {@link RebalancePlan} over the
 * cluster's counts ({@link ClusterConnections}) how many to move, picks that many at random among
 * the connections older than {@code min-connection-age} and not already moving, and gives each its
 * own random moment within the round. A connection in the middle of a resume declines (the
 * session knows). Knows this node's sessions by registration (one map entry each, which the session
 * writes itself when it opens and when it stops: no death watch, no message).
 */
public final class ConnectionRebalancer implements Extension {

  sealed interface Command {}


  private record Declined(ActorRef<Session.Command> session) implements Command {}

  private enum Round implements Command {
    INSTANCE
  }

  private final ActorSystem<?> system;
  private volatile ActorRef<Command> actor;
  /**
   * This node's sessions and when each opened, written by the sessions themselves (opened, closed)
   * and read by the actor once per round: an {@code Opened} and a {@code Closed} message per
   * connection each woke the actor's thread for one map update (benchmarks.md, issue 19, 2026-12-06).
   */
  private final ConcurrentHashMap<ActorRef<Session.Command>, Long> sessions = new ConcurrentHashMap<>();
  /** Whether sessions are tracked: only once {@link #start}ed with rounds enabled. */
  private volatile boolean tracking;

  private ConnectionRebalancer(ActorSystem<?> system) {
    this.system = system;
  }

  public static ConnectionRebalancer get(ActorSystem<?> system) {
    return Id.INSTANCE.apply(system);
  }

  /**
   * Starts the rounds. {@code admissionPerSecond}: the node's connection admission rate, which
   * bounds the rate of moves ({@link RebalancePlan#effectiveMovesPerSecond}); publish-interval is
   * how often this node's count goes out.
   */
  public synchronized void start(RebalancePlan.Settings settings, double admissionPerSecond, Duration publishInterval) {
    if (actor != null) return;
    ClusterConnections.get(system).start(publishInterval);
    tracking = settings.enabled();
    actor = system.systemActorOf(behavior(settings, admissionPerSecond), "parley-connection-rebalancer", Props.empty());
  }

  /** A session opened (before {@link #start}, e.g. in a test without it, it is not tracked). */
  void opened(ActorRef<Session.Command> session) {
    if (tracking) sessions.putIfAbsent(session, System.nanoTime());
  }

  /**
   * The session stopped (its PostStop), whatever stopped it. If it was asked to move, the next round
   * counts the move completed (as soon as it is gone, as when it was told by a message).
   */
  void closed(ActorRef<Session.Command> session) {
    sessions.remove(session);
  }

  /** The session was asked to move and stays (mid-resume, closing, draining). */
  void declined(ActorRef<Session.Command> session) {
    ActorRef<Command> ref = actor;
    if (ref != null) ref.tell(new Declined(session));
  }

  private Behavior<Command> behavior(RebalancePlan.Settings settings, double admissionPerSecond) {
    double movesPerSecond = RebalancePlan.effectiveMovesPerSecond(settings.movesPerSecond(), admissionPerSecond);
    return Behaviors.setup(
        ctx ->
            Behaviors.withTimers(
                timers -> {
                  ClusterConnections counts = ClusterConnections.get(ctx.getSystem());
                  NodeLifecycle lifecycle = NodeLifecycle.get(ctx.getSystem());
                  Set<ActorRef<Session.Command>> moving = new HashSet<>();
                  if (settings.enabled()) timers.startTimerWithFixedDelay(Round.INSTANCE, settings.interval());
                  long minAgeNanos = settings.minConnectionAge().toNanos();
                  return Behaviors.receive(Command.class)
                      .onMessage(
                          Declined.class,
                          m -> {
                            if (moving.remove(m.session())) counts.moveDeclined();
                            return Behaviors.same();
                          })
                      .onMessageEquals(
                          Round.INSTANCE,
                          () -> {
                            // Sessions asked to move that have stopped since: moved (counted a round
                            // later than a message per close would have, the decision's input the same).
                            moving.removeIf(session -> {
                              if (sessions.containsKey(session)) return false;
                              counts.moveCompleted();
                              return true;
                            });
                            long now = System.nanoTime();
                            List<ActorRef<Session.Command>> eligible = new ArrayList<>();
                            sessions.forEach((session, opened) -> {
                              if (now - opened >= minAgeNanos && !moving.contains(session)) eligible.add(session);
                            });
                            ClusterConnections.View view = counts.view(settings.settleAfterMemberLeft());
                            RebalancePlan.Decision decision =
                                RebalancePlan.decide(
                                    settings,
                                    view.self(),
                                    view.connections(),
                                    lifecycle.openConnections(),
                                    moving.size(),
                                    eligible.size(),
                                    movesPerSecond,
                                    view.pausedBecause());
                            counts.recordDecision(decision);
                            if (decision.moves() > 0) {
                              ctx.getLog().info(
                                  "rebalancing: {} connections here, cluster mean {}; asking {} to move",
                                  lifecycle.openConnections(), Math.round(decision.mean()), decision.moves());
                              Collections.shuffle(eligible, ThreadLocalRandom.current());
                              long spreadMs = Math.max(1, settings.interval().toMillis());
                              for (ActorRef<Session.Command> session : eligible.subList(0, decision.moves())) {
                                moving.add(session);
                                counts.moveRequested();
                                // Each at its own moment of the round: the receivers see a ramp.
                                Duration hintIn = Duration.ofMillis(ThreadLocalRandom.current().nextLong(spreadMs));
                                session.tell(new Session.MoveAway(hintIn, settings.moveHandover()));
                              }
                            }
                            return Behaviors.same();
                          })
                      .build();
                }));
  }

  private static final class Id extends ExtensionId<ConnectionRebalancer> {
    static final Id INSTANCE = new Id();

    @Override
    public ConnectionRebalancer createExtension(ActorSystem<?> system) {
      return new ConnectionRebalancer(system);
    }
  }
}
