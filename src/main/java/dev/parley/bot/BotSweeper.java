package dev.parley.bot;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.ClusterEvent;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Subscribe;
import org.apache.pekko.cluster.typed.ClusterSingleton;
import org.apache.pekko.cluster.typed.SingletonActor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Wakes runners that are behind (last handled below last seen) now and then: the projection wakes a
 * runner once per batch, and that wake is lost when the runner's node dies before it handled the
 * events, or when the node restarts. One per cluster (a singleton), at most {@link #PER_SWEEP}
 * runners per sweep, so that a restart does not wake every bot of the cluster at once.
 *
 * <p>Besides every {@code sweep-interval}, it sweeps {@link #AFTER_REMOVAL} after a member is
 * removed: that is when a crashed node's runners can first get a new home, and waiting for the
 * next regular sweep added up to a whole interval (5 s) to a bot's silence after a crash (issue 17).
 */
final class BotSweeper {

  private static final Logger log = LoggerFactory.getLogger(BotSweeper.class);

  static final int PER_SWEEP = 500;

  /**
   * After a removal, the shard coordinator re-homes the removed member's shards once
   * {@code down-removal-margin} (1 s) has passed; a wake sent before is buffered by the region
   * until then, so a little more than the margin is early enough and not too early.
   */
  static final Duration AFTER_REMOVAL = Duration.ofMillis(1500);

  sealed interface Command {}

  private enum Sweep implements Command {
    INSTANCE
  }

  private record Swept(List<BotStore.Wake> wakes, Throwable failure) implements Command {}

  private record MemberRemoved(ClusterEvent.MemberRemoved removed) implements Command {}

  /** Timer key of the sweep after a removal, apart from the regular one so neither replaces the other. */
  private static final String AFTER_REMOVAL_TIMER = "after-removal";

  private BotSweeper() {}

  static void init(ActorSystem<?> system, BotStore store, Executor blocking, Bots bots, Duration interval) {
    ClusterSingleton.get(system).init(SingletonActor.of(create(store, blocking, bots, interval), "bot-sweeper"));
  }

  private static Behavior<Command> create(BotStore store, Executor blocking, Bots bots, Duration interval) {
    return Behaviors.setup(
        ctx ->
            Behaviors.withTimers(
                timers -> {
                  ctx.getSelf().tell(Sweep.INSTANCE);
                  Cluster.get(ctx.getSystem())
                      .subscriptions()
                      .tell(Subscribe.create(ctx.messageAdapter(ClusterEvent.MemberRemoved.class, MemberRemoved::new), ClusterEvent.MemberRemoved.class));
                  return Behaviors.receive(Command.class)
                      .onMessage(
                          MemberRemoved.class,
                          removed -> {
                            log.info("member {} removed: sweeping for its bot runners in {} ms", removed.removed().member().address(), AFTER_REMOVAL.toMillis());
                            timers.startSingleTimer(AFTER_REMOVAL_TIMER, Sweep.INSTANCE, AFTER_REMOVAL);
                            return Behaviors.same();
                          })
                      .onMessageEquals(
                          Sweep.INSTANCE,
                          () -> {
                            ctx.pipeToSelf(
                                CompletableFuture.supplyAsync(() -> store.behind(bots.enabledNames(), PER_SWEEP), blocking),
                                Swept::new);
                            return Behaviors.same();
                          })
                      .onMessage(
                          Swept.class,
                          swept -> {
                            if (swept.failure() != null) {
                              log.warn("bot sweep failed: {}", swept.failure().toString());
                            } else {
                              swept.wakes().forEach(bots::wake);
                            }
                            timers.startSingleTimer(Sweep.INSTANCE, interval);
                            return Behaviors.same();
                          })
                      .build();
                }));
  }
}
