package dev.parley.gateway;

import dev.parley.cluster.Drain;
import dev.parley.ops.Metrics;
import java.time.Duration;
import java.util.concurrent.ThreadLocalRandom;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;

/**
 * One connection's part in a drain ({@link Drain}): its reconnect hint at its own moment of the
 * window, the handover during which it keeps working, then its close once the requests in flight
 * are answered. Confined to the session's actor.
 */
final class ConnectionDrain {

  private final Session session;
  private final TimerScheduler<Session.Command> timers;
  private final Metrics metrics;
  /** The node is draining and this connection's turn to close has come. */
  private boolean closingForDrain;
  /** The client was told to reconnect (the node is draining); the connection still works until it closes. */
  private boolean reconnectHinted;
  /** How long the connection keeps working after its reconnect hint (Drain.DrainConnections#handover). */
  private Duration drainHandover = Duration.ZERO;
  /** The hint is a rebalancing move (ConnectionRebalancer), not a drain: said in the frame's reason. */
  private boolean moving;
  private boolean draining;
  /** The reconnect frame's reason in a drain: the node leaves, or the cluster has downed it. */
  private String drainReason = Drain.DrainConnections.DRAIN;

  ConnectionDrain(Session session, TimerScheduler<Session.Command> timers, Metrics metrics) {
    this.session = session;
    this.timers = timers;
    this.metrics = metrics;
  }

  /** The connection takes no more client frames: it closes once those in flight are answered. */
  boolean isClosing() {
    return closingForDrain;
  }

  /**
   * This connection is told to reconnect at its own random moment of the window, so reconnects form
   * a ramp, and keeps working for the handover after that, so its client can open the new
   * connection before this one closes (make before break).
   */
  void onDrainRequested(Drain.DrainConnections drain) {
    // A drain overrides a pending move: its timer below replaces the move's.
    draining = true;
    moving = false;
    drainHandover = drain.handover();
    drainReason = drain.reason();
    long spreadMs = Math.max(1, drain.hintSpread().toMillis());
    timers.startSingleTimer(Session.HintReconnect.INSTANCE, Duration.ofMillis(ThreadLocalRandom.current().nextLong(spreadMs)));
  }

  /**
   * Rebalancing asks this connection to move: the same hint, handover and close as in a drain, at
   * {@code hintIn}. False (it stays) when it is mid-resume, closing, draining or already told.
   */
  boolean onMoveRequested(Duration hintIn, Duration handover, boolean resuming) {
    if (resuming || draining || moving || reconnectHinted || closingForDrain || session.isClosing()) return false;
    moving = true;
    drainHandover = handover;
    timers.startSingleTimer(Session.HintReconnect.INSTANCE, hintIn);
    return true;
  }

  void onHintReconnect() {
    if (drainHandover.isZero()) {
      onCloseForDrain();
      return;
    }
    hintReconnect(drainHandover.toMillis());
    timers.startSingleTimer(Session.CloseForDrain.INSTANCE, drainHandover);
  }

  /**
   * Stop reading requests; once those in flight are answered, close (after a reconnect hint, unless
   * the client already has one). The second firing of the timer is the deadline: requests still
   * unanswered 2 s later are left to the client's retry (same clientMsgId: no loss, no duplicate).
   */
  void onCloseForDrain() {
    if (closingForDrain) {
      closeWithReconnectHint();
    } else {
      closingForDrain = true;
      if (session.inFlight() == 0) closeWithReconnectHint();
      else timers.startSingleTimer(Session.CloseForDrain.INSTANCE, Duration.ofSeconds(2));
    }
  }

  /**
   * {@code afterMs}: the hints are already spread over the window; a little jitter on top breaks up
   * clients that act on the same tick. {@code closeInMs}: how long this connection goes on working.
   */
  private void hintReconnect(long closeInMs) {
    if (reconnectHinted || session.isClosing()) return;
    reconnectHinted = true;
    if (!moving) metrics.connectionDrained();
    // With a handover the client has closeInMs to move; the jitter only breaks up ties.
    long jitterMs = closeInMs == 0 ? 1000 : Math.min(1000, closeInMs / 10);
    session.push(Frames.reconnect(ThreadLocalRandom.current().nextLong(jitterMs + 1), closeInMs, moving ? "rebalance" : drainReason));
  }

  void closeWithReconnectHint() {
    if (session.isClosing()) return;
    hintReconnect(0);
    session.completeOutbound();
  }
}
