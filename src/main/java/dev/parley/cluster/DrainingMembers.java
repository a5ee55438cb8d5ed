package dev.parley.cluster;

import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.Extension;
import org.apache.pekko.actor.typed.ExtensionId;
import org.apache.pekko.actor.typed.Props;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.ClusterEvent;
import org.apache.pekko.cluster.UniqueAddress;
import org.apache.pekko.cluster.ddata.LWWMap;
import org.apache.pekko.cluster.ddata.Key;
import org.apache.pekko.cluster.ddata.LWWMapKey;
import org.apache.pekko.cluster.ddata.SelfUniqueAddress;
import org.apache.pekko.cluster.ddata.typed.javadsl.DistributedData;
import org.apache.pekko.cluster.ddata.typed.javadsl.Replicator;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Subscribe;

/**
 * Which members of the cluster are draining, and by when they want their shards gone: replicated
 * to every node (Distributed Data), so that the shard coordinators, wherever they run, move a
 * draining node's shards a few at a time during its drain window instead of all at once at its
 * handoff (see {@link DrainAwareAllocationStrategy}).
 *
 * <p>Members are named by their unique address (host, port and incarnation): a node restarted on
 * the same host and port is a new member that is not draining. A removed member's entry is deleted
 * by every node that sees the removal (idempotent), so the map only holds members in the cluster.
 */
public final class DrainingMembers implements Extension {

  static final Key<LWWMap<String, Long>> KEY = LWWMapKey.create("parley-draining-members");

  private final org.apache.pekko.actor.typed.ActorRef<Command> updater;
  private volatile Map<String, Long> deadlines = Map.of();
  // Entity types whose coordinators move a draining node's shards early: the drain waits for those
  // only (the sharded daemon processes' shards, Pekko-allocated, move at the handoff).
  private final Set<String> movedEarlyTypes = ConcurrentHashMap.newKeySet();

  private DrainingMembers(ActorSystem<?> system) {
    this.updater = system.systemActorOf(behavior(), "parley-draining-members", Props.empty());
  }

  public static DrainingMembers get(ActorSystem<?> system) {
    return Id.INSTANCE.apply(system);
  }

  /** The key this node's member is known by, here and in {@link #deadlines()}. */
  public static String keyOf(UniqueAddress member) {
    return member.address() + "#" + member.longUid();
  }

  /**
   * Tells every node that this one drains and wants its shards moved away by {@code deadline}.
   * Written to all reachable nodes at once (the coordinator must know within the window).
   */
  public void announce(Instant deadline) {
    updater.tell(new Announce(deadline.toEpochMilli()));
  }

  /** Draining members by {@link #keyOf}, each with its deadline (epoch milliseconds). */
  public Map<String, Long> deadlines() {
    return deadlines;
  }

  void registerMovedEarly(String typeName) {
    movedEarlyTypes.add(typeName);
  }

  Set<String> movedEarlyTypes() {
    return Set.copyOf(movedEarlyTypes);
  }

  sealed interface Command {}

  private record Announce(long deadlineEpochMillis) implements Command {}

  private record Changed(LWWMap<String, Long> map) implements Command {}

  private record Removed(UniqueAddress member) implements Command {}

  private record WriteDone() implements Command {}

  private Behavior<Command> behavior() {
    return Behaviors.setup(
        context -> {
          SelfUniqueAddress self = DistributedData.get(context.getSystem()).selfUniqueAddress();
          Cluster.get(context.getSystem())
              .subscriptions()
              .tell(
                  Subscribe.create(
                      context.messageAdapter(ClusterEvent.MemberRemoved.class, removed -> new Removed(removed.member().uniqueAddress())),
                      ClusterEvent.MemberRemoved.class));
          return DistributedData.<Command, LWWMap<String, Long>>withReplicatorMessageAdapter(
              replicator -> {
                replicator.subscribe(
                    KEY,
                    response -> response instanceof Replicator.Changed<LWWMap<String, Long>> changed
                        ? new Changed(changed.get(KEY))
                        : new Changed(LWWMap.create()));
                return Behaviors.receive(Command.class)
                    .onMessage(
                        Changed.class,
                        changed -> {
                          deadlines = Map.copyOf(changed.map().getEntries());
                          return Behaviors.same();
                        })
                    .onMessage(
                        Announce.class,
                        announce -> {
                          String me = keyOf(self.uniqueAddress());
                          replicator.askUpdate(
                              replyTo ->
                                  new Replicator.Update<>(
                                      KEY,
                                      LWWMap.create(),
                                      new Replicator.WriteAll(Duration.ofSeconds(2)),
                                      replyTo,
                                      map -> map.put(self, me, announce.deadlineEpochMillis())),
                              response -> new WriteDone());
                          return Behaviors.same();
                        })
                    .onMessage(
                        Removed.class,
                        removed -> {
                          String gone = keyOf(removed.member());
                          if (deadlines.containsKey(gone)) {
                            replicator.askUpdate(
                                replyTo ->
                                    new Replicator.Update<>(
                                        KEY, LWWMap.create(), Replicator.writeLocal(), replyTo, map -> map.remove(self, gone)),
                                response -> new WriteDone());
                          }
                          return Behaviors.same();
                        })
                    .onMessage(WriteDone.class, done -> Behaviors.same())
                    .build();
              });
        });
  }

  public static final class Id extends ExtensionId<DrainingMembers> {
    static final Id INSTANCE = new Id();

    @Override
    public DrainingMembers createExtension(ActorSystem<?> system) {
      return new DrainingMembers(system);
    }
  }
}
