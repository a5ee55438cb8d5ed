package dev.parley.cluster;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.Supplier;
import org.apache.pekko.actor.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Adapter;

/**
 * Readiness check (Pekko Management): true once the node accepts client connections (its HTTP port
 * is bound, the last step of its start) and until it starts draining. The other checks (cluster
 * member Up, conversation shard region registered, database) pass seconds before the port is bound
 * on a busy machine: a rolling restart that trusted them stopped the next node while this one still
 * refused the clients it was about to receive.
 */
public final class ServingHealthCheck implements Supplier<CompletionStage<Boolean>> {

  private final NodeLifecycle lifecycle;

  public ServingHealthCheck(ActorSystem system) {
    this.lifecycle = NodeLifecycle.get(Adapter.toTyped(system));
  }

  @Override
  public CompletionStage<Boolean> get() {
    return CompletableFuture.completedFuture(lifecycle.isServing() && !lifecycle.isDraining());
  }
}
