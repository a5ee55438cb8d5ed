package dev.parley.conversation;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.parley.ParleyConfig;
import dev.parley.storage.Storage;
import dev.parley.testing.ApiClient;
import dev.parley.testing.TestNode;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.typed.ActorSystem;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The warm-up a node runs before it is ready recovers real conversations (snapshot and events, as
 * their entities do), writes nothing, and leaves the conversations working where they live.
 */
class RecoveryWarmUpIT {

  @ParameterizedTest(name = "{0}")
  @MethodSource("dev.parley.testing.TestNode#storages")
  void recoversTheNewestConversationsAsTheirEntitiesWouldWithoutWritingAnything(String storage, TestNode.Factory factory) throws Exception {
    try (TestNode node = factory.start()) {
      ActorSystem<Void> system = node.node().system();
      ParleyConfig settings = ParleyConfig.from(system.settings().config());
      ConversationState.Limits limits =
          new ConversationState.Limits(settings.conversation().recentWindow(), settings.conversation().idempotencyWindow());
      // Three conversations, the busiest past a snapshot, written oldest first.
      int messages = TestNode.SNAPSHOT_EVERY + 2;
      List<String> conversations = new ArrayList<>();
      for (int i = 0; i < 3; i++) conversations.add(conversationWith(node, i == 2 ? messages : 1));
      long eventsBefore = count(node, "event_journal");
      // Snapshots are saved beside the writes, after their acks (Snapshots): wait until they are stored.
      long snapshotsBefore =
          snapshotPoints(conversations.get(0), 2) + snapshotPoints(conversations.get(1), 2) + snapshotPoints(conversations.get(2), 1 + messages);
      assertThat(snapshotsBefore).isPositive();
      await().atMost(Duration.ofSeconds(10)).until(() -> count(node, "snapshot") == snapshotsBefore);

      assertThat(RecoveryWarmUp.recentConversations(Storage.from(settings.db(), settings.dataDir()), 2))
          .containsExactly(conversations.get(2), conversations.get(1));
      ConversationState busiest =
          RecoveryWarmUp.recover(system, conversations.get(2), limits).toCompletableFuture().get(15, TimeUnit.SECONDS);
      RecoveryWarmUp.Result result =
          RecoveryWarmUp.run(system, Storage.from(settings.db(), settings.dataDir()), new RecoveryWarmUp.Settings(10, 2, 100, Duration.ofSeconds(20)), settings.conversation())
              .toCompletableFuture()
              .get(30, TimeUnit.SECONDS);

      assertThat(busiest.lastSeq()).isEqualTo(1 + messages);
      assertThat(busiest.members()).containsExactlyInAnyOrder("alice", "bob");
      assertThat(busiest.recent()).last().extracting(TimelineEvent::seq).isEqualTo(1L + messages);
      assertThat(result.recovered()).isEqualTo(3);
      assertThat(result.failed()).isZero();
      assertThat(count(node, "event_journal")).isEqualTo(eventsBefore);
      assertThat(count(node, "snapshot")).isEqualTo(snapshotsBefore);
      // The entity, recovered beside its replicas, goes on with the next seq.
      ApiClient.Response next =
          node.api().post("/v1/conversations/" + conversations.get(2) + "/messages", node.token("alice"), "{\"clientMsgId\":\"after\",\"text\":\"after\"}");
      assertThat(next.status()).isEqualTo(201);
      assertThat(next.body().path("seq").asLong()).isEqualTo(2L + messages);
    }
  }

  @Test
  void aDatabaseThatCannotBeReachedEndsTheWarmUpWithoutFailingIt() throws Exception {
    try (TestNode node = TestNode.onH2(Map.of("parley.warm-up.conversations", 0))) {
      ActorSystem<Void> system = node.node().system();
      ParleyConfig settings = ParleyConfig.from(system.settings().config());
      Storage unreachable =
          new Storage(Storage.Vendor.POSTGRESQL, "jdbc:postgresql://127.0.0.1:1/none?connectTimeout=2", "postgres", "", settings.db());

      RecoveryWarmUp.Result result =
          RecoveryWarmUp.run(system, unreachable, new RecoveryWarmUp.Settings(10, 2, 100, Duration.ofSeconds(5)), settings.conversation())
              .toCompletableFuture()
              .get(30, TimeUnit.SECONDS);
      RecoveryWarmUp.Result off =
          RecoveryWarmUp.run(system, unreachable, new RecoveryWarmUp.Settings(0, 2, 100, Duration.ofSeconds(5)), settings.conversation())
              .toCompletableFuture()
              .get(30, TimeUnit.SECONDS);

      assertThat(result.recovered()).isZero();
      assertThat(result.failed()).isZero();
      assertThat(off).isEqualTo(new RecoveryWarmUp.Result(0, 0, Duration.ZERO));
    }
  }

  private static String conversationWith(TestNode node, int messages) {
    String conversation = "warm-" + UUID.randomUUID();
    String alice = node.token("alice");
    assertThat(node.api().post("/v1/conversations", alice, "{\"conversation\":\"" + conversation + "\",\"members\":[\"bob\"]}").status())
        .isEqualTo(201);
    for (int i = 1; i <= messages; i++) {
      ApiClient.Response sent =
          node.api().post("/v1/conversations/" + conversation + "/messages", alice, "{\"clientMsgId\":\"m" + i + "\",\"text\":\"hello " + i + "\"}");
      assertThat(sent.status()).isEqualTo(201);
    }
    return conversation;
  }

  /** How many snapshots a conversation of {@code lastSeq} events written one by one has saved (its phased grid's points). */
  private static long snapshotPoints(String conversation, long lastSeq) {
    int every = TestNode.SNAPSHOT_EVERY;
    int phase = Snapshots.phaseOf(conversation, every);
    long points = 0;
    for (long seq = 1; seq <= lastSeq; seq++) if (Math.floorMod(seq - phase, every) == 0) points++;
    return points;
  }

  private static long count(TestNode node, String table) throws Exception {
    try (Connection c = node.openDatabase();
        Statement s = c.createStatement();
        ResultSet rows = s.executeQuery("SELECT COUNT(*) FROM \"" + table + "\"")) {
      rows.next();
      return rows.getLong(1);
    }
  }
}
