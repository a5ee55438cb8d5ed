package dev.parley.gateway;

import dev.parley.ErrorCode;
import dev.parley.cluster.AdmissionControl;
import java.util.OptionalLong;

/**
 * The limits of {@code parley.limits} as one connection applies them: its own write and typing
 * rates, its number of subscriptions, and the user's conversation creations (per node, in
 * {@link UserLimits}). Confined to the session's actor.
 */
final class ConnectionLimits {

  private final Session session;
  private final String user;
  private final UserLimits userLimits;
  private final AbuseLimits limits;
  private final Subscriptions subscriptions;
  /**
   * Per connection: send, edit and delete frames; typing frames. Made at the connection's first
   * such frame: a token bucket holds ~0.4 KB, and most connections are idle most of their life
   * (benchmarks.md, issue 19). A new bucket is full, as it would be after any idle stretch.
   */
  private AdmissionControl writes;
  private AdmissionControl typing;

  ConnectionLimits(Session session, String user, UserLimits userLimits, Subscriptions subscriptions) {
    this.session = session;
    this.user = user;
    this.userLimits = userLimits;
    this.limits = userLimits.limits();
    this.subscriptions = subscriptions;
  }

  /**
   * The per-connection and per-user limits of {@code parley.limits}: a frame over one is answered
   * with an error and not processed; the connection stays open.
   */
  boolean overLimit(ClientFrame frame) {
    if (frame instanceof ClientFrame.Send || frame instanceof ClientFrame.Edit || frame instanceof ClientFrame.Delete) {
      if (writes == null) writes = new AdmissionControl(new AdmissionControl.Settings(limits.sendsPerSecond(), limits.sendsBurst()));
      return refusedBy(writes.tryAdmit(), frame, "too many messages on this connection, slow down");
    }
    if (frame instanceof ClientFrame.Typing) {
      if (typing == null) typing = new AdmissionControl(new AdmissionControl.Settings(limits.typingPerSecond(), limits.typingBurst()));
      return refusedBy(typing.tryAdmit(), frame, "too many typing notifications on this connection");
    }
    if (frame instanceof ClientFrame.Create) {
      return refusedBy(userLimits.tryCreateConversation(user), frame, "too many conversations created, retry later");
    }
    if (frame instanceof ClientFrame.Subscribe subscribe) {
      int max = limits.subscriptionsPerConnection();
      if (max > 0 && subscriptions.count() >= max && !subscriptions.has(subscribe.conversation())) {
        session.push(
            Frames.error(frame.id(), ErrorCode.TOO_LARGE, "at most " + max + " subscriptions per connection; unsubscribe first")
                .put("conversation", subscribe.conversation()));
        return true;
      }
    }
    return false;
  }

  private boolean refusedBy(OptionalLong retryAfterMs, ClientFrame frame, String message) {
    if (retryAfterMs.isEmpty()) return false;
    session.push(Frames.error(frame.id(), ErrorCode.RATE_LIMITED, message).put("retryAfterMs", retryAfterMs.getAsLong()));
    return true;
  }
}
