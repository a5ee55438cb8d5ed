package dev.parley.cluster;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.Supplier;
import org.apache.pekko.actor.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Adapter;

/** Readiness check (Pekko Management): false from the moment the node starts draining. */
public final class DrainHealthCheck implements Supplier<CompletionStage<Boolean>> {

  private final NodeLifecycle lifecycle;

  public DrainHealthCheck(ActorSystem system) {
    this.lifecycle = NodeLifecycle.get(Adapter.toTyped(system));
  }

  @Override
  public CompletionStage<Boolean> get() {
    return CompletableFuture.completedFuture(!lifecycle.isDraining());
  }
}
