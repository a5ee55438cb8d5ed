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
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import org.apache.pekko.actor.typed.receptionist.Receptionist;
import org.apache.pekko.actor.typed.receptionist.ServiceKey;
import org.apache.pekko.cluster.ClusterEvent;
import org.apache.pekko.cluster.Member;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Subscribe;

/**
 * A node's presence: one actor per node, in three parts.
 *
 * <p><b>Local</b>: the connections open on this node and whether each is away. A user's local
 * status (online if any connection is not away, away if all are, else offline since now) is
 * sent every {@code write-interval}, coalesced, to the other nodes' hubs ({@link PresenceSync}:
 * one numbered batch per round for all of the round's users, a snapshot for a hub that is new or
 * missed a batch). Only this node sends its users' entries. No database statement, no journal:
 * presence is ephemeral.
 *
 * <p><b>Cluster</b> ({@link NodeEntries}): every node keeps what each node said about its users and
 * merges the entries of the members it counts ({@link PresenceEntry#merge}) into the view
 * ({@link Presence#of}). The hub applies other nodes' batches in order ({@link PeerSequence}) and
 * turns membership events into counting: a member unreachable for {@code unreachable-grace}, or
 * downed, or removed, is no longer counted, and its users go offline (lastSeen: that moment) unless
 * another node has them online. A removed member's entries are forgotten (and so are those of a
 * node no member has seen for a sweep interval); a removed member's late batches are ignored.
 *
 * <p><b>Interest</b> ({@link WatchedRooms}): the rooms (conversations) that this node's
 * connections watch, and who is owed what; at most one {@link Batch} per connection per
 * {@code batch-interval}.
 */
public final class PresenceHub {

  private static final int MEMBERS_PAGE = 1000;

  /** Every node's hub registers under this key; each hub sends its batches to the others listed. */
  static final ServiceKey<Command> HUBS = ServiceKey.create(Command.class, "parley-presence-hub");

  /**
   * How often a hub tells its peers its latest batch number (a peer behind it lost a batch and asks
   * for a snapshot), and how long a peer waits for a snapshot before asking again.
   */
  static final Duration TIP_INTERVAL = Duration.ofSeconds(2);

  /** Not sealed: {@link PresenceSync.Message}, the hubs' wire protocol, lives in its own file. */
  public interface Command {}

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

  private record PeersListed(Receptionist.Listing listing) implements Command {}

  private record MemberChanged(ClusterEvent.MemberEvent event) implements Command {}

  private record ReachabilityChanged(ClusterEvent.ReachabilityEvent event) implements Command {}

  private record GraceOver(String node) implements Command {}

  private enum Tick implements Command {
    FLUSH,
    WRITE,
    TIP,
    SWEEP
  }

  /** From CoordinatedShutdown's cluster-exiting phase (Presence#start): no more batches. */
  record StopWriting(ActorRef<org.apache.pekko.Done> replyTo) implements Command {}

  /** For tests and diagnostics: what each node (by node id) says about {@code user}, as this hub holds it. */
  record EntriesOf(String user, ActorRef<Map<String, PresenceEntry>> replyTo) implements Command {}

  public static Behavior<Command> create(
      PresenceSettings settings, Conversations conversations, Map<String, UserPresence> view) {
    return Behaviors.setup(
        ctx -> Behaviors.withTimers(timers -> new PresenceHub(ctx, timers, settings, conversations, view).behavior()));
  }

  // ---- state ----------------------------------------------------------------------------------

  private static final class Connection {
    final String user;
    boolean away;

    Connection(String user) {
      this.user = user;
    }
  }

  private final ActorContext<Command> ctx;
  private final TimerScheduler<Command> timers;
  private final PresenceSettings settings;
  private final Conversations conversations;
  private final Map<String, UserPresence> view;
  private final String selfNode;

  private final Map<ActorRef<Batch>, Connection> connections = new HashMap<>();
  private final Map<String, Set<ActorRef<Batch>>> localByUser = new HashMap<>();
  /** What this node last sent per user (its snapshot). */
  private final Map<String, PresenceEntry> written = new HashMap<>();
  /** Users whose local status may have changed since the last round, in order. */
  private final Set<String> dirty = new LinkedHashSet<>();
  /** Users whose offline entry expired: the next round tells the peers to forget them. */
  private final Set<String> forgotten = new LinkedHashSet<>();
  /** The number of this node's latest batch. */
  private long seq;
  /** The other nodes' hubs (the receptionist's listing): every batch goes to each. */
  private Set<ActorRef<Command>> peers = Set.of();
  /** Set at cluster-exiting: the node sends nothing more. */
  private boolean stoppedWriting;

  /** What every node says about its users, which nodes count, and the merged view. */
  private final NodeEntries entries;
  /** How far each other node's batches were applied. */
  private final Map<String, PeerSequence> sequences = new HashMap<>();
  /** Snapshots being collected part by part: node id → entries so far. */
  private final Map<String, Map<String, PresenceEntry>> incoming = new HashMap<>();

  private final WatchedRooms rooms;

  private final Counter changes;
  private final Counter frames;
  private final Counter writeRounds;
  private final Counter batchesSent;
  private final Counter snapshotsSent;
  private final Counter resyncs;
  private final AtomicLong onlineUsers = new AtomicLong();

  private PresenceHub(
      ActorContext<Command> ctx,
      TimerScheduler<Command> timers,
      PresenceSettings settings,
      Conversations conversations,
      Map<String, UserPresence> view) {
    this.ctx = ctx;
    this.timers = timers;
    this.settings = settings;
    this.conversations = conversations;
    this.view = view;
    this.selfNode = PresenceSync.nodeId(Cluster.get(ctx.getSystem()).selfMember().uniqueAddress());
    this.rooms = new WatchedRooms(view, this::loadMembers);
    this.entries = new NodeEntries(selfNode, view, this::presenceChanged);
    var registry = Metrics.get(ctx.getSystem()).registry();
    changes =
        Counter.builder("parley.presence.changes")
            .description("presence changes (online, away, offline) of any user in the cluster, as this node saw them")
            .register(registry);
    frames = Counter.builder("parley.presence.frames").description("batched presence frames sent to this node's connections").register(registry);
    writeRounds =
        Counter.builder("parley.presence.write.rounds")
            .description("rounds in which this node sent its users' presence changes to the other nodes (one per write-interval at most, none while idle)")
            .register(registry);
    batchesSent =
        Counter.builder("parley.presence.sync.batches")
            .description("numbered batches of this node's presence changes, each sent to every other node's hub")
            .register(registry);
    snapshotsSent =
        Counter.builder("parley.presence.sync.snapshots")
            .description("snapshots of this node's presence entries sent to another node's hub (a new hub, or one that missed a batch)")
            .register(registry);
    resyncs =
        Counter.builder("parley.presence.sync.resyncs")
            .description("snapshots this node asked for because another node's batch was missing")
            .register(registry);
    Gauge.builder("parley.presence.users.local", localByUser, Map::size)
        .description("users with at least one connection open on this node")
        .register(registry);
    Gauge.builder("parley.presence.users.online", onlineUsers, AtomicLong::get)
        .description("users online or away in the whole cluster, as this node sees it")
        .register(registry);
    Gauge.builder("parley.presence.rooms.watched", rooms, WatchedRooms::size)
        .description("conversations whose presence this node's connections watch")
        .register(registry);
  }

  private Behavior<Command> behavior() {
    var subscriptions = Cluster.get(ctx.getSystem()).subscriptions();
    subscriptions.tell(Subscribe.create(ctx.messageAdapter(ClusterEvent.MemberEvent.class, MemberChanged::new), ClusterEvent.MemberEvent.class));
    subscriptions.tell(
        Subscribe.create(ctx.messageAdapter(ClusterEvent.ReachabilityEvent.class, ReachabilityChanged::new), ClusterEvent.ReachabilityEvent.class));
    entries.follow(Cluster.get(ctx.getSystem()).selfMember().uniqueAddress());
    var receptionist = ctx.getSystem().receptionist();
    receptionist.tell(Receptionist.register(HUBS, ctx.getSelf()));
    receptionist.tell(Receptionist.subscribe(HUBS, ctx.messageAdapter(Receptionist.Listing.class, PeersListed::new)));
    timers.startTimerWithFixedDelay(Tick.FLUSH, Tick.FLUSH, settings.batchInterval());
    timers.startTimerWithFixedDelay(Tick.TIP, Tick.TIP, TIP_INTERVAL);
    timers.startTimerWithFixedDelay(Tick.SWEEP, Tick.SWEEP, Duration.ofMinutes(1));
    return Behaviors.receive(Command.class)
        .onMessage(Connected.class, this::onConnected)
        .onMessage(Disconnected.class, this::onDisconnected)
        .onMessage(SetAway.class, this::onSetAway)
        .onMessage(Watch.class, this::onWatch)
        .onMessage(Unwatch.class, this::onUnwatch)
        .onMessage(MembershipChanged.class, this::onMembershipChanged)
        .onMessage(MembersLoaded.class, this::onMembersLoaded)
        .onMessage(PresenceSync.Changes.class, this::onChanges)
        .onMessage(PresenceSync.Snapshot.class, this::onSnapshot)
        .onMessage(PresenceSync.Tip.class, this::onTip)
        .onMessage(PresenceSync.SnapshotRequest.class, this::onSnapshotRequest)
        .onMessage(PeersListed.class, this::onPeersListed)
        .onMessage(MemberChanged.class, this::onMemberChanged)
        .onMessage(ReachabilityChanged.class, this::onReachabilityChanged)
        .onMessage(GraceOver.class, this::onGraceOver)
        .onMessageEquals(Tick.FLUSH, this::onFlush)
        .onMessageEquals(Tick.WRITE, this::onWrite)
        .onMessageEquals(Tick.TIP, this::onTipTick)
        .onMessageEquals(Tick.SWEEP, this::onSweep)
        .onMessage(StopWriting.class, this::onStopWriting)
        .onMessage(EntriesOf.class, this::onEntriesOf)
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
    rooms.disconnected(m.connection());
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
   * Sends the users whose local status changed since the last round, and the users whose offline
   * entry expired, to every peer as this node's next batch (several numbered batches if one
   * message would exceed {@code messageBytes}), and applies them to this node's own view.
   */
  private Behavior<Command> onWrite() {
    writeRounds.increment();
    if (stoppedWriting) {
      dirty.clear();
      forgotten.clear();
      return Behaviors.same();
    }
    long now = System.currentTimeMillis();
    List<PresenceSync.Entry> batch = new ArrayList<>();
    for (String user : dirty) {
      PresenceEntry.Status status = localStatus(user);
      PresenceEntry before = written.get(user);
      if (status == null && (before == null || before.status() == PresenceEntry.Status.OFFLINE)) continue;
      if (status == null) status = PresenceEntry.Status.OFFLINE;
      if (before != null && before.status() == status) continue;
      PresenceEntry entry = new PresenceEntry(status, now);
      written.put(user, entry);
      batch.add(PresenceSync.Entry.of(user, entry));
    }
    dirty.clear();
    for (String user : forgotten) if (!written.containsKey(user)) batch.add(PresenceSync.Entry.of(user, null));
    forgotten.clear();
    if (batch.isEmpty()) return Behaviors.same();
    for (List<PresenceSync.Entry> entries : PresenceSync.chunks(batch, settings.messageBytes())) {
      seq++;
      PresenceSync.Changes changes = new PresenceSync.Changes(selfNode, ctx.getSelf(), seq, entries);
      for (ActorRef<Command> peer : peers) peer.tell(changes);
      batchesSent.increment();
    }
    entries.apply(selfNode, batch);
    return Behaviors.same();
  }

  /**
   * CoordinatedShutdown's cluster-exiting: this node is leaving and its users are about to be shown
   * offline by every survivor (MemberRemoved). Its batches from here on would be ignored by every
   * survivor once it is removed, while every closing connection asks for one.
   */
  private Behavior<Command> onStopWriting(StopWriting m) {
    stoppedWriting = true;
    dirty.clear();
    forgotten.clear();
    timers.cancel(Tick.WRITE);
    m.replyTo().tell(org.apache.pekko.Done.getInstance());
    return Behaviors.same();
  }

  /**
   * Offline entries older than the retention go (this node's, told to the peers in the next round,
   * and users lost with a node), and so do the entries of nodes that were not members at this sweep
   * nor at the previous one (a node removed before this one joined).
   */
  private Behavior<Command> onSweep() {
    long oldest = System.currentTimeMillis() - settings.lastSeenRetention().toMillis();
    written.entrySet().removeIf(
        e -> {
          boolean expired = e.getValue().status() == PresenceEntry.Status.OFFLINE && e.getValue().since() < oldest;
          if (expired) forgotten.add(e.getKey());
          return expired;
        });
    if (!forgotten.isEmpty()) writeSoon();
    entries.sweep(oldest).forEach(this::stopFollowing);
    return Behaviors.same();
  }

  // ---- the other nodes' hubs ------------------------------------------------------------------

  /** A hub that appears gets this node's snapshot first; its batches follow in order. */
  private Behavior<Command> onPeersListed(PeersListed m) {
    Set<ActorRef<Command>> listed = new HashSet<>(m.listing().getServiceInstances(HUBS));
    listed.remove(ctx.getSelf());
    for (ActorRef<Command> peer : listed) if (!peers.contains(peer)) sendSnapshot(peer);
    peers = Set.copyOf(listed);
    return Behaviors.same();
  }

  private void sendSnapshot(ActorRef<Command> to) {
    List<PresenceSync.Entry> all = new ArrayList<>(written.size());
    written.forEach((user, entry) -> all.add(PresenceSync.Entry.of(user, entry)));
    List<List<PresenceSync.Entry>> parts = PresenceSync.chunks(all, settings.messageBytes());
    for (int i = 0; i < parts.size(); i++) {
      to.tell(new PresenceSync.Snapshot(selfNode, ctx.getSelf(), seq, i, i == parts.size() - 1, parts.get(i)));
    }
    snapshotsSent.increment();
  }

  private Behavior<Command> onSnapshotRequest(PresenceSync.SnapshotRequest m) {
    sendSnapshot(m.replyTo());
    return Behaviors.same();
  }

  private Behavior<Command> onTipTick() {
    if (stoppedWriting || peers.isEmpty()) return Behaviors.same();
    PresenceSync.Tip tip = new PresenceSync.Tip(selfNode, ctx.getSelf(), seq);
    for (ActorRef<Command> peer : peers) peer.tell(tip);
    return Behaviors.same();
  }

  /** A sender this hub listens to: not itself, not a removed node. */
  private PeerSequence sequenceOf(String node) {
    if (node.equals(selfNode) || entries.isRemoved(node)) return null;
    return sequences.computeIfAbsent(node, n -> new PeerSequence(TIP_INTERVAL.toMillis()));
  }

  private void askForSnapshot(ActorRef<Command> from) {
    resyncs.increment();
    from.tell(new PresenceSync.SnapshotRequest(ctx.getSelf()));
  }

  private Behavior<Command> onChanges(PresenceSync.Changes m) {
    PeerSequence sequence = sequenceOf(m.node());
    if (sequence == null) return Behaviors.same();
    switch (sequence.onBatch(m.seq(), System.currentTimeMillis())) {
      case APPLY -> entries.apply(m.node(), m.entries());
      case RESYNC -> askForSnapshot(m.from());
      case SKIP, WAIT -> {}
    }
    return Behaviors.same();
  }

  private Behavior<Command> onTip(PresenceSync.Tip m) {
    PeerSequence sequence = sequenceOf(m.node());
    if (sequence != null && sequence.onTip(m.seq(), System.currentTimeMillis())) askForSnapshot(m.from());
    return Behaviors.same();
  }

  /** Collects a snapshot's parts; the last one replaces everything the node said before. */
  private Behavior<Command> onSnapshot(PresenceSync.Snapshot m) {
    PeerSequence sequence = sequenceOf(m.node());
    if (sequence == null) return Behaviors.same();
    if (!sequence.onSnapshotPart(m.seq(), m.part())) {
      // A part out of turn (one was lost): the tip will show the gap and a new snapshot is asked for.
      incoming.remove(m.node());
      return Behaviors.same();
    }
    Map<String, PresenceEntry> into = m.part() == 0 ? new HashMap<>() : incoming.get(m.node());
    for (PresenceSync.Entry e : m.entries()) if (e.entry() != null) into.put(e.user(), e.entry());
    if (!m.last()) {
      incoming.put(m.node(), into);
      return Behaviors.same();
    }
    incoming.remove(m.node());
    sequence.snapshotApplied(m.seq());
    entries.replace(m.node(), into);
    return Behaviors.same();
  }

  private Behavior<Command> onEntriesOf(EntriesOf m) {
    m.replyTo().tell(entries.entriesOf(m.user()));
    return Behaviors.same();
  }

  // ---- cluster membership ---------------------------------------------------------------------

  /** A removed or forgotten node's batches and snapshot parts are no longer followed. */
  private void stopFollowing(String node) {
    sequences.remove(node);
    incoming.remove(node);
  }

  private Behavior<Command> onMemberChanged(MemberChanged m) {
    Member member = m.event().member();
    String id = PresenceSync.nodeId(member.uniqueAddress());
    if (m.event() instanceof ClusterEvent.MemberRemoved) {
      timers.cancel(id);
      entries.removed(id);
      stopFollowing(id);
    } else if (m.event() instanceof ClusterEvent.MemberDowned) {
      entries.stopCounting(id);
    } else {
      entries.follow(member.uniqueAddress());
    }
    return Behaviors.same();
  }

  private Behavior<Command> onReachabilityChanged(ReachabilityChanged m) {
    String id = PresenceSync.nodeId(m.event().member().uniqueAddress());
    if (!entries.isMember(id)) return Behaviors.same();
    if (m.event() instanceof ClusterEvent.UnreachableMember) {
      // A pause shorter than the grace (a GC, a slow network) does not flap everyone's presence.
      timers.startSingleTimer(id, new GraceOver(id), settings.unreachableGrace());
    } else {
      timers.cancel(id);
      entries.countAgain(id);
    }
    return Behaviors.same();
  }

  private Behavior<Command> onGraceOver(GraceOver m) {
    if (entries.isCounted(m.node())) {
      ctx.getLog().info("presence: {} unreachable for {}, its users are shown offline", entries.addressOf(m.node()).address(), settings.unreachableGrace());
      entries.stopCounting(m.node());
    }
    return Behaviors.same();
  }

  /** A user's merged presence changed: the counters, and the rooms that watch the user. */
  private void presenceChanged(String user, UserPresence was, UserPresence now) {
    boolean wasUp = was.status() != PresenceEntry.Status.OFFLINE;
    boolean isUp = now.status() != PresenceEntry.Status.OFFLINE;
    if (isUp != wasUp) onlineUsers.addAndGet(isUp ? 1 : -1);
    if (was.status() != now.status()) changes.increment();
    rooms.presenceChanged(user, was, now);
  }

  // ---- interest -------------------------------------------------------------------------------

  private Behavior<Command> onWatch(Watch m) {
    if (connections.containsKey(m.connection())) rooms.watch(m);
    return Behaviors.same();
  }

  private void loadMembers(String roomId, String asUser, String after) {
    ctx.pipeToSelf(
        conversations.members(roomId, asUser, after, MEMBERS_PAGE),
        (reply, failure) -> new MembersLoaded(roomId, asUser, reply != null ? reply : new Conversation.Rejected(dev.parley.ErrorCode.UNAVAILABLE, "no answer")));
  }

  private Behavior<Command> onMembersLoaded(MembersLoaded m) {
    if (!(m.reply() instanceof Conversation.MembersPage)) ctx.getLog().debug("presence: members of {} not loaded: {}", m.room(), m.reply());
    rooms.membersLoaded(m.room(), m.asUser(), m.reply());
    return Behaviors.same();
  }

  private Behavior<Command> onUnwatch(Unwatch m) {
    rooms.unwatch(m.connection(), m.room());
    return Behaviors.same();
  }

  private Behavior<Command> onMembershipChanged(MembershipChanged m) {
    rooms.membershipChanged(m.room(), m.user(), m.joined());
    return Behaviors.same();
  }

  private Behavior<Command> onFlush() {
    frames.increment(rooms.flush(settings.maxUsersPerFrame()));
    return Behaviors.same();
  }
}
