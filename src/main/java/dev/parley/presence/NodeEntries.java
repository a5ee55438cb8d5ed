package dev.parley.presence;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.pekko.cluster.UniqueAddress;

/**
 * The cluster half of a node's presence: what every node said about its users, which of those
 * nodes count, and the view merged from the counted ones ({@link PresenceEntry#merge}). The
 * {@link PresenceHub} decides what to apply (batches in order, snapshots, membership events) and
 * feeds it here; every change of a user's merged presence goes to the {@link Listener}.
 *
 * <p>A member is counted while it is a member and reachable (within the hub's grace). A member
 * that stops counting takes its users offline (lastSeen: that moment) unless another node has
 * them; a removed member's entries are forgotten and its late words ignored ({@link #isRemoved}).
 * Not thread-safe: confined to the hub.
 */
final class NodeEntries {

  /** Told every change of a user's merged presence. */
  interface Listener {
    void changed(String user, UserPresence was, UserPresence now);
  }

  private static final class MemberNode {
    final UniqueAddress address;
    boolean counted = true;

    MemberNode(UniqueAddress address) {
      this.address = address;
    }
  }

  private final String selfNode;
  /** The merged view, shared with the connections' readers ({@link Presence#of}). */
  private final Map<String, UserPresence> view;
  private final Listener listener;

  /** Members by node id ({@link PresenceSync#nodeId}); a node's entries count while it is here and counted. */
  private final Map<String, MemberNode> nodes = new HashMap<>();
  /** What every node says about a user: user → node id → entry (whether the node counts or not). */
  private final Map<String, Map<String, PresenceEntry>> entriesOf = new HashMap<>();
  /** The users each node has entries for: node id → users. */
  private final Map<String, Set<String>> usersOf = new HashMap<>();
  /** Removed members (node id → when): their entries are forgotten, their late batches ignored. */
  private final Map<String, Long> removedNodes = new HashMap<>();
  /** Nodes with entries but no membership at the last sweep: forgotten at the next one if still unknown. */
  private Set<String> unknownAtLastSweep = Set.of();
  /** Users who were online on a node that stopped counting: offline since then. */
  private final Map<String, Long> lostAt = new HashMap<>();

  NodeEntries(String selfNode, Map<String, UserPresence> view, Listener listener) {
    this.selfNode = selfNode;
    this.view = view;
    this.listener = listener;
  }

  /** A member seen Up (or joining): its entries count from now on, unless it was removed before. */
  void follow(UniqueAddress member) {
    String node = PresenceSync.nodeId(member);
    if (nodes.containsKey(node) || removedNodes.containsKey(node)) return;
    nodes.put(node, new MemberNode(member));
    usersOf.getOrDefault(node, Set.of()).forEach(this::recompute);
  }

  boolean isRemoved(String node) {
    return removedNodes.containsKey(node);
  }

  /** A node's numbered batch ({@code null} entry: the node forgot the user). */
  void apply(String node, List<PresenceSync.Entry> entries) {
    Set<String> changedUsers = new HashSet<>();
    for (PresenceSync.Entry e : entries) changedUsers.add(record(node, e.user(), e.entry()));
    changedUsers.forEach(this::recompute);
  }

  /** A node's whole snapshot: it replaces everything the node said before. */
  void replace(String node, Map<String, PresenceEntry> snapshot) {
    Set<String> changedUsers = new HashSet<>();
    for (String user : List.copyOf(usersOf.getOrDefault(node, Set.of()))) {
      if (!snapshot.containsKey(user)) changedUsers.add(record(node, user, null));
    }
    snapshot.forEach(
        (user, entry) -> {
          if (!entry.equals(entriesOf.getOrDefault(user, Map.of()).get(node))) changedUsers.add(record(node, user, entry));
        });
    changedUsers.forEach(this::recompute);
  }

  /** What each node (by node id) says about {@code user}. */
  Map<String, PresenceEntry> entriesOf(String user) {
    return Map.copyOf(entriesOf.getOrDefault(user, Map.of()));
  }

  /** Whether {@code node} is a member this hub follows (reachability events of others are ignored). */
  boolean isMember(String node) {
    return nodes.containsKey(node);
  }

  /** Whether {@code node} is a member whose entries count now. */
  boolean isCounted(String node) {
    MemberNode member = nodes.get(node);
    return member != null && member.counted;
  }

  /** The member's address, for the log; null when it is not a member. */
  UniqueAddress addressOf(String node) {
    MemberNode member = nodes.get(node);
    return member == null ? null : member.address;
  }

  /** The node is down, or unreachable past the grace: its users are offline from now on, unless another node has them. */
  void stopCounting(String node) {
    MemberNode member = nodes.get(node);
    if (member == null || !member.counted) return;
    member.counted = false;
    long now = System.currentTimeMillis();
    Set<String> users = Set.copyOf(usersOf.getOrDefault(node, Set.of()));
    for (String user : users) {
      PresenceEntry e = entriesOf.getOrDefault(user, Map.of()).get(node);
      if (e != null && e.status() != PresenceEntry.Status.OFFLINE) lostAt.put(user, now);
    }
    users.forEach(this::recompute);
  }

  /** The node is reachable again: what it says counts again. */
  void countAgain(String node) {
    MemberNode member = nodes.get(node);
    if (member == null || member.counted) return;
    member.counted = true;
    usersOf.getOrDefault(node, Set.of()).forEach(this::recompute);
  }

  /** The member was removed: it stops counting, everything it said goes, and its late words are ignored. */
  void removed(String node) {
    stopCounting(node);
    nodes.remove(node);
    removedNodes.put(node, System.currentTimeMillis());
    forget(node);
  }

  /**
   * Offline entries of users lost with a node expire at {@code oldest}, and so do the records of
   * removed members; the entries of nodes that were not members at this sweep nor at the previous
   * one (a node removed before this one joined) are forgotten. Returns the nodes forgotten.
   */
  List<String> sweep(long oldest) {
    List<String> lost = lostAt.entrySet().stream().filter(e -> e.getValue() < oldest).map(Map.Entry::getKey).toList();
    lost.forEach(lostAt::remove);
    lost.forEach(this::recompute);
    removedNodes.values().removeIf(at -> at < oldest);
    Set<String> unknown = new HashSet<>(usersOf.keySet());
    unknown.remove(selfNode);
    unknown.removeAll(nodes.keySet());
    List<String> forgotten = new ArrayList<>();
    for (String node : unknown) {
      if (unknownAtLastSweep.contains(node) || removedNodes.containsKey(node)) {
        forget(node);
        forgotten.add(node);
      }
    }
    unknownAtLastSweep = unknown;
    return forgotten;
  }

  /** Everything a node said goes: its users are recomputed without it. */
  private void forget(String node) {
    for (String user : List.copyOf(usersOf.getOrDefault(node, Set.of()))) recompute(record(node, user, null));
  }

  /** Records one node's entry for a user ({@code null}: the node forgot the user); returns the user. */
  private String record(String node, String user, PresenceEntry entry) {
    if (entry == null) {
      Map<String, PresenceEntry> ofUser = entriesOf.get(user);
      if (ofUser != null && ofUser.remove(node) != null && ofUser.isEmpty()) entriesOf.remove(user);
      Set<String> users = usersOf.get(node);
      if (users != null && users.remove(user) && users.isEmpty()) usersOf.remove(node);
    } else {
      entriesOf.computeIfAbsent(user, u -> new HashMap<>(2)).put(node, entry);
      usersOf.computeIfAbsent(node, n -> new HashSet<>()).add(user);
    }
    return user;
  }

  /** Merges what the counted nodes say about {@code user}; tells the listener when it changed. */
  private void recompute(String user) {
    List<PresenceEntry> entries = new ArrayList<>(2);
    for (Map.Entry<String, PresenceEntry> e : entriesOf.getOrDefault(user, Map.of()).entrySet()) {
      MemberNode node = nodes.get(e.getKey());
      if (node != null && node.counted) entries.add(e.getValue());
    }
    Long lost = lostAt.get(user);
    if (lost != null) entries.add(new PresenceEntry(PresenceEntry.Status.OFFLINE, lost));
    UserPresence before = view.get(user);
    UserPresence after = PresenceEntry.merge(user, entries);
    if (entries.isEmpty()) view.remove(user);
    else view.put(user, after);
    UserPresence was = before != null ? before : UserPresence.unknown(user);
    if (!after.sameAs(was)) listener.changed(user, was, after);
  }
}
