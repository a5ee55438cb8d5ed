package dev.parley.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import dev.parley.testing.TestNode;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.pekko.Done;
import org.apache.pekko.actor.ActorRef;
import org.apache.pekko.actor.CoordinatedShutdown;
import org.apache.pekko.actor.typed.javadsl.Adapter;
import org.apache.pekko.cluster.sharding.ClusterSharding;
import org.apache.pekko.cluster.sharding.ShardRegion;
import org.junit.jupiter.api.Test;

/**
 * A node that is the cluster's only member stops its shard regions once they hold no shards, even
 * when messages keep arriving for shards that have no home: the coordinator allocates nothing to a
 * region that is shutting down and there is no other region, so Pekko's region would keep them
 * buffered until its shutdown timer (phase timeout − 1 s). Here conversations nobody has started
 * yet are asked for throughout the region-shutdown phase, as a client's sends or the daemon
 * processes' keep-alive pings arrive at a stopping node, and the phase is long (60 s), so a node
 * that waits for it is told apart from one that does not by a wide margin.
 */
class SoleMemberHandoffIT {

  private static final Duration PHASE = Duration.ofSeconds(60);
  private static final Duration ASKING_FOR = Duration.ofSeconds(2);

  @Test
  void aSoleMemberStopsItsRegionsWithoutWaitingForMessagesNoShardCanTakeAnyMore() throws Exception {
    TestNode node =
        TestNode.onH2(Map.of("pekko.coordinated-shutdown.phases.cluster-sharding-shutdown-region.timeout", PHASE.toSeconds() + "s"));
    ScheduledExecutorService sender = Executors.newSingleThreadScheduledExecutor();
    AtomicInteger asked = new AtomicInteger();
    try {
      var system = node.node().system();
      ActorRef conversations = ClusterSharding.get(Adapter.toClassic(system)).shardRegion("Conversation");
      CoordinatedShutdown.get(system)
          .addTask(
              CoordinatedShutdown.PhaseClusterShardingShutdownRegion(),
              "test-messages-for-homeless-shards",
              () -> askForNewConversations(sender, conversations, asked));

      long started = System.nanoTime();
      node.stop();
      Duration stopping = Duration.ofNanos(System.nanoTime() - started);

      assertThat(asked.get()).as("entities asked for during the region-shutdown phase").isGreaterThan(10);
      assertThat(stopping).as("time to stop: the phase is %s", PHASE).isLessThan(PHASE.dividedBy(2));
    } finally {
      sender.shutdownNow();
      node.close();
    }
  }

  /** New conversation ids every 20 ms for {@link #ASKING_FOR}: their shards have no home yet. */
  private static CompletionStage<Done> askForNewConversations(ScheduledExecutorService sender, ActorRef region, AtomicInteger asked) {
    CompletableFuture<Done> finished = new CompletableFuture<>();
    long until = System.nanoTime() + ASKING_FOR.toNanos();
    sender.scheduleAtFixedRate(
        () -> {
          if (System.nanoTime() > until) {
            finished.complete(Done.getInstance());
            return;
          }
          region.tell(new ShardRegion.StartEntity("sole-member-" + asked.incrementAndGet()), ActorRef.noSender());
        },
        0,
        20,
        TimeUnit.MILLISECONDS);
    return finished;
  }
}
