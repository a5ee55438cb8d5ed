package dev.parley.presence;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.javadsl.Adapter;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.serialization.Serialization;
import org.apache.pekko.serialization.SerializationExtension;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The hubs' messages through the real serializer (Jackson CBOR, as between nodes): they round-trip,
 * and the size estimate that keeps every message under its share of Artery's frame is an upper bound.
 */
class PresenceSyncTest {

  private static ActorTestKit testKit;
  private static Serialization serialization;
  private static ActorRef<PresenceHub.Command> hub;

  @BeforeAll
  static void start() {
    testKit = OneNodeCluster.start();
    serialization = SerializationExtension.get(Adapter.toClassic(testKit.system()));
    hub = testKit.spawn(Behaviors.<PresenceHub.Command>ignore(), "presence-hub-stand-in");
  }

  @AfterAll
  static void stop() {
    testKit.shutdownTestKit();
  }

  private static byte[] bytes(Object message) {
    return serialization.serialize(message).get();
  }

  @Test
  void everyMessageRoundTrips() {
    List<PresenceSync.Entry> entries =
        List.of(new PresenceSync.Entry("alice", PresenceEntry.Status.AWAY, 1234L), PresenceSync.Entry.of("bob", null));
    for (Object message :
        List.of(
            new PresenceSync.Changes("7f3a", hub, 12, entries),
            new PresenceSync.Snapshot("7f3a", hub, 12, 1, true, entries),
            new PresenceSync.Tip("7f3a", hub, 12),
            new PresenceSync.SnapshotRequest(hub))) {
      byte[] bytes = bytes(message);
      Object back = serialization.deserialize(bytes, serialization.findSerializerFor(message).identifier(), message.getClass().getName()).get();
      assertThat(back).isEqualTo(message);
    }
    assertThat(entries.get(1).entry()).as("a forgotten user").isNull();
  }

  @Test
  void theEstimateIsAnUpperBoundForEveryUserIdAndTheLongestHostName() {
    String node = Long.toHexString(-1234567890123456789L);
    int empty = bytes(new PresenceSync.Snapshot(node, hub, Long.MAX_VALUE, Integer.MAX_VALUE, true, List.of())).length;
    int host = Adapter.toClassic(testKit.system()).provider().getDefaultAddress().host().get().length();
    assertThat(empty + 253 - host).as("a message without entries, with a 253-byte host name").isLessThanOrEqualTo(PresenceSync.MESSAGE_BYTES);
    List<String> checked = new ArrayList<>();
    for (String user : List.of("u1", "alice-1234", "x".repeat(128), "é".repeat(128), "\uD83D\uDE00".repeat(64))) {
      for (int count : List.of(1, 10, 100)) {
        List<PresenceSync.Entry> entries = new ArrayList<>();
        int estimate = 0;
        for (int i = 0; i < count; i++) {
          String id = user.substring(0, user.length() - 2) + String.format("%02d", i % 100);
          entries.add(new PresenceSync.Entry(id, PresenceEntry.Status.OFFLINE, System.currentTimeMillis()));
          estimate += PresenceSync.ofEntry(id);
          assertThat(PresenceSync.ofEntry(id)).isLessThanOrEqualTo(PresenceSync.MAX_ENTRY_BYTES);
        }
        int measured = bytes(new PresenceSync.Snapshot(node, hub, Long.MAX_VALUE, Integer.MAX_VALUE, true, entries)).length - empty;
        checked.add(user.length() + " x" + count + ": " + measured + " <= " + estimate);
        assertThat(measured).as(checked.get(checked.size() - 1)).isLessThanOrEqualTo(estimate);
      }
    }
    System.out.println("presence message sizes (entries measured <= estimated; empty message " + empty + " bytes): " + checked);
  }

  @Test
  void chunksKeepEveryMessageUnderItsBytesAndLoseNothing() {
    List<PresenceSync.Entry> entries = new ArrayList<>();
    for (int i = 0; i < 1_000; i++) entries.add(new PresenceSync.Entry("user-" + i, PresenceEntry.Status.ONLINE, i));
    int messageBytes = 8 * 1024;
    List<List<PresenceSync.Entry>> chunks = PresenceSync.chunks(entries, messageBytes);
    assertThat(chunks).hasSizeGreaterThan(1);
    assertThat(chunks.stream().flatMap(List::stream).toList()).isEqualTo(entries);
    for (List<PresenceSync.Entry> chunk : chunks) {
      assertThat(bytes(new PresenceSync.Changes("7f3a", hub, 1, chunk)).length).isLessThanOrEqualTo(messageBytes);
    }
    assertThat(PresenceSync.chunks(List.of(), messageBytes)).as("an empty snapshot is one empty part").containsExactly(List.of());
  }
}
