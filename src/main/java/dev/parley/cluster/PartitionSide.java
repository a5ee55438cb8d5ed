package dev.parley.cluster;

import java.util.Comparator;
import java.util.List;
import java.util.Set;
import java.util.stream.StreamSupport;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Extension;
import org.apache.pekko.actor.typed.ExtensionId;
import org.apache.pekko.cluster.ClusterEvent;
import org.apache.pekko.cluster.Member;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.typed.Cluster;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Whether this node may write to conversations: it is not downed, and it is on the side of a
 * partition that the split brain resolver's keep-majority strategy keeps (more reachable members
 * than unreachable ones, or as many and the lowest address among them).
 *
 * <p>Why: the split brain resolver decides only after {@code stable-after}, and the surviving
 * side starts the other side's conversations {@code down-removal-margin} after the downed members
 * are removed. Until its own decision, the side that will be downed still hosts its shards and
 * its clients still send. Refusing those writes as soon as the node sees itself on the losing side
 * (when the failure detector marks the others unreachable, seconds before any decision) means that
 * a conversation never has two writers, with a short margin. The answer is the one of a database
 * outage: {@code unavailable}, and the client retries (on another node, after its reconnect).
 *
 * <p>The same rule as {@code org.apache.pekko.cluster.sbr.KeepMajority}: members that are
 * Joining, WeaklyUp, Down or Exiting do not count. The answer is recomputed only when the cluster
 * state object changes (Pekko replaces it on every membership or reachability event).
 */
public final class PartitionSide implements Extension {

  private static final Logger log = LoggerFactory.getLogger(PartitionSide.class);
  private static final Set<MemberStatus> COUNTED = Set.of(MemberStatus.up(), MemberStatus.leaving());

  private final Cluster cluster;
  private volatile ClusterEvent.CurrentClusterState seen;
  private volatile boolean mayWrite = true;

  private PartitionSide(ActorSystem<?> system) {
    this.cluster = Cluster.get(system);
  }

  public static PartitionSide get(ActorSystem<?> system) {
    return Id.INSTANCE.apply(system);
  }

  /** False while this node is downed or on the side of a partition that will be downed. */
  public boolean mayWrite() {
    ClusterEvent.CurrentClusterState state = cluster.state();
    if (state != seen) {
      boolean now = decide(cluster.selfMember(), state);
      if (now != mayWrite) {
        if (now) log.info("this node is on the kept side of the cluster again: writes reach the conversations");
        else log.warn("this node is downed or on the side of a partition that will be downed: writes are answered unavailable");
      }
      mayWrite = now;
      seen = state;
    }
    return mayWrite;
  }

  static boolean decide(Member self, ClusterEvent.CurrentClusterState state) {
    MemberStatus own = self.status();
    if (own == MemberStatus.down() || own == MemberStatus.removed()) return false;
    if (!COUNTED.contains(own)) return true; // not yet Up (or Exiting): sharding sends it nothing to write
    Set<Member> unreachable = state.getUnreachable();
    List<Member> counted =
        StreamSupport.stream(state.getMembers().spliterator(), false)
            .filter(m -> COUNTED.contains(m.status()))
            .sorted(Comparator.comparing(Member::address, Member.addressOrdering()::compare))
            .toList();
    if (counted.isEmpty()) return true;
    long lost = counted.stream().filter(unreachable::contains).count();
    long kept = counted.size() - lost;
    if (kept != lost) return kept > lost;
    return !unreachable.contains(counted.get(0));
  }

  static final class Id extends ExtensionId<PartitionSide> {
    static final Id INSTANCE = new Id();

    @Override
    public PartitionSide createExtension(ActorSystem<?> system) {
      return new PartitionSide(system);
    }
  }
}
