package dev.parley.gateway;

import java.time.Duration;
import java.util.concurrent.ThreadLocalRandom;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;

/**
 * The {@code writes_resumed} hint of one connection: a client that was answered
 * {@code unavailable} (the node's storage breaker open) hears that writes work again, at its own
 * random moment of {@code resume-spread}, so the outage's backlog of retries comes back as a ramp.
 * At most once and only a hint; clients that got no refusal are not disturbed. Confined to the
 * session's actor.
 */
final class WritesResumedHint {

  private final ClientOutbound outbound;
  private final TimerScheduler<Session.Command> timers;
  private final Duration spread;
  /** A request was answered {@code unavailable} since the last accepted one. */
  private boolean toldUnavailable;

  WritesResumedHint(ClientOutbound outbound, TimerScheduler<Session.Command> timers, Duration spread) {
    this.outbound = outbound;
    this.timers = timers;
    this.spread = spread;
  }

  void refused() {
    toldUnavailable = true;
  }

  void accepted() {
    toldUnavailable = false;
  }

  /** The node's storage breaker closed ({@link Session.WritesResumed}). */
  void onWritesResumed() {
    if (!toldUnavailable || outbound.isClosing()) return;
    long spreadMs = spread.toMillis();
    if (spreadMs <= 0) {
      onMomentCome();
      return;
    }
    timers.startSingleTimer(Session.TellWritesResumed.INSTANCE, Duration.ofMillis(ThreadLocalRandom.current().nextLong(spreadMs)));
  }

  /** This connection's moment of the spread ({@link Session.TellWritesResumed}): tell the client, if it still waits. */
  void onMomentCome() {
    if (toldUnavailable && !outbound.isClosing()) {
      toldUnavailable = false;
      outbound.push(Frames.writesResumed());
    }
  }
}
