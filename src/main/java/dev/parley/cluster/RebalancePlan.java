package dev.parley.cluster;

import java.time.Duration;
import java.util.Map;
import java.util.Optional;

/**
 * How many of its connections a node asks to move in one rebalancing round, and whether it turns
 * new connections away meanwhile: pure arithmetic over the cluster's connection counts, so the rules
 * are tested without a cluster (the actor that acts on it is dev.parley.gateway.ConnectionRebalancer).
 *
 * <p>The rules (operations.md, "Connection rebalancing"):
 * <ul>
 *   <li>a node moves connections only when it holds more than {@code mean × (1 + margin)} and at
 *       least {@code min-excess} above the mean, and then only down to the mean: the total moved is
 *       what balance needs, not more;
 *   <li>the whole cluster moves at most {@code moves-per-second} connections a second, shared by the
 *       nodes above the mean in proportion to their excess: even if every moved client landed on
 *       the same node, that node's new connections per second stay under this rate, which is kept
 *       at most half its admission rate ({@link #effectiveMovesPerSecond});
 *   <li>with {@code steer-new-connections} on, a node above the bound (while another is below the
 *       mean) turns new connections away (503, connect to another): moved clients land on the
 *       nodes that need them;
 *   <li>nothing moves while the cluster is paused (a member drains, starts, left recently or is
 *       unreachable).
 * </ul>
 */
public final class RebalancePlan {

  /**
   * {@code moveHandover}: how long a moved connection keeps working after its reconnect frame
   * (make before break, as in a drain). {@code minConnectionAge}: a connection younger than this is
   * never asked to move, so none moves twice within it (a moved client's new connection is young).
   */
  public record Settings(
      boolean enabled,
      Duration interval,
      double margin,
      int minExcess,
      double movesPerSecond,
      Duration minConnectionAge,
      Duration moveHandover,
      Duration settleAfterMemberLeft,
      boolean steerNewConnections) {

    public Settings {
      if (interval.isNegative() || interval.isZero()) throw new IllegalArgumentException("parley.rebalance.interval must be positive");
      if (margin < 0) throw new IllegalArgumentException("parley.rebalance.margin must be 0 or more");
    }
  }

  public enum State {
    /** parley.rebalance.enabled = off. */
    OFF,
    /** Every node within the bound: nothing to move. */
    BALANCED,
    /** This node is above the bound and asks connections to move (or waits for younger ones to age). */
    MOVING,
    /** Some node is above the bound, not this one: it takes the moved connections. */
    RECEIVING,
    /** A member drains, starts, left recently or is unreachable: nothing moves. */
    PAUSED
  }

  /**
   * One round's outcome. {@code moves}: connections to ask to move now. {@code refuseNewConnections}:
   * this node is at its bound while another is below the mean, so new connections go elsewhere.
   */
  public record Decision(State state, String reason, double mean, int moves, boolean refuseNewConnections) {
    public static Decision off() {
      return new Decision(State.OFF, "parley.rebalance.enabled is off", 0, 0, false);
    }

    public static Decision paused(String reason) {
      return new Decision(State.PAUSED, reason, 0, 0, false);
    }
  }

  private RebalancePlan() {}

  /**
   * The cluster-wide rate of moves: the configured one, but at most half a node's admission rate,
   * so that moved clients never use up the admission a receiving node keeps for its own new
   * clients. An admission rate of 0 (off) leaves the configured rate as it is.
   */
  public static double effectiveMovesPerSecond(double movesPerSecond, double admissionPerSecond) {
    return admissionPerSecond > 0 ? Math.min(movesPerSecond, admissionPerSecond / 2) : movesPerSecond;
  }

  /**
   * @param self this node's key in {@code connections}
   * @param connections connections per node, every Up member (this node's own entry is ignored:
   *     {@code ownOpen} is live)
   * @param ownOpen connections open on this node now
   * @param ownMoving of those, the ones already asked to move and not gone yet
   * @param eligible of those, the ones that may be asked (old enough, not moving)
   * @param movesPerSecond the cluster-wide rate ({@link #effectiveMovesPerSecond})
   * @param pausedBecause why nothing may move now, if so
   */
  public static Decision decide(
      Settings settings,
      String self,
      Map<String, Integer> connections,
      int ownOpen,
      int ownMoving,
      int eligible,
      double movesPerSecond,
      Optional<String> pausedBecause) {
    if (!settings.enabled()) return Decision.off();
    if (pausedBecause.isPresent()) return Decision.paused(pausedBecause.get());
    // The connections already asked to move are leaving: counting them would move them twice.
    int own = Math.max(0, ownOpen - ownMoving);
    long total = own;
    int nodes = 1;
    for (Map.Entry<String, Integer> node : connections.entrySet()) {
      if (node.getKey().equals(self)) continue;
      total += Math.max(0, node.getValue());
      nodes++;
    }
    double mean = (double) total / nodes;
    double bound = mean * (1 + settings.margin());
    boolean anotherBelowMean = false;
    double excessAboveMean = 0;
    boolean anotherAboveBound = false;
    for (Map.Entry<String, Integer> node : connections.entrySet()) {
      if (node.getKey().equals(self)) continue;
      int count = Math.max(0, node.getValue());
      if (count < mean) anotherBelowMean = true;
      if (isOver(count, mean, bound, settings)) {
        anotherAboveBound = true;
        excessAboveMean += count - mean;
      }
    }
    // One more connection here would put this node above its bound while another has room. The
    // full bound, not less: counts reach a node up to a publish interval late, and a node that
    // refused at a lower mark turned away a benchmark's ordinary connects while they were arriving.
    boolean refuse = settings.steerNewConnections() && anotherBelowMean && isOver(own + 1, mean, bound, settings);
    if (!isOver(own, mean, bound, settings)) {
      return anotherAboveBound
          ? new Decision(State.RECEIVING, "another node holds more than its share", mean, 0, refuse)
          : new Decision(State.BALANCED, "every node within the bound", mean, 0, refuse);
    }
    double ownExcess = own - mean;
    double share = ownExcess / (ownExcess + excessAboveMean);
    int toMean = own - (int) Math.ceil(mean);
    int budget = (int) Math.floor(movesPerSecond * settings.interval().toMillis() / 1000.0 * share);
    // A tiny share still moves one per round: rounding it away would leave the node above forever.
    if (movesPerSecond > 0) budget = Math.max(1, budget);
    int moves = Math.max(0, Math.min(Math.min(toMean, budget), eligible));
    String reason =
        moves < Math.min(toMean, budget)
            ? "above the bound; connections are younger than min-connection-age or moving"
            : "above the bound by " + Math.round(ownExcess) + " connections";
    return new Decision(State.MOVING, reason, mean, moves, refuse);
  }

  /** More than {@code mean × (1 + margin)} and at least {@code min-excess} above the mean. */
  private static boolean isOver(int count, double mean, double bound, Settings settings) {
    return count > bound && count - mean >= settings.minExcess();
  }
}
