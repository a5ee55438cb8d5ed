package dev.parley.bot;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.typed.ClusterSingleton;
import org.apache.pekko.cluster.typed.SingletonActor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Wakes runners that are behind (last handled below last seen) now and then: the projection wakes a
 * runner once per batch, and that wake is lost when the runner's node dies before it handled the
 * events, or when the node restarts. One per cluster (a singleton), at most {@link #PER_SWEEP}
 * runners per sweep, so that a restart does not wake every bot of the cluster at once.
 */
final class BotSweeper {

  private static final Logger log = LoggerFactory.getLogger(BotSweeper.class);

  static final int PER_SWEEP = 500;

  sealed interface Command {}

  private enum Sweep implements Command {
    INSTANCE
  }

  private record Swept(List<BotStore.Wake> wakes, Throwable failure) implements Command {}

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
                  return Behaviors.receive(Command.class)
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
