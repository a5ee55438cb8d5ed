package dev.parley.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import com.typesafe.config.ConfigFactory;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.typed.javadsl.Adapter;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The readiness check that keeps a starting node out of load balancers until it listens. */
class ServingHealthCheckTest {

  private final ActorTestKit testKit = ActorTestKit.create(ConfigFactory.empty());

  @AfterEach
  void shutdown() {
    testKit.shutdownTestKit();
  }

  @Test
  void readyOnlyFromTheMomentTheClientPortIsBoundUntilDrainingStarts() throws Exception {
    NodeLifecycle lifecycle = NodeLifecycle.get(testKit.system());
    ServingHealthCheck check = new ServingHealthCheck(Adapter.toClassic(testKit.system()));

    assertThat(check.get().toCompletableFuture().get()).as("before the port is bound").isFalse();
    lifecycle.startedServing();
    assertThat(check.get().toCompletableFuture().get()).as("serving").isTrue();
    lifecycle.startDraining();
    assertThat(check.get().toCompletableFuture().get()).as("draining").isFalse();
  }
}
