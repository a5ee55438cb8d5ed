package dev.parley.presence;

import dev.parley.conversation.Conversation;
import dev.parley.presence.PresenceHub.Batch;
import dev.parley.presence.PresenceHub.RoomCounts;
import dev.parley.presence.PresenceHub.Watch;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.pekko.actor.typed.ActorRef;

/**
 * The interest part of a {@link PresenceHub}: the rooms (conversations) this node's connections
 * watch, each with its member set (loaded once, then kept current by the membership events the
 * connections receive) and its online and away counts, and the reverse index user → watched rooms.
 * A user's change costs a lookup in that index however many conversations the user is in: rooms
 * nobody watches cost nothing. Watchers are told through {@link PendingPresence}, at most one
 * {@link Batch} per connection per flush. Confined to the hub's actor.
 */
final class WatchedRooms {

  /** Asks for a page of a room's members (after {@code after}, null: from the start), as {@code asUser}. */
  interface MembersLoader {
    void load(String room, String asUser, String after);
  }

  private static final class Room {
    /** Null while loading. */
    Set<String> members;
    boolean loading;
    /** Members loaded so far, while the pages come. */
    List<String> loadedPages;
    final Map<ActorRef<Batch>, Watch> watchers = new HashMap<>();
    int online;
    int away;
  }

  private final Map<String, UserPresence> view;
  private final MembersLoader loader;
  private final Map<String, Room> rooms = new HashMap<>();
  private final Map<String, Set<String>> roomsOf = new HashMap<>();
  /** Each watching connection's watches, by room. */
  private final Map<ActorRef<Batch>, Map<String, Watch>> watchesOf = new HashMap<>();
  private final PendingPresence<ActorRef<Batch>> pending = new PendingPresence<>();

  /** {@code view}: the merged presence of every user, as the hub keeps it (read only here). */
  WatchedRooms(Map<String, UserPresence> view, MembersLoader loader) {
    this.view = view;
    this.loader = loader;
  }

  int size() {
    return rooms.size();
  }

  /** Replaces the connection's earlier watch of the room. */
  void watch(Watch watch) {
    watchesOf.computeIfAbsent(watch.connection(), c -> new HashMap<>()).put(watch.room(), watch);
    Room room = rooms.computeIfAbsent(watch.room(), r -> new Room());
    room.watchers.put(watch.connection(), watch);
    if (room.members != null) {
      announce(watch.room(), room, watch);
    } else if (!room.loading) {
      room.loading = true;
      room.loadedPages = new ArrayList<>();
      loader.load(watch.room(), watch.user(), null);
    }
  }

  /** What a new watcher is owed at once: the counts, or the state of the members it named. */
  private void announce(String roomId, Room room, Watch watch) {
    if (watch.countsOnly()) {
      pending.countsChanged(watch.connection(), roomId);
    } else if (watch.users() != null) {
      for (String user : watch.users()) if (room.members.contains(user)) pending.userChanged(watch.connection(), user);
    }
  }

  /** A page of a room's members, or the conversation's refusal: the room's watches end then. */
  void membersLoaded(String roomId, String asUser, Conversation.Reply reply) {
    Room room = rooms.get(roomId);
    if (room == null || room.members != null) return;
    if (!(reply instanceof Conversation.MembersPage page)) {
      // Refused or unavailable: the watch ends (the client sees no presence for the room and may watch again).
      for (ActorRef<Batch> connection : List.copyOf(room.watchers.keySet())) unwatch(connection, roomId);
      return;
    }
    room.loadedPages.addAll(page.members());
    if (page.more()) {
      loader.load(roomId, asUser, page.members().get(page.members().size() - 1));
      return;
    }
    room.members = new HashSet<>(room.loadedPages);
    room.loadedPages = null;
    room.loading = false;
    for (String user : room.members) {
      roomsOf.computeIfAbsent(user, u -> new HashSet<>()).add(roomId);
      count(room, of(user).status(), +1);
    }
    room.watchers.values().forEach(watch -> announce(roomId, room, watch));
  }

  void unwatch(ActorRef<Batch> connection, String roomId) {
    Map<String, Watch> watches = watchesOf.get(connection);
    if (watches != null && watches.remove(roomId) != null && watches.isEmpty()) watchesOf.remove(connection);
    pending.forgetRoom(connection, roomId);
    Room room = rooms.get(roomId);
    if (room == null) return;
    room.watchers.remove(connection);
    if (!room.watchers.isEmpty()) return;
    rooms.remove(roomId);
    if (room.members == null) return;
    for (String user : room.members) {
      Set<String> of = roomsOf.get(user);
      if (of != null && of.remove(roomId) && of.isEmpty()) roomsOf.remove(user);
    }
  }

  /** The connection closed: its watches end and nothing more is owed to it. */
  void disconnected(ActorRef<Batch> connection) {
    Map<String, Watch> watches = watchesOf.get(connection);
    if (watches != null) for (String room : List.copyOf(watches.keySet())) unwatch(connection, room);
    pending.forget(connection);
  }

  /** A member joined or left a watched room; who left sees the room's presence no more. */
  void membershipChanged(String roomId, String user, boolean joined) {
    Room room = rooms.get(roomId);
    if (room == null || room.members == null) return;
    PresenceEntry.Status status = of(user).status();
    if (joined) {
      if (!room.members.add(user)) return;
      roomsOf.computeIfAbsent(user, u -> new HashSet<>()).add(roomId);
      count(room, status, +1);
    } else {
      if (!room.members.remove(user)) return;
      Set<String> of = roomsOf.get(user);
      if (of != null && of.remove(roomId) && of.isEmpty()) roomsOf.remove(user);
      count(room, status, -1);
      for (Map.Entry<ActorRef<Batch>, Watch> watcher : List.copyOf(room.watchers.entrySet())) {
        if (watcher.getValue().user().equals(user)) unwatch(watcher.getKey(), roomId);
      }
    }
    room.watchers.forEach(
        (connection, watch) -> {
          if (watch.countsOnly()) pending.countsChanged(connection, roomId);
          else if (joined && (watch.users() == null || watch.users().contains(user))) pending.userChanged(connection, user);
        });
  }

  /** {@code user}'s merged presence went from {@code was} to {@code now}: the rooms watching it are owed it. */
  void presenceChanged(String user, UserPresence was, UserPresence now) {
    boolean countsChanged = was.status() != now.status();
    for (String roomId : roomsOf.getOrDefault(user, Set.of())) {
      Room room = rooms.get(roomId);
      if (room == null || room.members == null) continue;
      count(room, was.status(), -1);
      count(room, now.status(), +1);
      room.watchers.forEach(
          (connection, watch) -> {
            if (watch.countsOnly()) {
              if (countsChanged) pending.countsChanged(connection, roomId);
            } else if (watch.users() == null || watch.users().contains(user)) {
              pending.userChanged(connection, user);
            }
          });
    }
  }

  /** Sends each connection what it is owed, one {@link Batch} at most; returns how many were sent. */
  int flush(int maxUsersPerFrame) {
    int sent = 0;
    for (PendingPresence.Flush<ActorRef<Batch>> flush : pending.drain(maxUsersPerFrame)) {
      List<UserPresence> users = flush.users().stream().map(this::of).toList();
      List<RoomCounts> counts = new ArrayList<>(flush.countedRooms().size());
      for (String roomId : flush.countedRooms()) {
        Room room = rooms.get(roomId);
        if (room != null && room.members != null) counts.add(new RoomCounts(roomId, room.members.size(), room.online, room.away));
      }
      if (users.isEmpty() && counts.isEmpty()) continue;
      flush.connection().tell(new Batch(users, counts));
      sent++;
    }
    return sent;
  }

  private UserPresence of(String user) {
    UserPresence p = view.get(user);
    return p != null ? p : UserPresence.unknown(user);
  }

  private static void count(Room room, PresenceEntry.Status status, int delta) {
    if (status == PresenceEntry.Status.ONLINE) room.online += delta;
    else if (status == PresenceEntry.Status.AWAY) room.away += delta;
  }
}
