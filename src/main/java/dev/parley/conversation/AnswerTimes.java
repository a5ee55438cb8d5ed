package dev.parley.conversation;

import java.time.Duration;

/**
 * How long this node's conversations take to answer, smoothed the way TCP estimates a round trip
 * (RFC 6298: {@code srtt} and {@code rttvar} with gains 1/8 and 1/4), and from it how long a
 * {@link ResendingAsk} waits before its first resend: {@code srtt + 4 rttvar}, never less than
 * {@code resend-after} and never more than {@code resend-max-interval}.
 *
 * <p>Why: a resend is meant for a command that was lost (dropped from a shard's buffer during a
 * handoff), not for one that waits its turn. With a fixed 300 ms, a node whose answers take 500 ms
 * because it is busy resent nearly every send once or twice: each resend is another ask, another
 * trip through sharding and another decision in the conversation, more work exactly when there is
 * none to spare (issue 18, target 8). The cap keeps the bound issue 23 needs after a node is
 * killed: no wait between attempts longer than {@code resend-max-interval}.
 *
 * <p>Thread-safe (answers complete on many threads); one instance per node.
 */
final class AnswerTimes {

  private final long minNanos;
  private final long maxNanos;
  private boolean measured;
  private double srttNanos;
  private double rttvarNanos;

  AnswerTimes(Duration resendAfter, Duration resendMaxInterval) {
    this.minNanos = resendAfter.toNanos();
    this.maxNanos = Math.max(minNanos, resendMaxInterval.toNanos());
  }

  /** A command was answered {@code nanos} after it was first sent. */
  synchronized void answered(long nanos) {
    if (!measured) {
      measured = true;
      srttNanos = nanos;
      rttvarNanos = nanos / 2.0;
      return;
    }
    rttvarNanos = 0.75 * rttvarNanos + 0.25 * Math.abs(srttNanos - nanos);
    srttNanos = 0.875 * srttNanos + 0.125 * nanos;
  }

  /** How long to wait for an answer before the first resend. */
  synchronized Duration resendAfter() {
    // resend-after 0 means: never resend (ResendingAsk); an estimate must not switch resends on.
    if (!measured || minNanos == 0) return Duration.ofNanos(minNanos);
    long timeout = (long) (srttNanos + 4 * rttvarNanos);
    return Duration.ofNanos(Math.max(minNanos, Math.min(maxNanos, timeout)));
  }
}
