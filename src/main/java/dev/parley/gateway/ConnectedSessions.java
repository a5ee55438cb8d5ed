package dev.parley.gateway;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;
import org.apache.pekko.actor.typed.ActorRef;

/**
 * This node's sessions by user, written by each session itself when it starts and when it stops
 * ({@link ConnectionLifecycle}), read by {@link ConnectedUsers} when it hands something to a user's
 * sessions (an inbox change, a revocation, a drain, writes resumed).
 *
 * <p>Why not messages to {@link ConnectedUsers}: a {@code Connected} and a {@code Disconnected} per
 * connection each woke that actor's thread for one map update, two of a connection's ~6 thread
 * wake-ups (benchmarks.md, issue 19, 2026-12-06). A user's sessions are an immutable list replaced
 * on every change, so a reader iterates a snapshot while sessions come and go; a user has a few
 * devices, so the copy is a few references.
 */
public final class ConnectedSessions {

  private final ConcurrentHashMap<String, List<ActorRef<Session.Command>>> byUser = new ConcurrentHashMap<>();

  void add(String user, ActorRef<Session.Command> session) {
    byUser.merge(user, List.of(session), (sessions, added) -> {
      List<ActorRef<Session.Command>> more = new ArrayList<>(sessions.size() + 1);
      more.addAll(sessions);
      more.add(session);
      return List.copyOf(more);
    });
  }

  void remove(String user, ActorRef<Session.Command> session) {
    byUser.computeIfPresent(user, (u, sessions) -> {
      if (!sessions.contains(session)) return sessions;
      if (sessions.size() == 1) return null;
      List<ActorRef<Session.Command>> fewer = new ArrayList<>(sessions);
      fewer.remove(session);
      return List.copyOf(fewer);
    });
  }

  /** The user's sessions on this node now (empty when none). */
  List<ActorRef<Session.Command>> of(String user) {
    return byUser.getOrDefault(user, List.of());
  }

  void forEach(Consumer<ActorRef<Session.Command>> action) {
    byUser.values().forEach(sessions -> sessions.forEach(action));
  }

  boolean isEmpty() {
    return byUser.isEmpty();
  }

  /** Users with at least one session on this node (tests). */
  int users() {
    return byUser.size();
  }
}
