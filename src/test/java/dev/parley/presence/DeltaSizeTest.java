package dev.parley.presence;

import static org.assertj.core.api.Assertions.assertThat;

import com.typesafe.config.ConfigFactory;
import java.util.ArrayList;
import java.util.List;
import org.apache.pekko.actor.ActorSystem;
import org.apache.pekko.actor.Address;
import org.apache.pekko.cluster.UniqueAddress;
import org.apache.pekko.cluster.ddata.LWWMap;
import org.apache.pekko.cluster.ddata.SelfUniqueAddress;
import org.apache.pekko.serialization.Serialization;
import org.apache.pekko.serialization.SerializationExtension;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** DeltaSize's estimate against the bytes Pekko's own serializers produce for presence deltas. */
class DeltaSizeTest {

  private static ActorSystem system;
  private static Serialization serialization;

  @BeforeAll
  static void start() {
    system =
        ActorSystem.create(
            "delta-size",
            ConfigFactory.parseString(
                    """
                    pekko.actor.provider = cluster
                    pekko.remote.artery.canonical.hostname = 127.0.0.1
                    pekko.remote.artery.canonical.port = 0
                    pekko.cluster.jmx.multi-mbeans-in-same-jvm = on
                    """)
                .withFallback(ConfigFactory.parseResources("serialization.conf"))
                .withFallback(ConfigFactory.load()));
    serialization = SerializationExtension.get(system);
  }

  @AfterAll
  static void stop() {
    system.terminate();
  }

  @Test
  void theEstimateCoversEveryMeasuredPutAndRemoveWithoutWastingMoreThanHalf() {
    List<String> checked = new ArrayList<>();
    for (String host : List.of("127.0.0.1", "parley-node-17.presence.example.internal")) {
      SelfUniqueAddress self = new SelfUniqueAddress(new UniqueAddress(new Address("pekko", "parley", host, 25520), -1234567890123456789L));
      String node = PresenceKeys.nodeId(self.uniqueAddress());
      for (String user : List.of("u1", "alice-1234", "x".repeat(128), "é".repeat(128), "\uD83D\uDE00".repeat(64))) {
        for (int entries : List.of(1, 10)) {
          LWWMap<String, PresenceEntry> map = LWWMap.<String, PresenceEntry>create().resetDelta();
          int estimate = 0;
          for (int i = 0; i < entries; i++) {
            String entryKey = PresenceKeys.entryKey(node, i == 0 ? user : user.substring(0, user.length() - 2) + String.format("%02d", i));
            map = map.put(self, entryKey, new PresenceEntry(PresenceEntry.Status.AWAY, System.currentTimeMillis()));
            estimate += DeltaSize.ofEntry(entryKey, DeltaSize.hostBytes(host));
          }
          int puts = serialization.serialize(map.delta().get()).get().length;
          String first = map.getEntries().keySet().iterator().next();
          int removal = serialization.serialize(map.resetDelta().remove(self, first).delta().get()).get().length;
          checked.add(host + " " + user.length() + " x" + entries + ": " + puts + " <= " + estimate);
          assertThat(estimate).as("put of %s", checked.get(checked.size() - 1)).isGreaterThanOrEqualTo(puts).isLessThan(puts * 3 / 2);
          assertThat(DeltaSize.ofEntry(first, DeltaSize.hostBytes(host))).as("removal").isGreaterThanOrEqualTo(removal);
          assertThat(DeltaSize.ofEntry(first, DeltaSize.hostBytes(host))).isLessThanOrEqualTo(DeltaSize.MAX_ENTRY_BYTES);
        }
      }
    }
    System.out.println("presence delta sizes (measured <= estimated): " + checked);
  }
}
