package dev.parley.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.parley.Node;
import dev.parley.testing.TcpProxy;
import dev.parley.testing.TestCluster;
import dev.parley.testing.WsClient;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.Address;
import org.apache.pekko.cluster.typed.Cluster;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * One node of three is cut off from the others' remoting (a real TCP proxy in front of its
 * remoting port stops forwarding; its clients still reach it over HTTP): the split brain resolver
 * keeps the two-node side, the cut-off node downs itself, and its conversations are served again
 * on the kept side. While both sides run, no conversation has two writers: the cut-off node stops
 * acknowledging writes (it sees itself on the losing side, dev.parley.cluster.PartitionSide)
 * before the kept side acknowledges its first write to any of its conversations, and afterwards
 * every acknowledged message is in its history exactly once, with no gap.
 */
class PartitionIT {

  @RegisterExtension final TestCluster cluster = TestCluster.perTest();

  /** An acknowledged write, and when (nanoTime). */
  record TimedAck(String conversation, String clientMsgId, long seq, long at) {}

  @Test
  void theMajorityKeepsServingAndTheCutOffNodeStopsWritingBeforeTheMajorityTakesOver() throws Exception {
    Node first = cluster.startNode();
    Node second = cluster.startNode();
    int remotingPort;
    try (ServerSocket free = new ServerSocket(0)) {
      remotingPort = free.getLocalPort();
    }
    try (TcpProxy remoting = new TcpProxy("127.0.0.1", remotingPort)) {
      // The others know the cut-off node by the proxy's port (its canonical address); it listens
      // behind it. Cutting the proxy stops everything the others send it; what it sends them
      // goes unanswered, so each side finds the other unreachable.
      Node cutOff =
          cluster.startNode(Map.of("parley.cluster.port", remoting.port(), "pekko.remote.artery.bind.port", remotingPort));
      Address cutOffAddress = Cluster.get(cutOff.system()).selfMember().address();

      try (WsClient alice = cluster.connect(first, "alice")) {
        List<String> conversations = AcknowledgedSends.createConversations(alice, "partition", 30);
        Set<String> onCutOff = AcknowledgedSends.conversationsOn(cutOff);
        List<String> targets = conversations.stream().filter(onCutOff::contains).toList();
        assertThat(targets).as("conversations whose shards are on the node to be cut off").isNotEmpty();
        AcknowledgedSends before = new AcknowledgedSends(alice);
        for (String conversation : targets) before.send(conversation, "before-" + conversation);

        ExecutorService users = Executors.newFixedThreadPool(targets.size() + 1);
        List<WsClient> majorityClients = new ArrayList<>();
        WsClient minorityClient = cluster.connect(cutOff, "alice");
        try {
          for (int i = 0; i < targets.size(); i++) majorityClients.add(cluster.connect(i % 2 == 0 ? first : second, "alice"));
          long cutAt = System.nanoTime();
          remoting.cut();

          // A user still connected to the cut-off node keeps writing to its conversations.
          List<TimedAck> minorityAcks = new CopyOnWriteArrayList<>();
          List<Long> cutOffRefusals = new CopyOnWriteArrayList<>();
          Future<Integer> minority = users.submit(() -> writeUntilGone(minorityClient, cutOff, targets, minorityAcks, cutOffRefusals));
          // Users connected to the kept side write to the same conversations until acknowledged.
          Map<String, Long> firstMajorityAck = new ConcurrentHashMap<>();
          List<Future<AcknowledgedSends>> majority = new ArrayList<>();
          for (int i = 0; i < targets.size(); i++) {
            String conversation = targets.get(i);
            WsClient client = majorityClients.get(i);
            majority.add(
                users.submit(
                    () -> {
                      AcknowledgedSends sends = new AcknowledgedSends(client);
                      sends.send(conversation, "majority-" + conversation);
                      firstMajorityAck.put(conversation, System.nanoTime());
                      return sends;
                    }));
          }
          List<AcknowledgedSends> majoritySends = new ArrayList<>();
          for (Future<AcknowledgedSends> f : majority) majoritySends.add(f.get(120, TimeUnit.SECONDS));
          assertThat(firstMajorityAck).as("the kept side serves every conversation of the cut-off node").containsOnlyKeys(targets);

          await("the cut-off node downs itself and stops")
              .atMost(Duration.ofSeconds(60))
              .until(() -> cutOff.system().getWhenTerminated().toCompletableFuture().isDone());
          cluster.forget(cutOff);
          int refusedOnMinority = minority.get(30, TimeUnit.SECONDS);
          // Downed, the node serves nothing: its clients are told so and moved at once (no
          // handover), not over a leaving node's drain window.
          ObjectNode reconnect = minorityClient.expect("reconnect");
          assertThat(reconnect.path("reason").asText()).as("the reconnect frame of a downed node").isEqualTo("downed");
          assertThat(reconnect.path("closeInMs").asLong()).as("a downed node's connections close right after the hint").isZero();
          assertThat(Cluster.get(first.system()).state().getMembers()).extracting(m -> m.address()).doesNotContain(cutOffAddress);

          long servedAgain = firstMajorityAck.values().stream().mapToLong(Long::longValue).min().orElseThrow();
          System.out.printf(
              "partition: the cut-off node acknowledged %d writes after the cut (the last %d ms after it) and refused %d; the kept side served its conversations %d..%d ms after the cut%n",
              minorityAcks.size(),
              minorityAcks.stream().mapToLong(a -> (a.at() - cutAt) / 1_000_000).max().orElse(-1),
              refusedOnMinority,
              (servedAgain - cutAt) / 1_000_000,
              (firstMajorityAck.values().stream().mapToLong(Long::longValue).max().orElseThrow() - cutAt) / 1_000_000);
          assertThat(refusedOnMinority).as("the cut-off node refused writes before it stopped").isPositive();
          // Refused by PartitionSide (its reason), not by a shard handoff during the node's shutdown:
          // the cut-off node stopped writing on its own, before anything was decided.
          assertThat(cutOffRefusals).as("writes refused because the node is cut off from the cluster").isNotEmpty();
          long firstCutOffRefusal = cutOffRefusals.get(0);
          assertThat(minorityAcks).allSatisfy(a -> assertThat(a.at()).as("no ack after the first cut-off refusal").isLessThan(firstCutOffRefusal));
          for (TimedAck ack : minorityAcks) {
            assertThat(ack.at())
                .as("%s acknowledged on the cut-off node before the kept side's first write to %s", ack.clientMsgId(), ack.conversation())
                .isLessThan(firstMajorityAck.get(ack.conversation()));
          }

          try (WsClient reader = cluster.connect(second, "alice")) {
            before.assertEachInHistoryExactlyOnce(reader);
            for (AcknowledgedSends sends : majoritySends) sends.assertEachInHistoryExactlyOnce(reader);
            assertMinorityAcksInHistoryExactlyOnce(reader, minorityAcks);
          }
        } finally {
          users.shutdownNow();
          majorityClients.forEach(WsClient::close);
          minorityClient.abort();
        }
      }
    }
  }

  /**
   * Writes new messages round-robin to {@code conversations} through {@code client} until its node
   * has stopped; acknowledged ones are recorded, and when a refusal said the node is cut off from
   * the cluster. Returns how many were refused.
   */
  private static int writeUntilGone(WsClient client, Node node, List<String> conversations, List<TimedAck> acks, List<Long> cutOffRefusals) {
    int refused = 0;
    for (int n = 0; !node.system().getWhenTerminated().toCompletableFuture().isDone() && client.isOpen(); n++) {
      String conversation = conversations.get(n % conversations.size());
      String clientMsgId = "minority-" + n;
      ObjectNode reply;
      try {
        reply = client.request(WsClient.frame("send").put("conversation", conversation).put("clientMsgId", clientMsgId).put("text", "hi " + n));
      } catch (RuntimeException | AssertionError e) {
        break; // the node closed the connection as it stopped
      }
      if ("ack".equals(reply.path("type").asText())) {
        acks.add(new TimedAck(conversation, clientMsgId, reply.path("seq").asLong(), System.nanoTime()));
      } else {
        refused++;
        if (reply.path("message").asText().contains("cut off")) cutOffRefusals.add(System.nanoTime());
      }
    }
    return refused;
  }

  private static void assertMinorityAcksInHistoryExactlyOnce(WsClient reader, List<TimedAck> acks) {
    Map<String, List<TimedAck>> byConversation = new HashMap<>();
    acks.forEach(a -> byConversation.computeIfAbsent(a.conversation(), c -> new ArrayList<>()).add(a));
    byConversation.forEach(
        (conversation, sent) -> {
          Map<String, List<Long>> seqsByClientMsgId = new HashMap<>();
          AcknowledgedSends.fullHistory(reader, conversation).stream()
              .filter(e -> "message".equals(e.path("type").asText()))
              .forEach(e -> seqsByClientMsgId.computeIfAbsent(e.path("clientMsgId").asText(), k -> new ArrayList<>()).add(e.path("seq").asLong()));
          for (TimedAck ack : sent) {
            assertThat(seqsByClientMsgId.get(ack.clientMsgId()))
                .as("history of %s holds %s, acknowledged by the cut-off node, once at its seq", conversation, ack.clientMsgId())
                .containsExactly(ack.seq());
          }
        });
  }
}
