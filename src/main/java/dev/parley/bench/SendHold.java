package dev.parley.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * A connection's sends held back while a server's retry hint lasts (protocol.md, "Overload and
 * rate limits"): after a send is refused with {@code retryAfterMs}, the connection sends nothing
 * more (neither the refused send nor newer ones) until the hint, plus the client's own jitter, has
 * passed; then it sends what it holds one at a time, oldest first, each once the previous one is
 * answered, until it has caught up. A chat app's outbox does the same ("sending…", in order).
 *
 * <p>Why the whole connection, and why one at a time: a client that retries only the refused send
 * and keeps sending its newer ones makes an overloaded node refuse (parse, check, answer) every one
 * of them, and those refusals are work the node does instead of the sends it could accept; a
 * client that sends everything it held the moment the hint ends is refused again for all but the
 * first few. With this, a connection has at most one send in flight while it catches up, so the
 * backlog waits in the clients instead of in refusals. Measured on a cold node offered about twice
 * what it sustains for a minute (benchmarks.md, issue 18, target 8): 13 refused attempts per
 * acknowledged send before, 329 refusals in all after; the accepted sends' p99 0.42 s instead of
 * 2.1 s.
 *
 * <p>Thread-safe (sends come from the pacer, answers from the socket's listener, releases from a
 * timer). Frames are keyed by send index, so a send held twice (a refusal and an unanswered resend)
 * goes out once.
 */
final class SendHold {

  private enum State {
    /** Sends go out as they come. */
    OPEN,
    /** Nothing goes out before {@link #untilNanos}. */
    HOLDING,
    /** Only {@link #current} goes out; the rest waits for its answer, oldest first. */
    ONE_AT_A_TIME
  }

  private State state = State.OPEN;
  private long untilNanos;
  private long current;
  private final TreeMap<Long, String> held = new TreeMap<>();

  /** Whether {@code frame} may go out now; if not, it is kept (in send order) for later. */
  synchronized boolean admit(long sendIndex, String frame) {
    if (state == State.OPEN || (state == State.ONE_AT_A_TIME && sendIndex == current)) return true;
    held.put(sendIndex, frame);
    return false;
  }

  /**
   * A send was refused with a retry hint: holds every send until {@code untilNanos} at least (a
   * later hint extends the hold, an earlier one does not shorten it), keeping the refused send's
   * frame. Returns when the hold ends: the caller calls {@link #release} then.
   */
  synchronized long hold(long sendIndex, String frame, long untilNanos) {
    held.put(sendIndex, frame);
    if (state != State.HOLDING || untilNanos - this.untilNanos > 0) this.untilNanos = untilNanos;
    state = State.HOLDING;
    return this.untilNanos;
  }

  /** How long the hold still lasts (0 when it has passed or there is none). */
  synchronized long remainingNanos(long nowNanos) {
    return state == State.HOLDING ? Math.max(0, untilNanos - nowNanos) : 0;
  }

  /**
   * Once the hold's time has come, the send to try first (the oldest held one); empty while the hold
   * lasts or when nothing is held.
   */
  synchronized List<Map.Entry<Long, String>> release(long nowNanos) {
    if (state != State.HOLDING || nowNanos - untilNanos < 0) return List.of();
    return next();
  }

  /**
   * Ends any hold at once (the node said its writes work again) and returns every held send, oldest
   * first.
   */
  synchronized List<Map.Entry<Long, String>> releaseAll() {
    state = State.OPEN;
    return drain();
  }

  /**
   * A send was answered for good (acknowledged, or refused without retry): when it was the one in
   * flight after a hold, the next held one goes out (none left: sends go out as they come again).
   */
  synchronized List<Map.Entry<Long, String>> settled(long sendIndex) {
    held.remove(sendIndex);
    if (state != State.ONE_AT_A_TIME || sendIndex != current) return List.of();
    return next();
  }

  private List<Map.Entry<Long, String>> next() {
    if (held.isEmpty()) {
      state = State.OPEN;
      return List.of();
    }
    Map.Entry<Long, String> oldest = held.pollFirstEntry();
    state = State.ONE_AT_A_TIME;
    current = oldest.getKey();
    return List.of(oldest);
  }

  /** Sends held now. */
  synchronized int size() {
    return held.size();
  }

  private List<Map.Entry<Long, String>> drain() {
    List<Map.Entry<Long, String>> frames = new ArrayList<>(held.entrySet());
    held.clear();
    return frames;
  }
}
