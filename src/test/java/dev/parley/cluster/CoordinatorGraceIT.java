package dev.parley.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.parley.Node;
import dev.parley.testing.TestCluster;
import java.time.Duration;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.typed.Cluster;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Which node waits {@code parley.drain.coordinator-grace} before leaving: only the oldest member
 * (where Pekko runs the shard coordinators), and only while another member is up to take its
 * shards. A node alone, or any younger node, leaves at once.
 */
class CoordinatorGraceIT {

  @RegisterExtension final TestCluster cluster = TestCluster.perTest();

  @Test
  void onlyTheOldestNodeWithOthersUpHostsTheCoordinators() throws Exception {
    Node oldest = cluster.startNode();
    assertThat(Drain.hostsSingletonsForOthers(Cluster.get(oldest.system())))
        .as("alone: nobody to re-home the shards to")
        .isFalse();

    Node younger = cluster.startNode();
    await()
        .atMost(Duration.ofSeconds(30))
        .until(() -> upMembers(oldest) == 2 && upMembers(younger) == 2);

    assertThat(Drain.hostsSingletonsForOthers(Cluster.get(oldest.system()))).isTrue();
    assertThat(Drain.hostsSingletonsForOthers(Cluster.get(younger.system()))).isFalse();

    cluster.leave(oldest);
    await()
        .atMost(Duration.ofSeconds(30))
        .until(() -> upMembers(younger) == 1);
    assertThat(Drain.hostsSingletonsForOthers(Cluster.get(younger.system())))
        .as("the survivor is now the oldest, but alone")
        .isFalse();
  }

  private static long upMembers(Node node) {
    return java.util.stream.StreamSupport.stream(Cluster.get(node.system()).state().getMembers().spliterator(), false)
        .filter(m -> m.status() == MemberStatus.up())
        .count();
  }
}
