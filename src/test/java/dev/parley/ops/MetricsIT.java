package dev.parley.ops;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.parley.testing.TestNode;
import dev.parley.testing.WsClient;
import java.time.Duration;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Real websocket traffic against a real node, then {@code GET /metrics} on its management port:
 * the counters moved by exactly what the clients did, the gauges read what is open.
 */
class MetricsIT {

  private static final int SENDS = 5;

  @ParameterizedTest
  @ValueSource(strings = {"h2", "postgres"})
  void countersAndGaugesFollowRealTraffic(String storage) throws Exception {
    try (TestNode node = storage.equals("h2") ? TestNode.onH2() : TestNode.onPostgres()) {
      PrometheusScrape before = PrometheusScrape.of(node.managementUri());
      assertThat(before.value("parley_connections")).isZero();
      assertThat(before.value("parley_sends_total")).isZero();

      WsClient alice = node.connect("alice");
      WsClient bob = node.connect("bob");
      String room = "metrics-" + storage;
      // Frames the clients send: 1 create + SENDS sends from alice, 1 ping from bob.
      ObjectNode created = alice.request(WsClient.frame("create").put("conversation", room));
      assertThat(created.path("type").asText()).isEqualTo("created");
      for (int i = 0; i < SENDS; i++) {
        ObjectNode ack =
            alice.request(WsClient.frame("send").put("conversation", room).put("clientMsgId", "m" + i).put("text", "hello " + i));
        assertThat(ack.path("type").asText()).isEqualTo("ack");
      }
      bob.pingPong();

      PrometheusScrape after = PrometheusScrape.of(node.managementUri());
      assertThat(after.value("parley_connections")).isEqualTo(2);
      assertThat(after.value("parley_sends_total")).isEqualTo(SENDS);
      assertThat(after.value("parley_send_ack_seconds_count")).isEqualTo(SENDS);
      assertThat(after.value("parley_send_ack_seconds_sum")).isPositive();
      assertThat(after.value("parley_persist_seconds_count")).isEqualTo(SENDS);
      assertThat(after.value("parley_frames_total{direction=\"in\"}")).isEqualTo(1 + SENDS + 1);
      assertThat(after.value("parley_frames_total{direction=\"out\"}")).isGreaterThanOrEqualTo(1 + SENDS + 1);
      assertThat(after.value("parley_admission_total{kind=\"connection\",result=\"admitted\"}")).isEqualTo(2);
      assertThat(after.value("parley_admission_total{kind=\"connection\",result=\"rejected\"}")).isZero();
      // The conversation is live on this node, in one of its shards, and recovered (empty journal).
      assertThat(after.value("parley_conversations_active")).isGreaterThanOrEqualTo(1);
      assertThat(after.value("parley_shards")).isGreaterThanOrEqualTo(1);
      assertThat(after.value("parley_conversation_recoveries_total")).isGreaterThanOrEqualTo(1);
      assertThat(after.value("parley_conversation_recovery_seconds_count"))
          .isEqualTo(after.value("parley_conversation_recoveries_total"));
      assertThat(after.value("parley_conversations_recovering")).isZero();
      assertThat(after.value("parley_conversation_resends_total")).isGreaterThanOrEqualTo(0);
      assertThat(after.value("parley_inbox_lag_seconds")).isGreaterThanOrEqualTo(0);
      // The journal's pool (HikariCP MBean): the test node's pool-size is 4, all kept open.
      assertThat(after.value("parley_db_pool_connections{state=\"total\"}")).isEqualTo(4);
      assertThat(after.value("parley_db_pool_connections{state=\"active\"}")).isBetween(0.0, 4.0);
      // The inbox read model's own pool, and its statements (the projection applied the sends).
      assertThat(after.value("parley_inbox_pool_connections{state=\"total\"}")).isPositive();
      // The inbox projection applies the sends asynchronously (it polls the journal): wait for it.
      await("inbox projection statements")
          .atMost(Duration.ofSeconds(10))
          .until(() -> PrometheusScrape.of(node.managementUri()).value("parley_inbox_statements_total") > 0);
      assertThat(after.value("jvm_threads_live_threads")).isPositive();
      assertThat(after.text()).contains("jvm_memory_used_bytes{", "jvm_gc_", "system_cpu_count", "parley_send_ack_seconds_bucket{le=");
      // Counts only: no user, conversation id or text is ever a label or a value.
      assertThat(after.text()).doesNotContain("alice", "hello ", room);

      bob.close();
      await().atMost(Duration.ofSeconds(10)).until(() -> PrometheusScrape.of(node.managementUri()).value("parley_connections") == 1);
      alice.close();
    }
  }
}
