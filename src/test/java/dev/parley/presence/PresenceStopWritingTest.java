package dev.parley.presence;

import static org.awaitility.Awaitility.await;

import dev.parley.ops.Metrics;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.pekko.Done;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A hub told that its node is exiting the cluster (CoordinatedShutdown's cluster-exiting, see
 * Presence#start) sends nothing more: the connections a leaving node closes after that point do
 * not each become a batch the survivors ignore once the node is removed.
 */
class PresenceStopWritingTest {

  private static ActorTestKit testKit;

  @BeforeAll
  static void start() {
    testKit = OneNodeCluster.start();
  }

  @AfterAll
  static void stop() {
    testKit.shutdownTestKit();
  }

  @Test
  void afterStopWritingAClosedConnectionIsNotWritten() {
    Map<String, UserPresence> view = new ConcurrentHashMap<>();
    ActorRef<PresenceHub.Command> hub =
        testKit.spawn(
            PresenceHub.create(
                new PresenceSettings(Duration.ofMillis(100), 200, Duration.ofMillis(20), Duration.ofSeconds(2), Duration.ofHours(1), 200, 500, 64 * 1024),
                null,
                view));
    TestProbe<PresenceHub.Batch> device = testKit.createTestProbe();
    hub.tell(new PresenceHub.Connected("dave", device.ref()));
    await().atMost(Duration.ofSeconds(10)).until(() -> view.containsKey("dave") && view.get("dave").status() == PresenceEntry.Status.ONLINE);

    TestProbe<Done> stopped = testKit.createTestProbe();
    hub.tell(new PresenceHub.StopWriting(stopped.ref()));
    stopped.expectMessage(Done.getInstance());
    double rounds = writeRounds();

    hub.tell(new PresenceHub.Disconnected(device.ref()));
    hub.tell(new PresenceHub.Connected("erin", testKit.<PresenceHub.Batch>createTestProbe().ref()));
    // 25 write intervals: neither change is sent, and no round even starts.
    await()
        .during(Duration.ofMillis(500))
        .atMost(Duration.ofSeconds(5))
        .until(() -> writeRounds() == rounds && view.get("dave").status() == PresenceEntry.Status.ONLINE && !view.containsKey("erin"));
  }

  private static double writeRounds() {
    return Metrics.get(testKit.system()).registry().get("parley.presence.write.rounds").counter().count();
  }
}
