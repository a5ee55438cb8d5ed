package dev.parley.presence;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.parley.ops.Metrics;
import java.time.Duration;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The hub on a one-node cluster of its own: local connections become the merged view, in write rounds. */
class PresenceHubTest {

  private static ActorTestKit testKit;
  private static Presence presence;

  @BeforeAll
  static void start() {
    testKit = OneNodeCluster.start();
    presence = Presence.get(testKit.system());
    presence.start(
        testKit.system(),
        new PresenceSettings(Duration.ofMillis(100), 200, Duration.ofMillis(20), Duration.ofSeconds(2), Duration.ofHours(1), 200, 500, 8 * 1024),
        null);
    // The hub registers its meters when it starts, a moment after start() returns.
    await().atMost(Duration.ofSeconds(10)).until(() -> Metrics.get(testKit.system()).registry().find("parley.presence.write.rounds").counter() != null);
  }

  @AfterAll
  static void stop() {
    testKit.shutdownTestKit();
  }

  @Test
  void twoDevicesAreOnePresenceOnlineAwayThenOfflineWithLastSeen() {
    TestProbe<PresenceHub.Batch> phone = testKit.createTestProbe();
    TestProbe<PresenceHub.Batch> laptop = testKit.createTestProbe();
    presence.connected("alice", phone.ref());
    presence.connected("alice", laptop.ref());
    awaitStatus("alice", PresenceEntry.Status.ONLINE);

    presence.setAway(phone.ref(), true);
    presence.connected("marker", testKit.<PresenceHub.Batch>createTestProbe().ref());
    awaitStatus("marker", PresenceEntry.Status.ONLINE);
    assertThat(presence.of("alice").status()).as("the laptop is active").isEqualTo(PresenceEntry.Status.ONLINE);

    presence.setAway(laptop.ref(), true);
    awaitStatus("alice", PresenceEntry.Status.AWAY);

    long beforeClose = System.currentTimeMillis();
    presence.disconnected(phone.ref());
    presence.disconnected(laptop.ref());
    awaitStatus("alice", PresenceEntry.Status.OFFLINE);
    assertThat(presence.of("alice").lastSeen()).isGreaterThanOrEqualTo(beforeClose);
  }

  @Test
  void anIdleHubRunsNoWriteRoundAndAChangeRunsOne() {
    TestProbe<PresenceHub.Batch> device = testKit.createTestProbe();
    presence.connected("carol", device.ref());
    awaitStatus("carol", PresenceEntry.Status.ONLINE);
    double afterChange = writeRounds();

    // Nothing pending: no round for 25 write intervals (a fixed tick would have run 25).
    await().during(Duration.ofMillis(500)).atMost(Duration.ofSeconds(5)).until(() -> writeRounds() == afterChange);

    presence.setAway(device.ref(), true);
    awaitStatus("carol", PresenceEntry.Status.AWAY);
    assertThat(writeRounds()).as("one round for one change").isEqualTo(afterChange + 1);
    presence.disconnected(device.ref());
    awaitStatus("carol", PresenceEntry.Status.OFFLINE);
  }

  @Test
  void aBurstLargerThanOneMessageIsSentAsSeveralNumberedBatches() {
    // 600 entries of ~58 estimated bytes (PresenceSync#ofEntry) against 8 KiB messages: at least 5 batches.
    double batches = counter("parley.presence.sync.batches");
    java.util.List<TestProbe<PresenceHub.Batch>> devices = new java.util.ArrayList<>();
    for (int i = 0; i < 600; i++) {
      TestProbe<PresenceHub.Batch> device = testKit.createTestProbe();
      devices.add(device);
      presence.connected("burst-" + i, device.ref());
    }
    awaitAll("burst-", 600, PresenceEntry.Status.ONLINE);
    assertThat(counter("parley.presence.sync.batches") - batches).as("batches for the burst").isGreaterThanOrEqualTo(5);
    devices.forEach(d -> presence.disconnected(d.ref()));
    awaitAll("burst-", 600, PresenceEntry.Status.OFFLINE);
  }

  private static void awaitAll(String prefix, int count, PresenceEntry.Status status) {
    await()
        .atMost(Duration.ofSeconds(10))
        .until(() -> java.util.stream.IntStream.range(0, count).allMatch(i -> presence.of(prefix + i).status() == status));
  }

  private static double counter(String name) {
    return Metrics.get(testKit.system()).registry().get(name).counter().count();
  }

  private static double writeRounds() {
    return Metrics.get(testKit.system()).registry().get("parley.presence.write.rounds").counter().count();
  }

  private static void awaitStatus(String user, PresenceEntry.Status status) {
    await().atMost(Duration.ofSeconds(10)).until(() -> presence.of(user).status() == status);
  }
}
