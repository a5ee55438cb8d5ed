package dev.parley.gateway;

import dev.parley.ErrorCode;
import dev.parley.cluster.NodeLifecycle;
import java.time.Duration;
import java.time.Instant;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;

/**
 * A connection's start and end as the node sees them. At the start the session is registered
 * wherever it must be found: the node's count of open connections, {@link ConnectedSessions} (read by
 * {@link ConnectedUsers} for inbox changes, revocations, writes resumed, drain notices; O(1)
 * whatever the user's number of conversations) and the {@link ConnectionRebalancer}: shared maps
 * written here, no message and no thread woken per connection; and the end of its token's validity is set. The token
 * ends the connection when it expires or is revoked, with an {@code unauthorized} error frame (the
 * client reconnects with a fresh token). When the session stops, for whatever reason, what it took is
 * released, the user's connection slot ({@link UserLimits}) included. Confined to the session's actor.
 */
final class ConnectionLifecycle {

  /** Timers beyond this are pointless (and Instant.MAX would overflow a Duration). */
  private static final Instant MAX_TOKEN_TIMER = Instant.parse("9999-01-01T00:00:00Z");

  private final ActorContext<Session.Command> ctx;
  private final String user;
  private final ConnectedSessions connectedSessions;
  private final ClientOutbound outbound;
  private final UserLimits userLimits;
  private final NodeLifecycle node;

  ConnectionLifecycle(
      ActorContext<Session.Command> ctx,
      TimerScheduler<Session.Command> timers,
      String user,
      Instant tokenValidUntil,
      ClientOutbound outbound,
      ConnectedSessions connectedSessions,
      UserLimits userLimits) {
    this.ctx = ctx;
    this.user = user;
    this.connectedSessions = connectedSessions;
    this.outbound = outbound;
    this.userLimits = userLimits;
    this.node = NodeLifecycle.get(ctx.getSystem());
    connectedSessions.add(user, ctx.getSelf());
    node.connectionOpened();
    ConnectionRebalancer.get(ctx.getSystem()).opened(ctx.getSelf());
    Duration left = Duration.between(Instant.now(), tokenValidUntil.isAfter(MAX_TOKEN_TIMER) ? MAX_TOKEN_TIMER : tokenValidUntil);
    timers.startSingleTimer(Session.TokenExpired.INSTANCE, left.isNegative() ? Duration.ZERO : left);
  }

  /** The token this connection was opened with has expired: say so, then close. */
  void onTokenExpired() {
    outbound.push(Frames.error(null, ErrorCode.UNAUTHORIZED, "token expired; reconnect with a fresh token"));
    outbound.close(ClientOutbound.CloseReason.TOKEN_EXPIRED);
  }

  /** The user's tokens were revoked (dev.parley.auth.Revocations): say so, then close. */
  void onRevoked() {
    outbound.push(Frames.error(null, ErrorCode.UNAUTHORIZED, "token revoked: sign in again"));
    outbound.close(ClientOutbound.CloseReason.TOKEN_REVOKED);
  }

  /**
   * The session stopped (PostStop: however it stopped). It leaves {@link ConnectedSessions} and the
   * {@link ConnectionRebalancer}'s sessions here, rather than being watched by them or telling them;
   * if it had been asked to move, the rebalancer's next round counts the move completed.
   */
  void stopped() {
    node.connectionClosed();
    userLimits.connectionClosed(user);
    connectedSessions.remove(user, ctx.getSelf());
    ConnectionRebalancer.get(ctx.getSystem()).closed(ctx.getSelf());
  }
}
