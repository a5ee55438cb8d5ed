package dev.parley.presence;

import static dev.parley.testing.WsClient.frame;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.parley.Node;
import dev.parley.testing.TestCluster;
import dev.parley.testing.WsClient;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.cluster.typed.Cluster;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Presence on a 3-node cluster: a user's devices on different nodes are one presence, and the
 * users of a node that crashes (no leave, no handoff) go offline on the survivors within the
 * stated bound (operations.md, "Presence": failure detection ~2.5 s + unreachable-grace 2 s + one
 * batch interval; this test allows 15 s and prints what it measured), while a user who also has a
 * device on a survivor stays online.
 */
class PresenceClusterIT {

  @RegisterExtension final TestCluster cluster = TestCluster.perTest();

  private static final Map<String, Object> CRASHES = Map.of("pekko.coordinated-shutdown.run-by-actor-system-terminate", "off");

  @Test
  void devicesOnSeveralNodesAreOnePresenceAndACrashedNodesUsersGoOfflineOnTheSurvivors() throws Exception {
    Node first = cluster.startNode();
    Node second = cluster.startNode();
    Node crashing = cluster.startNode(CRASHES);
    String id = UUID.randomUUID().toString().substring(0, 8);
    String alice = "alice-" + id;
    String carol = "carol-" + id;
    String room = "presence-cluster-" + id;

    try (WsClient bob = cluster.connect(first, "bob-" + id)) {
      ObjectNode create = frame("create").put("conversation", room);
      create.putArray("members").add(alice).add(carol);
      assertThat(bob.request(create).path("type").asText()).isEqualTo("created");
      assertThat(bob.request(frame("subscribe").put("conversation", room)).path("type").asText()).isEqualTo("subscribed");
      assertThat(bob.request(frame("presence_subscribe").put("conversation", room)).path("type").asText()).isEqualTo("ok");

      WsClient aliceOnSecond = cluster.connect(second, alice);
      expectStatus(bob, alice, "online");
      WsClient aliceOnCrashing = cluster.connect(crashing, alice);
      WsClient carolOnCrashing = cluster.connect(crashing, carol);
      expectStatus(bob, carol, "online");
      // Away on the crashing node, active on the second: online.
      aliceOnCrashing.request(frame("set_presence").put("status", "away"));
      try (WsClient viewer = cluster.connect(second, carol)) {
        // A second device of carol's, on another node, closes again: carol stays online throughout.
        viewer.pingPong();
      }

      String crashedNode = PresenceSync.nodeId(Cluster.get(crashing.system()).selfMember().uniqueAddress());
      String secondNode = PresenceSync.nodeId(Cluster.get(second.system()).selfMember().uniqueAddress());
      assertThat(nodesWithEntries(first, carol)).as("the crashing node's entry is replicated").contains(crashedNode);
      long crashedAt = System.nanoTime();
      crashing.system().terminate();
      expectStatus(bob, carol, "offline");
      long offlineAfterMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - crashedAt);
      System.out.printf("presence: a crashed node's user shown offline on a survivor after %d ms%n", offlineAfterMs);
      assertThat(offlineAfterMs).as("the bound of operations.md with a margin for this loaded machine").isLessThan(15_000);
      crashing.system().getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
      cluster.forget(crashing);

      // Alice still has her device on the second node: online, on every survivor's view.
      assertThat(bob.framesBeforePong()).noneMatch(f -> statusIn(f, alice).equals("offline") || statusIn(f, carol).equals("online"));
      await().atMost(Duration.ofSeconds(30)).ignoreExceptions().untilAsserted(() -> {
        ObjectNode page = bob.request(frame("presence").put("conversation", room));
        assertThat(statusIn(page.path("members"), alice)).as("%s", page).isEqualTo("online");
        assertThat(statusIn(page.path("members"), carol)).isEqualTo("offline");
      });
      // The other survivor decides on its own (its own failure detector and grace), within the same bound.
      await().atMost(Duration.ofSeconds(15)).untilAsserted(() -> {
        assertThat(Presence.get(second.system()).of(carol).status()).isEqualTo(PresenceEntry.Status.OFFLINE);
        assertThat(Presence.get(second.system()).of(carol).lastSeen()).isNotNull();
      });
      assertThat(Presence.get(second.system()).of(alice).status()).isEqualTo(PresenceEntry.Status.ONLINE);

      // The crashed node leaves nothing behind: the survivors forget its entries once it is removed.
      await().atMost(Duration.ofSeconds(60)).untilAsserted(() -> {
        for (Node survivor : List.of(first, second)) {
          // (carol's viewer on the second node opened and closed within one write round: no entry of the second node.)
          assertThat(nodesWithEntries(survivor, carol)).as("carol's entries on a survivor").doesNotContain(crashedNode);
          assertThat(nodesWithEntries(survivor, alice)).as("alice's entries on a survivor").containsExactly(secondNode);
        }
      });

      aliceOnSecond.close();
      expectStatus(bob, alice, "offline");
      aliceOnCrashing.close();
      carolOnCrashing.close();
    }
  }

  /** The nodes whose entry for {@code user} a node's hub holds. */
  private static Set<String> nodesWithEntries(Node node, String user) throws Exception {
    return PresenceRemovedNodeIT.entriesOf(node, user).keySet();
  }

  private static void expectStatus(WsClient client, String user, String status) {
    client.expect(f -> "presence".equals(f.path("type").asText()) && statusIn(f, user).equals(status), user + " " + status);
  }

  private static String statusIn(JsonNode frameOrMembers, String user) {
    JsonNode users = frameOrMembers.isArray() ? frameOrMembers : frameOrMembers.path("users");
    for (JsonNode u : users) if (u.path("user").asText().equals(user)) return u.path("status").asText();
    return "";
  }
}
