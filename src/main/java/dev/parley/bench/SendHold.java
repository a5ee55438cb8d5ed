package dev.parley.bench;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * A connection's sends on the wire kept to a window that grows while the node answers quickly, and
 * held back altogether while a server's retry hint lasts (protocol.md, "Overload and rate limits"):
 *
 * <ol>
 *   <li>At most {@code window} sends are unanswered at a time; the others wait in the client,
 *       oldest first. A connection starts with a window of one.
 *   <li>Each send acknowledged promptly widens the window by one, so it doubles every round trip
 *       while the node keeps up (TCP's slow start). Promptly: at most {@link Rule#promptNanos}
 *       slower than the quickest answer the connection has had (a long link's round trip alone must
 *       not keep its window at one). An answer more than {@link Rule#slowNanos} slower than the
 *       quickest halves the window, once per round trip (only an answer to a send that went out
 *       after the last cut cuts again); one in between leaves it as it is. It never exceeds
 *       {@link Rule#maxWindow}, the requests a node processes at once per connection
 *       ({@code parley.gateway.max-in-flight}): sends beyond that would only wait in the sockets.
 *   <li>A send refused with {@code retryAfterMs}: the connection sends nothing more (neither the
 *       refused send nor newer ones) until the hint, plus the client's own jitter, has passed, and
 *       the window is halved (once per hold, however many of the sends in flight the node refuses).
 * </ol>
 *
 * <p>Why: a client that keeps sending while its sends are refused makes an overloaded node refuse
 * (parse, check, answer) every one of them, work it does instead of the sends it could accept
 * (issue 18, 2026-12-04: 13 refused attempts per acknowledged send). The earlier rule let the held
 * sends out one at a time until the connection had caught up, which under a sustained overload is
 * never: an overloaded node was left with ~200 sends in flight from 200 connections, one event per
 * journal write, ~6,800 acknowledged sends/s where it acknowledges 10,000/s when the sends keep
 * coming (benchmarks.md, issue 18, 2026-12-06 fifth session). And a connection that sends freely
 * once it has caught up puts on the wire, under twice that load, more than the node reads: those
 * sends waited 1.6-4.5 s (p99) in the sockets before the node saw them (2026-12-06 sixth session).
 * The window gives the node the sends in flight it batches, as fast as its answers say it keeps up,
 * and keeps the rest in the client. The node's admission refuses what would wait longer than its
 * {@code max-send-wait}, but it counts only the sends it has read: windows that all grew to 32
 * while the answers were quick kept 6,400 sends on the wire, and the accepted ones waited 1.2-1.7 s
 * (p99) with hardly a refusal (2026-12-06 sixth session); slow answers halving the window keep that
 * wait near the node's own.
 *
 * <p>Thread-safe (sends come from the pacer, answers from the socket's listener, releases from a
 * timer). Frames are keyed by send index, so a send held twice (a refusal and an unanswered resend)
 * goes out once.
 */
final class SendHold {

  /**
   * @param maxWindow the most sends in flight the window allows (a node processes at most
   *     {@code parley.gateway.max-in-flight}, 32, requests of a connection at once)
   * @param promptNanos an acknowledgement at most this much slower than the connection's quickest
   *     widens the window; half the wait past which a node refuses sends
   *     ({@code parley.conversation.max-send-wait}, 500 ms), so the windows stop growing before the
   *     node has to refuse
   * @param slowNanos an acknowledgement more than this much slower than the quickest halves the
   *     window: the wait a node allows an accepted send; longer, and the sends wait in front of it
   */
  record Rule(int maxWindow, long promptNanos, long slowNanos) {
    static final Rule PROTOCOL = new Rule(32, 250_000_000L, 500_000_000L);

    Rule {
      if (maxWindow < 1) throw new IllegalArgumentException("maxWindow must be at least 1: " + maxWindow);
    }
  }

  private final Rule rule;
  /** Whether a retry hint holds every send until {@link #untilNanos}. */
  private boolean holding;
  private long untilNanos;
  private int window = 1;
  private long quickestAnswerNanos = Long.MAX_VALUE;
  /** When a slow answer last halved the window; answers to sends sent before it do not halve it again. */
  private long cutNanos;
  private boolean cut;
  private final TreeMap<Long, String> held = new TreeMap<>();
  /** The sends on the wire and not yet answered, with when each went out. */
  private final Map<Long, Long> inFlight = new HashMap<>();

  SendHold() {
    this(Rule.PROTOCOL);
  }

  SendHold(Rule rule) {
    this.rule = rule;
  }

  /** Whether {@code frame} may go out now; if not, it is kept (in send order) for later. */
  synchronized boolean admit(long sendIndex, String frame, long nowNanos) {
    if (!holding) {
      // The send in flight may be sent again (an unanswered resend, a new socket).
      if (inFlight.containsKey(sendIndex)) return true;
      if (held.isEmpty() && inFlight.size() < window) {
        inFlight.put(sendIndex, nowNanos);
        return true;
      }
    }
    held.put(sendIndex, frame);
    return false;
  }

  /**
   * A send was refused with a retry hint: holds every send until {@code untilNanos} at least (a
   * later hint extends the hold, an earlier one does not shorten it), keeping the refused send's
   * frame, and halves the window once per hold. Returns when the hold ends: the caller calls
   * {@link #release} then.
   */
  synchronized long hold(long sendIndex, String frame, long untilNanos) {
    held.put(sendIndex, frame);
    inFlight.remove(sendIndex);
    if (!holding) window = Math.max(1, window / 2);
    if (!holding || untilNanos - this.untilNanos > 0) this.untilNanos = untilNanos;
    holding = true;
    return this.untilNanos;
  }

  /** How long the hold still lasts (0 when it has passed or there is none). */
  synchronized long remainingNanos(long nowNanos) {
    return holding ? Math.max(0, untilNanos - nowNanos) : 0;
  }

  /**
   * Once the hold's time has come, the sends to try first (the oldest held ones, as many as the
   * window has room for); empty while the hold lasts or when nothing is held.
   */
  synchronized List<Map.Entry<Long, String>> release(long nowNanos) {
    if (!holding || nowNanos - untilNanos < 0) return List.of();
    holding = false;
    return fill(nowNanos);
  }

  /**
   * Ends any hold at once (the node said its writes work again) and returns the held sends the
   * window has room for, oldest first.
   */
  synchronized List<Map.Entry<Long, String>> releaseAll(long nowNanos) {
    holding = false;
    return fill(nowNanos);
  }

  /**
   * A send was answered for good (acknowledged, or refused without retry) at {@code nowNanos}: a
   * prompt answer widens the window, a slow one halves it, and the held sends it has room for go
   * out now.
   */
  synchronized List<Map.Entry<Long, String>> settled(long sendIndex, long nowNanos) {
    held.remove(sendIndex);
    Long sentNanos = inFlight.remove(sendIndex);
    if (sentNanos != null) {
      long answerNanos = nowNanos - sentNanos;
      quickestAnswerNanos = Math.min(quickestAnswerNanos, answerNanos);
      long slower = answerNanos - quickestAnswerNanos;
      if (slower > rule.slowNanos()) {
        if (!cut || sentNanos - cutNanos > 0) {
          window = Math.max(1, window / 2);
          cutNanos = nowNanos;
          cut = true;
        }
      } else if (!holding && slower <= rule.promptNanos()) {
        window = Math.min(rule.maxWindow(), window + 1);
      }
    }
    return holding ? List.of() : fill(nowNanos);
  }

  /** The oldest held sends the window has room for, now in flight. */
  private List<Map.Entry<Long, String>> fill(long nowNanos) {
    if (held.isEmpty() || inFlight.size() >= window) return List.of();
    List<Map.Entry<Long, String>> out = new ArrayList<>();
    while (inFlight.size() < window && !held.isEmpty()) {
      Map.Entry<Long, String> oldest = held.pollFirstEntry();
      inFlight.put(oldest.getKey(), nowNanos);
      out.add(oldest);
    }
    return out;
  }

  /** Sends held now. */
  synchronized int size() {
    return held.size();
  }

  /** How many sends may be in flight. */
  synchronized int window() {
    return window;
  }

  /** Sends in flight. */
  synchronized int inFlight() {
    return inFlight.size();
  }

  /** Whether the send is held (not on the wire): nothing to resend. */
  synchronized boolean holds(long sendIndex) {
    return held.containsKey(sendIndex);
  }
}
