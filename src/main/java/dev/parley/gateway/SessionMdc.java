package dev.parley.gateway;

import java.util.function.BooleanSupplier;
import java.util.function.Function;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.BehaviorInterceptor;
import org.apache.pekko.actor.typed.TypedActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;

/**
 * The session's user (and the conversation a message is about) in the MDC while a session handles
 * a message, but only while the gateway's session lines are written: every line a session and its
 * subscriptions write is DEBUG.
 *
 * <p>Why not {@code Behaviors.withMdc}: it puts the MDC for every message a session handles
 * (each client frame, each answer, each delivery) and clears it afterwards, and Logback's MDC
 * allocates a new map for the first put after a clear. A profile of a node at 1,000 sends/s
 * (benchmarks.md, issue 18, 2026-12-03) found that map to be ~39 % of the bytes the node allocated,
 * for log lines that are off at the default level. The level is asked on every message, so a
 * level changed at run time takes effect at once.
 */
final class SessionMdc<T> extends BehaviorInterceptor<T, T> {

  /** The loggers of the lines a session writes while it handles a message. */
  private static final Logger SESSION_LOG = LoggerFactory.getLogger(Session.class);
  private static final Logger SUBSCRIPTIONS_LOG = LoggerFactory.getLogger(Subscriptions.class);

  /** Whether the lines written while a session handles a message are wanted at all. */
  static final BooleanSupplier SESSION_LINES_ON = () -> SESSION_LOG.isDebugEnabled() || SUBSCRIPTIONS_LOG.isDebugEnabled();

  private final String user;
  private final Function<T, String> conversationOf;
  private final BooleanSupplier enabled;

  private SessionMdc(Class<T> type, String user, Function<T, String> conversationOf, BooleanSupplier enabled) {
    super(type);
    this.user = user;
    this.conversationOf = conversationOf;
    this.enabled = enabled;
  }

  /**
   * @param conversationOf the conversation a message is about, or null
   * @param enabled whether to fill the MDC now (asked per message)
   */
  static <T> Behavior<T> wrap(Class<T> type, String user, Function<T, String> conversationOf, BooleanSupplier enabled, Behavior<T> behavior) {
    return Behaviors.intercept(() -> new SessionMdc<T>(type, user, conversationOf, enabled), behavior);
  }

  /** The session's start too: its setup writes the connection's first line ("connection opened"). */
  @Override
  public Behavior<T> aroundStart(TypedActorContext<T> ctx, BehaviorInterceptor.PreStartTarget<T> target) {
    if (!enabled.getAsBoolean()) return target.start(ctx);
    MDC.put("user", user);
    try {
      return target.start(ctx);
    } finally {
      MDC.remove("user");
    }
  }

  @Override
  public Behavior<T> aroundReceive(TypedActorContext<T> ctx, T msg, BehaviorInterceptor.ReceiveTarget<T> target) {
    if (!enabled.getAsBoolean()) return target.apply(ctx, msg);
    String conversation = conversationOf.apply(msg);
    MDC.put("user", user);
    if (conversation != null) MDC.put("conversation", conversation);
    try {
      return target.apply(ctx, msg);
    } finally {
      MDC.remove("user");
      if (conversation != null) MDC.remove("conversation");
    }
  }
}
