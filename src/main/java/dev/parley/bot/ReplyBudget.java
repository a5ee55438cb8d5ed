package dev.parley.bot;

import io.github.bucket4j.Bandwidth;
import io.github.bucket4j.Bucket;
import io.github.bucket4j.BucketConfiguration;
import io.github.bucket4j.ConsumptionProbe;
import io.github.bucket4j.TokensInheritanceStrategy;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.IntConsumer;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.Props;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.ClusterEvent;
import org.apache.pekko.cluster.Member;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Subscribe;

/**
 * A bot's cluster-wide reply budget (issue 17): {@code perSecond} replies (and {@code burst}) for the
 * whole cluster, each node holding an equal share, budget / reachable Up members, re-divided
 * whenever a member comes, goes or becomes (un)reachable. When a node leaves for a deploy its
 * share goes to the others, so the bot's capacity stays what it was instead of falling by a third
 * exactly when a backlog forms. No coordination per reply: each node consumes from its own bucket.
 * For a moment around a membership change the shares can add up to a little more than the budget
 * (a leaving node still serves with its old share); never to less.
 */
final class ReplyBudget {

  private final double perSecond;
  private final long burst;
  private final Bucket bucket;
  private volatile int shares = 1;

  ReplyBudget(double perSecond, long burst) {
    this.perSecond = perSecond;
    this.burst = burst;
    this.bucket = Bucket.builder().addLimit(share(1)).build();
  }

  /** Takes one reply from this node's share, or says how long until one is there. */
  ConsumptionProbe tryConsume() {
    return bucket.tryConsumeAndReturnRemaining(1);
  }

  /** This node's refill rate, replies per second. */
  double perSecondHere() {
    return perSecond / shares;
  }

  /** The budget is now shared by {@code nodes} nodes. */
  void sharedBy(int nodes) {
    int n = Math.max(1, nodes);
    if (n == shares) return;
    shares = n;
    // Tokens saved up stay (AS_IS, capped at the new capacity): a re-division is no burst.
    bucket.replaceConfiguration(BucketConfiguration.builder().addLimit(share(n)).build(), TokensInheritanceStrategy.AS_IS);
  }

  private Bandwidth share(int nodes) {
    double rate = perSecond / nodes;
    return Bandwidth.builder()
        .capacity(Math.max(1, burst / nodes))
        .refillGreedy(1, Duration.ofNanos(Math.max(1, (long) (1_000_000_000L / rate))))
        .build();
  }

  /**
   * Tells {@code nodes} the number of reachable Up members now and after every change of
   * membership or reachability (an actor subscribed to the cluster's events).
   */
  static void watchMembers(ActorSystem<?> system, IntConsumer nodes) {
    system.systemActorOf(watcher(nodes), "bot-reply-budget", Props.empty());
  }

  private static Behavior<Object> watcher(IntConsumer nodes) {
    return Behaviors.setup(
        ctx -> {
          Cluster cluster = Cluster.get(ctx.getSystem());
          cluster.subscriptions().tell(Subscribe.create(ctx.getSelf().narrow(), ClusterEvent.MemberEvent.class));
          cluster.subscriptions().tell(Subscribe.create(ctx.getSelf().narrow(), ClusterEvent.ReachabilityEvent.class));
          nodes.accept(upAndReachable(cluster));
          return Behaviors.receiveMessage(
              event -> {
                nodes.accept(upAndReachable(cluster));
                return Behaviors.same();
              });
        });
  }

  private static int upAndReachable(Cluster cluster) {
    ClusterEvent.CurrentClusterState state = cluster.state();
    List<Member> unreachable = new ArrayList<>(state.getUnreachable());
    int count = 0;
    for (Member m : state.getMembers()) {
      if (m.status() == MemberStatus.up() && !unreachable.contains(m)) count++;
    }
    return count;
  }
}
