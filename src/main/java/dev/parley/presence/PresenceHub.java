package dev.parley.presence;

import dev.parley.conversation.Conversation;
import dev.parley.conversation.Conversations;
import dev.parley.ops.Metrics;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import org.apache.pekko.cluster.ClusterEvent;
import org.apache.pekko.cluster.Member;
import org.apache.pekko.cluster.UniqueAddress;
import org.apache.pekko.cluster.ddata.LWWMap;
import org.apache.pekko.cluster.ddata.SelfUniqueAddress;
import org.apache.pekko.cluster.ddata.typed.javadsl.DistributedData;
import org.apache.pekko.cluster.ddata.typed.javadsl.Replicator;
import org.apache.pekko.cluster.ddata.typed.javadsl.ReplicatorMessageAdapter;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Subscribe;

/**
 * A node's presence: one actor per node, in three parts.
 *
 * <p><b>Local</b>: the connections open on this node and whether each is away. A user's local
 * status (online if any connection is not away, away if all are, else offline since now) is
 * written every {@code write-interval}, coalesced, to the cluster's presence keys ({@link
 * PresenceKeys}: a fixed number of {@link LWWMap}s, a user's entries in the key of the user's hash,
 * one entry per node and user, written by that node only). No database statement, no journal:
 * presence is ephemeral.
 *
 * <p><b>Cluster</b>: every node subscribes to every key and merges the entries of the members it
 * counts ({@link PresenceEntry#merge}) into the view ({@link Presence#of}). A member unreachable
 * for {@code unreachable-grace}, or downed, or removed, is no longer counted: its users go offline
 * (lastSeen: that moment) unless another node has them online. A removed member's entries are
 * removed from the keys by the survivors (and entries of a node no member has seen for a sweep
 * interval), so the keys hold only live nodes' users and no key is ever created or deleted.
 *
 * <p><b>Interest</b>: the rooms (conversations) that this node's connections watch, each with its
 * member set (loaded once, then kept current by the membership events the connections receive),
 * and the reverse index user → watched rooms. A user's change costs a lookup in that index, on
 * each node, however many conversations the user is in: rooms nobody watches cost nothing.
 * Watchers are told through {@link PendingPresence}: at most one {@link Batch} per connection per
 * {@code batch-interval}.
 */
public final class PresenceHub {

  private static final int MEMBERS_PAGE = 1000;

  public sealed interface Command {}

  public record Connected(String user, ActorRef<Batch> connection) implements Command {}

  public record Disconnected(ActorRef<Batch> connection) implements Command {}

  public record SetAway(ActorRef<Batch> connection, boolean away) implements Command {}

  /** {@code users == null}: every member; {@code countsOnly}: counts, no users. Replaces the connection's earlier watch of the room. */
  public record Watch(ActorRef<Batch> connection, String user, String room, boolean countsOnly, Set<String> users)
      implements Command {}

  public record Unwatch(ActorRef<Batch> connection, String room) implements Command {}

  public record MembershipChanged(String room, String user, boolean joined) implements Command {}

  /** What a watching connection is sent, at most once per batch interval. */
  public record Batch(List<UserPresence> users, List<RoomCounts> counts) {}

  public record RoomCounts(String room, int members, int online, int away) {}

  private record MembersLoaded(String room, String asUser, Conversation.Reply reply) implements Command {}

  /** A key's new value; which key it is comes from its id (one adapter serves every key). */
  private record KeyChanged(String keyId, LWWMap<String, PresenceEntry> map) implements Command {}

  private record MemberChanged(ClusterEvent.MemberEvent event) implements Command {}

  private record ReachabilityChanged(ClusterEvent.ReachabilityEvent event) implements Command {}

  private record GraceOver(String node) implements Command {}

  private enum Tick implements Command {
    FLUSH,
    WRITE,
    SWEEP
  }

  private record Ignored() implements Command {}

  /** From CoordinatedShutdown's cluster-exiting phase (Presence#start): no more Distributed Data writes. */
  record StopWriting(ActorRef<org.apache.pekko.Done> replyTo) implements Command {}

  public static Behavior<Command> create(
      PresenceSettings settings, Conversations conversations, Map<String, UserPresence> view) {
    return Behaviors.setup(
        ctx ->
            Behaviors.withTimers(
                timers ->
                    DistributedData.<Command, LWWMap<String, PresenceEntry>>withReplicatorMessageAdapter(
                        replicator -> new PresenceHub(ctx, timers, replicator, settings, conversations, view).behavior())));
  }

  // ---- state ----------------------------------------------------------------------------------

  private static final class Connection {
    final String user;
    boolean away;
    final Map<String, Watch> watches = new HashMap<>();

    Connection(String user) {
      this.user = user;
    }
  }

  private static final class Room {
    /** Null while loading. */
    Set<String> members;
    final Set<String> loading = new HashSet<>();
    final Map<ActorRef<Batch>, Watch> watchers = new HashMap<>();
    int online;
    int away;
  }

  private static final class MemberNode {
    final UniqueAddress address;
    boolean counted = true;

    MemberNode(UniqueAddress address) {
      this.address = address;
    }
  }

  private final ActorContext<Command> ctx;
  private final TimerScheduler<Command> timers;
  private final ReplicatorMessageAdapter<Command, LWWMap<String, PresenceEntry>> replicator;
  private final PresenceSettings settings;
  private final Conversations conversations;
  private final Map<String, UserPresence> view;
  private final SelfUniqueAddress self;
  private final String selfNode;
  private final PresenceKeys keys;

  private final Map<ActorRef<Batch>, Connection> connections = new HashMap<>();
  private final Map<String, Set<ActorRef<Batch>>> localByUser = new HashMap<>();
  /** What this node last wrote per user. */
  private final Map<String, PresenceEntry> written = new HashMap<>();
  /** Users whose local status may have changed since the last write, oldest first (a round may leave some for the next). */
  private final Set<String> dirty = new java.util.LinkedHashSet<>();
  /** Set at cluster-exiting: the node writes nothing more. */
  private boolean stoppedWriting;
  private final int selfHostBytes;

  /** Members by node id ({@link PresenceKeys#nodeId}); a node's entries count while it is here and counted. */
  private final Map<String, MemberNode> nodes = new HashMap<>();
  /** Per key, the entries as last notified (entry key → entry), to find what a change changed. */
  private final List<Map<String, PresenceEntry>> seen;
  /** What every node says about a user: user → node id → entry (whether the node counts or not). */
  private final Map<String, Map<String, PresenceEntry>> entriesOf = new HashMap<>();
  /** The users each node has entries for: node id → users. */
  private final Map<String, Set<String>> usersOf = new HashMap<>();
  /** Removed members (node id → when): their entries are removed from the keys, late ones too. */
  private final Map<String, Long> removedNodes = new HashMap<>();
  /** Nodes with entries but no membership at the last sweep: removed at the next one if still unknown. */
  private Set<String> unknownAtLastSweep = Set.of();
  /** Entry keys to remove in the next write, per key index. */
  private final Map<Integer, Set<String>> removals = new HashMap<>();
  /** Users who were online on a node that stopped counting: offline since then. */
  private final Map<String, Long> lostAt = new HashMap<>();

  private final Map<String, Room> rooms = new HashMap<>();
  private final Map<String, Set<String>> roomsOf = new HashMap<>();
  private final PendingPresence<ActorRef<Batch>> pending = new PendingPresence<>();

  private static final long FAILURE_LOG_INTERVAL_NANOS = java.util.concurrent.TimeUnit.SECONDS.toNanos(5);
  /** Failed writes not yet in a log line, and when the last line was written (see onWriteFailed). */
  private int failedWritesUnlogged;
  private long lastFailureLogNanos;

  private final Counter changes;
  private final Counter frames;
  private final Counter writeRounds;
  private final Counter deferredRounds;
  private final Counter writeFailures;
  private final AtomicLong onlineUsers = new AtomicLong();

  private PresenceHub(
      ActorContext<Command> ctx,
      TimerScheduler<Command> timers,
      ReplicatorMessageAdapter<Command, LWWMap<String, PresenceEntry>> replicator,
      PresenceSettings settings,
      Conversations conversations,
      Map<String, UserPresence> view) {
    this.ctx = ctx;
    this.timers = timers;
    this.replicator = replicator;
    this.settings = settings;
    this.conversations = conversations;
    this.view = view;
    this.self = DistributedData.get(ctx.getSystem()).selfUniqueAddress();
    this.selfNode = PresenceKeys.nodeId(self.uniqueAddress());
    this.selfHostBytes = DeltaSize.hostBytes(self.uniqueAddress().address().host().getOrElse(() -> ""));
    this.keys = new PresenceKeys(settings.keys());
    this.seen = new ArrayList<>(keys.count());
    for (int i = 0; i < keys.count(); i++) seen.add(Map.of());
    var registry = Metrics.get(ctx.getSystem()).registry();
    changes =
        Counter.builder("parley.presence.changes")
            .description("presence changes (online, away, offline) of any user in the cluster, as this node saw them")
            .register(registry);
    frames = Counter.builder("parley.presence.frames").description("batched presence frames sent to this node's connections").register(registry);
    writeRounds =
        Counter.builder("parley.presence.write.rounds")
            .description("rounds in which this node wrote its presence changes to Distributed Data (one per write-interval at most, none while idle)")
            .register(registry);
    deferredRounds =
        Counter.builder("parley.presence.write.deferred")
            .description("write rounds that left changes for the next round to keep a delta tick under its share of Artery's frame (PresenceSettings)")
            .register(registry);
    writeFailures =
        Counter.builder("parley.presence.write.failures")
            .description("Distributed Data writes of presence keys that failed (the next round writes the users' latest state anyway)")
            .register(registry);
    Gauge.builder("parley.presence.users.local", localByUser, Map::size)
        .description("users with at least one connection open on this node")
        .register(registry);
    Gauge.builder("parley.presence.users.online", onlineUsers, AtomicLong::get)
        .description("users online or away in the whole cluster, as this node sees it")
        .register(registry);
    Gauge.builder("parley.presence.rooms.watched", rooms, Map::size)
        .description("conversations whose presence this node's connections watch")
        .register(registry);
  }

  private Behavior<Command> behavior() {
    var subscriptions = Cluster.get(ctx.getSystem()).subscriptions();
    subscriptions.tell(Subscribe.create(ctx.messageAdapter(ClusterEvent.MemberEvent.class, MemberChanged::new), ClusterEvent.MemberEvent.class));
    subscriptions.tell(
        Subscribe.create(ctx.messageAdapter(ClusterEvent.ReachabilityEvent.class, ReachabilityChanged::new), ClusterEvent.ReachabilityEvent.class));
    follow(self.uniqueAddress());
    subscribeToKeys();
    timers.startTimerWithFixedDelay(Tick.FLUSH, Tick.FLUSH, settings.batchInterval());
    timers.startTimerWithFixedDelay(Tick.SWEEP, Tick.SWEEP, Duration.ofMinutes(1));
    return Behaviors.receive(Command.class)
        .onMessage(Connected.class, this::onConnected)
        .onMessage(Disconnected.class, this::onDisconnected)
        .onMessage(SetAway.class, this::onSetAway)
        .onMessage(Watch.class, this::onWatch)
        .onMessage(Unwatch.class, this::onUnwatch)
        .onMessage(MembershipChanged.class, this::onMembershipChanged)
        .onMessage(MembersLoaded.class, this::onMembersLoaded)
        .onMessage(KeyChanged.class, this::onKeyChanged)
        .onMessage(MemberChanged.class, this::onMemberChanged)
        .onMessage(ReachabilityChanged.class, this::onReachabilityChanged)
        .onMessage(GraceOver.class, this::onGraceOver)
        .onMessageEquals(Tick.FLUSH, this::onFlush)
        .onMessageEquals(Tick.WRITE, this::onWrite)
        .onMessageEquals(Tick.SWEEP, this::onSweep)
        .onMessage(StopWriting.class, this::onStopWriting)
        .onMessage(Ignored.class, m -> Behaviors.same())
        .build();
  }

  // ---- local connections ----------------------------------------------------------------------

  private Behavior<Command> onConnected(Connected m) {
    if (connections.putIfAbsent(m.connection(), new Connection(m.user())) == null) {
      localByUser.computeIfAbsent(m.user(), u -> new HashSet<>()).add(m.connection());
      changed(m.user());
    }
    return Behaviors.same();
  }

  private Behavior<Command> onDisconnected(Disconnected m) {
    Connection c = connections.remove(m.connection());
    if (c == null) return Behaviors.same();
    for (String room : List.copyOf(c.watches.keySet())) removeWatcher(m.connection(), room);
    pending.forget(m.connection());
    Set<ActorRef<Batch>> ofUser = localByUser.get(c.user);
    if (ofUser != null && ofUser.remove(m.connection()) && ofUser.isEmpty()) localByUser.remove(c.user);
    changed(c.user);
    return Behaviors.same();
  }

  private Behavior<Command> onSetAway(SetAway m) {
    Connection c = connections.get(m.connection());
    if (c != null && c.away != m.away()) {
      c.away = m.away();
      changed(c.user);
    }
    return Behaviors.same();
  }

  /** This node's status of {@code user} from its open connections; null when it has none. */
  private PresenceEntry.Status localStatus(String user) {
    Set<ActorRef<Batch>> ofUser = localByUser.get(user);
    if (ofUser == null || ofUser.isEmpty()) return null;
    for (ActorRef<Batch> c : ofUser) if (!connections.get(c).away) return PresenceEntry.Status.ONLINE;
    return PresenceEntry.Status.AWAY;
  }

  private void changed(String user) {
    dirty.add(user);
    writeSoon();
  }

  /**
   * The write round runs write-interval after the first change since the last one, and never while
   * nothing is pending: an idle node does not wake for presence (a fixed 100 ms tick woke it 10
   * times a second). Changes within the interval share the round, as with a fixed tick.
   */
  private void writeSoon() {
    if (stoppedWriting) return;
    if (!timers.isTimerActive(Tick.WRITE)) timers.startSingleTimer(Tick.WRITE, settings.writeInterval());
  }

  /**
   * Writes the users whose local status changed since the last write, and pending removals: one
   * update per key touched, at most {@code writeRoundBytes} of estimated deltas per round (users
   * first: removals are clean-up nobody waits for). Whatever does not fit stays pending for the
   * next round, one write-interval later: Pekko 1.2.1 sends every key's deltas of a delta tick to a
   * peer in one uncapped message, and Artery drops one over its frame size (PresenceSettings).
   */
  private Behavior<Command> onWrite() {
    writeRounds.increment();
    if (stoppedWriting) {
      dirty.clear();
      removals.clear();
      return Behaviors.same();
    }
    if (dirty.isEmpty() && removals.isEmpty()) return Behaviors.same();
    long now = System.currentTimeMillis();
    int budget = settings.writeRoundBytes();
    int spent = 0;
    Map<Integer, Map<String, PresenceEntry>> puts = new HashMap<>();
    for (var it = dirty.iterator(); it.hasNext(); ) {
      String user = it.next();
      PresenceEntry.Status status = localStatus(user);
      PresenceEntry before = written.get(user);
      if (status == null && (before == null || before.status() == PresenceEntry.Status.OFFLINE)) {
        it.remove();
        continue;
      }
      if (status == null) status = PresenceEntry.Status.OFFLINE;
      if (before != null && before.status() == status) {
        it.remove();
        continue;
      }
      String entryKey = PresenceKeys.entryKey(selfNode, user);
      int cost = DeltaSize.ofEntry(entryKey, selfHostBytes);
      // At least one entry per round, whatever the budget: a round always makes progress.
      if (spent > 0 && spent + cost > budget) break;
      spent += cost;
      it.remove();
      PresenceEntry entry = new PresenceEntry(status, now);
      written.put(user, entry);
      puts.computeIfAbsent(keys.indexOf(user), k -> new HashMap<>()).put(entryKey, entry);
    }
    Map<Integer, Set<String>> removing = new HashMap<>();
    {
      for (var keyIt = removals.entrySet().iterator(); keyIt.hasNext() && (spent == 0 || spent < budget); ) {
        Map.Entry<Integer, Set<String>> ofKey = keyIt.next();
        for (var it = ofKey.getValue().iterator(); it.hasNext(); ) {
          String entryKey = it.next();
          int cost = DeltaSize.ofEntry(entryKey, selfHostBytes);
          if (spent > 0 && spent + cost > budget) break;
          spent += cost;
          it.remove();
          removing.computeIfAbsent(ofKey.getKey(), k -> new HashSet<>()).add(entryKey);
        }
        if (ofKey.getValue().isEmpty()) keyIt.remove();
      }
    }
    Set<Integer> touched = new HashSet<>(puts.keySet());
    touched.addAll(removing.keySet());
    for (int index : touched) {
      Map<String, PresenceEntry> toPut = puts.getOrDefault(index, Map.of());
      Set<String> toRemove = removing.getOrDefault(index, Set.of());
      updateKey(
          index,
          map -> {
            LWWMap<String, PresenceEntry> updated = map;
            for (String entryKey : toRemove) if (updated.contains(entryKey)) updated = updated.remove(self, entryKey);
            for (Map.Entry<String, PresenceEntry> e : toPut.entrySet()) updated = updated.put(self, e.getKey(), e.getValue());
            return updated;
          });
    }
    if (!dirty.isEmpty() || !removals.isEmpty()) {
      deferredRounds.increment();
      writeSoon();
    }
    return Behaviors.same();
  }

  /**
   * CoordinatedShutdown's cluster-exiting: this node is leaving and its users are about to be shown
   * offline by every survivor (MemberRemoved). Its writes from here on would only fail (the
   * replicator stops with the node) while every closing connection asks for one.
   */
  private Behavior<Command> onStopWriting(StopWriting m) {
    stoppedWriting = true;
    dirty.clear();
    removals.clear();
    timers.cancel(Tick.WRITE);
    m.replyTo().tell(org.apache.pekko.Done.getInstance());
    return Behaviors.same();
  }

  /** One local write of one key; Distributed Data's deltas and gossip spread it. */
  private void updateKey(int index, java.util.function.Function<LWWMap<String, PresenceEntry>, LWWMap<String, PresenceEntry>> modify) {
    replicator.askUpdate(
        replyTo -> new Replicator.Update<>(keys.key(index), LWWMap.create(), Replicator.writeLocal(), replyTo, modify),
        response -> {
          if (!(response instanceof Replicator.UpdateSuccess)) onWriteFailed(keys.key(index).id(), response);
          return new Ignored();
        });
  }

  /**
   * One line per 5 s at most, with how many writes failed since the last: a node that is downed or
   * stopping fails the writes of up to all {@code parley.presence.keys} at once (1,000 lines in one
   * millisecond in the fault benchmark's partition), and the next round writes them again anyway.
   */
  private void onWriteFailed(String key, Object response) {
    writeFailures.increment();
    failedWritesUnlogged++;
    long now = System.nanoTime();
    if (lastFailureLogNanos != 0 && now - lastFailureLogNanos < FAILURE_LOG_INTERVAL_NANOS) return;
    ctx.getLog().warn("presence: {} write(s) failed since the last such line, e.g. {}: {}", failedWritesUnlogged, key, response);
    failedWritesUnlogged = 0;
    lastFailureLogNanos = now;
  }

  private void removeEntry(String nodeId, String user) {
    removals.computeIfAbsent(keys.indexOf(user), k -> new HashSet<>()).add(PresenceKeys.entryKey(nodeId, user));
    writeSoon();
  }

  /**
   * Offline entries older than the retention go (this node's, and users lost with a node), and so do
   * the entries of nodes that were not members at this sweep nor at the previous one (a node removed
   * before this one joined, or whose removal raced with a late write).
   */
  private Behavior<Command> onSweep() {
    long oldest = System.currentTimeMillis() - settings.lastSeenRetention().toMillis();
    written.entrySet().removeIf(
        e -> {
          boolean expired = e.getValue().status() == PresenceEntry.Status.OFFLINE && e.getValue().since() < oldest;
          if (expired) removeEntry(selfNode, e.getKey());
          return expired;
        });
    List<String> lost = lostAt.entrySet().stream().filter(e -> e.getValue() < oldest).map(Map.Entry::getKey).toList();
    lost.forEach(lostAt::remove);
    lost.forEach(this::recompute);
    removedNodes.values().removeIf(at -> at < oldest);
    Set<String> unknown = new HashSet<>(usersOf.keySet());
    unknown.removeAll(nodes.keySet());
    for (String node : unknown) {
      if (unknownAtLastSweep.contains(node) || removedNodes.containsKey(node)) {
        for (String user : usersOf.get(node)) removeEntry(node, user);
      }
    }
    unknownAtLastSweep = unknown;
    return Behaviors.same();
  }

  // ---- the cluster's keys ---------------------------------------------------------------------

  private void subscribeToKeys() {
    for (int i = 0; i < keys.count(); i++) {
      // Pekko's ReplicatorMessageAdapter keeps one message adapter for all its subscriptions (the
      // last function given wins): the function must not capture the key, it reads it from the answer.
      replicator.subscribe(
          keys.key(i),
          response ->
              response instanceof Replicator.Changed<LWWMap<String, PresenceEntry>> changed
                  ? new KeyChanged(changed.key().id(), changed.dataValue())
                  : new Ignored());
    }
  }

  private void follow(UniqueAddress member) {
    String node = PresenceKeys.nodeId(member);
    if (nodes.containsKey(node) || removedNodes.containsKey(node)) return;
    nodes.put(node, new MemberNode(member));
    usersOf.getOrDefault(node, Set.of()).forEach(this::recompute);
  }

  /** What changed in one key: each changed entry updates the indexes, then its user is recomputed. */
  private Behavior<Command> onKeyChanged(KeyChanged m) {
    int index = keys.indexOfId(m.keyId());
    if (index < 0) return Behaviors.same();
    Map<String, PresenceEntry> before = seen.get(index);
    // One conversion per notification (LWWMap builds a new map for each getEntries call).
    Map<String, PresenceEntry> now = m.map().getEntries();
    seen.set(index, now);

    Set<String> changedUsers = new HashSet<>();
    for (Map.Entry<String, PresenceEntry> e : now.entrySet()) {
      if (!e.getValue().equals(before.get(e.getKey()))) changedUsers.add(apply(index, e.getKey(), e.getValue()));
    }
    for (String entryKey : before.keySet()) if (!now.containsKey(entryKey)) changedUsers.add(apply(index, entryKey, null));
    changedUsers.forEach(this::recompute);
    return Behaviors.same();
  }

  /** Records one node's entry for a user ({@code null}: removed); returns the user. */
  private String apply(int index, String entryKey, PresenceEntry entry) {
    String node = PresenceKeys.nodeOf(entryKey);
    String user = PresenceKeys.userOf(entryKey);
    if (entry == null) {
      Map<String, PresenceEntry> ofUser = entriesOf.get(user);
      if (ofUser != null && ofUser.remove(node) != null && ofUser.isEmpty()) entriesOf.remove(user);
      Set<String> users = usersOf.get(node);
      if (users != null && users.remove(user) && users.isEmpty()) usersOf.remove(node);
    } else {
      entriesOf.computeIfAbsent(user, u -> new HashMap<>(2)).put(node, entry);
      usersOf.computeIfAbsent(node, n -> new HashSet<>()).add(user);
      // A write of a removed node that arrived after its removal: removed again.
      if (removedNodes.containsKey(node)) {
        removals.computeIfAbsent(index, k -> new HashSet<>()).add(entryKey);
        writeSoon();
      }
    }
    return user;
  }

  private Behavior<Command> onMemberChanged(MemberChanged m) {
    Member member = m.event().member();
    String id = PresenceKeys.nodeId(member.uniqueAddress());
    if (m.event() instanceof ClusterEvent.MemberRemoved) {
      MemberNode node = nodes.get(id);
      timers.cancel(id);
      if (node != null && node.counted) stopCounting(id, node);
      nodes.remove(id);
      removedNodes.put(id, System.currentTimeMillis());
      // Every survivor removes the node's entries (removing twice is harmless): the keys keep only live nodes' users.
      for (String user : usersOf.getOrDefault(id, Set.of())) removeEntry(id, user);
    } else if (m.event() instanceof ClusterEvent.MemberDowned) {
      MemberNode node = nodes.get(id);
      if (node != null && node.counted) stopCounting(id, node);
    } else {
      follow(member.uniqueAddress());
    }
    return Behaviors.same();
  }

  private Behavior<Command> onReachabilityChanged(ReachabilityChanged m) {
    String id = PresenceKeys.nodeId(m.event().member().uniqueAddress());
    MemberNode node = nodes.get(id);
    if (node == null) return Behaviors.same();
    if (m.event() instanceof ClusterEvent.UnreachableMember) {
      // A pause shorter than the grace (a GC, a slow network) does not flap everyone's presence.
      timers.startSingleTimer(id, new GraceOver(id), settings.unreachableGrace());
    } else {
      timers.cancel(id);
      if (!node.counted) {
        node.counted = true;
        usersOf.getOrDefault(id, Set.of()).forEach(this::recompute);
      }
    }
    return Behaviors.same();
  }

  private Behavior<Command> onGraceOver(GraceOver m) {
    MemberNode node = nodes.get(m.node());
    if (node != null && node.counted) {
      ctx.getLog().info("presence: {} unreachable for {}, its users are shown offline", node.address.address(), settings.unreachableGrace());
      stopCounting(m.node(), node);
    }
    return Behaviors.same();
  }

  /** The node's users are offline from now on, unless another node has them. */
  private void stopCounting(String id, MemberNode node) {
    node.counted = false;
    long now = System.currentTimeMillis();
    Set<String> users = Set.copyOf(usersOf.getOrDefault(id, Set.of()));
    for (String user : users) {
      PresenceEntry e = entriesOf.getOrDefault(user, Map.of()).get(id);
      if (e != null && e.status() != PresenceEntry.Status.OFFLINE) lostAt.put(user, now);
    }
    users.forEach(this::recompute);
  }

  /** Merges what the counted nodes say about {@code user}; tells the interested rooms when it changed. */
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
    if (after.sameAs(was)) return;
    boolean wasUp = was.status() != PresenceEntry.Status.OFFLINE;
    boolean isUp = after.status() != PresenceEntry.Status.OFFLINE;
    if (isUp != wasUp) onlineUsers.addAndGet(isUp ? 1 : -1);
    if (was.status() != after.status()) changes.increment();
    for (String roomId : roomsOf.getOrDefault(user, Set.of())) {
      Room room = rooms.get(roomId);
      if (room == null || room.members == null) continue;
      boolean countsChanged = was.status() != after.status();
      count(room, was.status(), -1);
      count(room, after.status(), +1);
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

  private static void count(Room room, PresenceEntry.Status status, int delta) {
    if (status == PresenceEntry.Status.ONLINE) room.online += delta;
    else if (status == PresenceEntry.Status.AWAY) room.away += delta;
  }

  // ---- interest -------------------------------------------------------------------------------

  private Behavior<Command> onWatch(Watch m) {
    Connection c = connections.get(m.connection());
    if (c == null) return Behaviors.same();
    c.watches.put(m.room(), m);
    Room room = rooms.computeIfAbsent(m.room(), r -> new Room());
    room.watchers.put(m.connection(), m);
    if (room.members == null) {
      if (room.loading.isEmpty()) loadMembers(m.room(), m.user(), null);
      room.loading.add(m.user());
    } else {
      announce(m.room(), room, m);
    }
    return Behaviors.same();
  }

  /** What a new watcher is owed at once: the counts, or the state of the members it named. */
  private void announce(String roomId, Room room, Watch watch) {
    if (watch.countsOnly()) {
      pending.countsChanged(watch.connection(), roomId);
    } else if (watch.users() != null) {
      for (String user : watch.users()) if (room.members.contains(user)) pending.userChanged(watch.connection(), user);
    }
  }

  private void loadMembers(String roomId, String asUser, String after) {
    ctx.pipeToSelf(
        conversations.members(roomId, asUser, after, MEMBERS_PAGE),
        (reply, failure) -> new MembersLoaded(roomId, asUser, reply != null ? reply : new Conversation.Rejected(dev.parley.ErrorCode.UNAVAILABLE, "no answer")));
  }

  private final Map<String, List<String>> partial = new HashMap<>();

  private Behavior<Command> onMembersLoaded(MembersLoaded m) {
    Room room = rooms.get(m.room());
    if (room == null || room.members != null) {
      partial.remove(m.room());
      return Behaviors.same();
    }
    if (!(m.reply() instanceof Conversation.MembersPage page)) {
      // Refused or unavailable: the watch ends (the client sees no presence for the room and may watch again).
      ctx.getLog().debug("presence: members of {} not loaded: {}", m.room(), m.reply());
      partial.remove(m.room());
      for (ActorRef<Batch> connection : List.copyOf(room.watchers.keySet())) removeWatcher(connection, m.room());
      return Behaviors.same();
    }
    List<String> loaded = partial.computeIfAbsent(m.room(), r -> new ArrayList<>());
    loaded.addAll(page.members());
    if (page.more()) {
      loadMembers(m.room(), m.asUser(), page.members().get(page.members().size() - 1));
      return Behaviors.same();
    }
    partial.remove(m.room());
    room.members = new HashSet<>(loaded);
    room.loading.clear();
    for (String user : room.members) {
      roomsOf.computeIfAbsent(user, u -> new HashSet<>()).add(m.room());
      count(room, of(user).status(), +1);
    }
    room.watchers.values().forEach(watch -> announce(m.room(), room, watch));
    return Behaviors.same();
  }

  private Behavior<Command> onUnwatch(Unwatch m) {
    removeWatcher(m.connection(), m.room());
    return Behaviors.same();
  }

  private void removeWatcher(ActorRef<Batch> connection, String roomId) {
    Connection c = connections.get(connection);
    if (c != null) c.watches.remove(roomId);
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

  private Behavior<Command> onMembershipChanged(MembershipChanged m) {
    Room room = rooms.get(m.room());
    if (room == null || room.members == null) return Behaviors.same();
    PresenceEntry.Status status = of(m.user()).status();
    if (m.joined()) {
      if (!room.members.add(m.user())) return Behaviors.same();
      roomsOf.computeIfAbsent(m.user(), u -> new HashSet<>()).add(m.room());
      count(room, status, +1);
    } else {
      if (!room.members.remove(m.user())) return Behaviors.same();
      Set<String> of = roomsOf.get(m.user());
      if (of != null && of.remove(m.room()) && of.isEmpty()) roomsOf.remove(m.user());
      count(room, status, -1);
      // Who left sees the room's presence no more.
      for (ActorRef<Batch> connection : List.copyOf(room.watchers.keySet())) {
        Connection c = connections.get(connection);
        if (c != null && c.user.equals(m.user())) removeWatcher(connection, m.room());
      }
    }
    room.watchers.forEach(
        (connection, watch) -> {
          if (watch.countsOnly()) pending.countsChanged(connection, m.room());
          else if (m.joined() && (watch.users() == null || watch.users().contains(m.user()))) pending.userChanged(connection, m.user());
        });
    return Behaviors.same();
  }

  private UserPresence of(String user) {
    UserPresence p = view.get(user);
    return p != null ? p : UserPresence.unknown(user);
  }

  // ---- batches --------------------------------------------------------------------------------

  private Behavior<Command> onFlush() {
    for (PendingPresence.Flush<ActorRef<Batch>> flush : pending.drain(settings.maxUsersPerFrame())) {
      List<UserPresence> users = flush.users().stream().map(this::of).toList();
      List<RoomCounts> counts = new ArrayList<>(flush.countedRooms().size());
      for (String roomId : flush.countedRooms()) {
        Room room = rooms.get(roomId);
        if (room != null && room.members != null) counts.add(new RoomCounts(roomId, room.members.size(), room.online, room.away));
      }
      if (users.isEmpty() && counts.isEmpty()) continue;
      flush.connection().tell(new Batch(users, counts));
      frames.increment();
    }
    return Behaviors.same();
  }
}
