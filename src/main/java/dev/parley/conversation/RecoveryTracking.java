package dev.parley.conversation;

import dev.parley.cluster.NodeLifecycle;
import dev.parley.ops.Metrics;
import org.apache.pekko.actor.typed.ActorSystem;

/**
 * One entity's part in the node's recovery bookkeeping: counted as recovering (NodeLifecycle, the
 * herd a restart causes, measured) from construction, since recovery starts right after, until it
 * completes, fails or the entity stops, whichever comes first; a completed recovery's duration goes
 * to the histogram parley_conversation_recovery_seconds.
 */
final class RecoveryTracking {

  private final NodeLifecycle lifecycle;
  private final long startedNanos = System.nanoTime();
  private boolean recovering = true;

  RecoveryTracking(ActorSystem<?> system) {
    this.lifecycle = NodeLifecycle.get(system);
    lifecycle.recoveryStarted();
  }

  void completed(Metrics metrics) {
    if (recovering) metrics.recovered(startedNanos);
    ended();
  }

  /** Failed, or stopped before it completed (idempotent). */
  void ended() {
    if (recovering) {
      recovering = false;
      lifecycle.recoveryEnded();
    }
  }
}
