package dev.parley.presence;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * What each watching connection has not been told yet, coalesced: a user who changes ten times
 * between two flushes is one entry (the flush reads the latest state), a room whose counts change
 * a hundred times is one. {@link #drain} runs once per batch interval and yields at most one flush
 * per connection, with at most {@code maxUsers} users; the rest wait for the next interval. So a
 * connection gets at most one presence frame per interval, whatever the churn in its rooms.
 * Not thread-safe: confined to the {@link PresenceHub} actor.
 *
 * @param <K> what identifies a connection
 */
public final class PendingPresence<K> {

  /** One connection's frame: the users whose presence changed, the rooms whose counts changed. */
  public record Flush<K>(K connection, List<String> users, List<String> countedRooms) {}

  private static final class Pending {
    final LinkedHashSet<String> users = new LinkedHashSet<>();
    final LinkedHashSet<String> rooms = new LinkedHashSet<>();
  }

  private final Map<K, Pending> pending = new LinkedHashMap<>();

  public void userChanged(K connection, String user) {
    pending.computeIfAbsent(connection, k -> new Pending()).users.add(user);
  }

  public void countsChanged(K connection, String room) {
    pending.computeIfAbsent(connection, k -> new Pending()).rooms.add(room);
  }

  /** The connection is gone or stopped watching everything: nothing more is owed to it. */
  public void forget(K connection) {
    pending.remove(connection);
  }

  /** The connection stopped watching {@code room}; users it still owes stay (they may be shared with other rooms). */
  public void forgetRoom(K connection, String room) {
    Pending p = pending.get(connection);
    if (p != null) p.rooms.remove(room);
  }

  public int connections() {
    return pending.size();
  }

  /** One flush per connection with something pending, oldest changes first, users capped at {@code maxUsers}. */
  public List<Flush<K>> drain(int maxUsers) {
    List<Flush<K>> flushes = new ArrayList<>(pending.size());
    Iterator<Map.Entry<K, Pending>> it = pending.entrySet().iterator();
    while (it.hasNext()) {
      Map.Entry<K, Pending> e = it.next();
      Pending p = e.getValue();
      List<String> users = new ArrayList<>(Math.min(maxUsers, p.users.size()));
      Iterator<String> u = p.users.iterator();
      while (u.hasNext() && users.size() < maxUsers) {
        users.add(u.next());
        u.remove();
      }
      List<String> rooms = List.copyOf(p.rooms);
      p.rooms.clear();
      if (p.users.isEmpty()) it.remove();
      if (!users.isEmpty() || !rooms.isEmpty()) flushes.add(new Flush<>(e.getKey(), users, rooms));
    }
    return flushes;
  }

  /** For tests: the users still owed to {@code connection}. */
  Set<String> owed(K connection) {
    Pending p = pending.get(connection);
    return p == null ? Set.of() : Set.copyOf(p.users);
  }
}
