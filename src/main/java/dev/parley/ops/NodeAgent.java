package dev.parley.ops;

import dev.parley.CborSerializable;
import dev.parley.cluster.AdminRoutes;
import dev.parley.cluster.NodeLifecycle;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.actor.CoordinatedShutdown;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.Props;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.receptionist.Receptionist;
import org.apache.pekko.actor.typed.receptionist.ServiceKey;
import org.apache.pekko.cluster.typed.Cluster;

/**
 * One per node, registered with the receptionist, so an admin route on any node can ask every
 * node what only that node knows (its open connections) or tell one node to drain. Nodes that do
 * not answer within the timeout are left out of the answer, not waited for.
 */
public final class NodeAgent {

  public static final ServiceKey<Command> KEY = ServiceKey.create(Command.class, "parley-node-agent");

  public sealed interface Command extends CborSerializable {}

  public record GetStats(ActorRef<Stats> replyTo) implements Command {}

  /** Leave as on SIGTERM: drain clients, hand off shards, exit. */
  public enum DrainNode implements Command {
    INSTANCE
  }

  public record Stats(String address, int connections, boolean draining) implements CborSerializable {}

  private NodeAgent() {}

  public static void start(ActorSystem<?> system) {
    system.systemActorOf(behavior(), "parley-node-agent", Props.empty());
  }

  private static Behavior<Command> behavior() {
    return Behaviors.setup(
        ctx -> {
          ctx.getSystem().receptionist().tell(Receptionist.register(KEY, ctx.getSelf()));
          NodeLifecycle lifecycle = NodeLifecycle.get(ctx.getSystem());
          String address = Cluster.get(ctx.getSystem()).selfMember().address().toString();
          return Behaviors.receive(Command.class)
              .onMessage(
                  GetStats.class,
                  m -> {
                    m.replyTo().tell(new Stats(address, lifecycle.openConnections(), lifecycle.isDraining()));
                    return Behaviors.same();
                  })
              .onMessage(
                  DrainNode.class,
                  m -> {
                    ctx.getLog().info("drain requested through the admin API");
                    CoordinatedShutdown.get(ctx.getSystem()).runAll(new AdminRoutes.DrainRequested());
                    return Behaviors.same();
                  })
              .build();
        });
  }

  /** The agents of the cluster's nodes, as this node's receptionist knows them. */
  static CompletionStage<List<ActorRef<Command>>> all(ActorSystem<?> system, Duration timeout) {
    return AskPattern.<Receptionist.Command, Receptionist.Listing>ask(
            system.receptionist(), replyTo -> Receptionist.find(KEY, replyTo), timeout, system.scheduler())
        .thenApply(listing -> new ArrayList<>(listing.getServiceInstances(KEY)));
  }

  /** Every node's stats; a node that does not answer in time is missing from the list. */
  static CompletionStage<List<Stats>> stats(ActorSystem<?> system, Duration timeout) {
    return all(system, timeout)
        .thenCompose(
            agents -> {
              List<CompletableFuture<Stats>> answers =
                  agents.stream()
                      .map(
                          agent ->
                              AskPattern.<Command, Stats>ask(agent, GetStats::new, timeout, system.scheduler())
                                  .toCompletableFuture()
                                  .exceptionally(noAnswer -> null))
                      .toList();
              return CompletableFuture.allOf(answers.toArray(CompletableFuture[]::new))
                  .thenApply(done -> answers.stream().map(CompletableFuture::join).filter(s -> s != null).toList());
            });
  }
}
