package dev.parley.inbox;

import static dev.parley.testing.WsClient.frame;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.parley.testing.ApiClient;
import dev.parley.testing.TcpProxy;
import dev.parley.testing.TestNode;
import dev.parley.testing.TestPostgres;
import dev.parley.testing.WsClient;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * PostgreSQL goes away (through a real TCP path, {@link TcpProxy}) right after a burst of
 * messages, before the projection has necessarily applied them: the projection fails and restarts
 * with backoff from its stored offset, the inbox answers {@code unavailable} meanwhile, and once
 * the database is back the read model catches up with exact unread counts (nothing lost, nothing
 * counted twice), with messages sent after the outage on top.
 *
 * <p>Two read sides. Production's {@code IdleAwareReadJournalDao} sends no tag query once a
 * projection has read up to the journal's highest ordering, so a projection that applied the
 * whole burst before the cut has nothing to ask the database and never fails: correct, but then
 * the restart from the stored offset would go untested half of the time (a race on how much of
 * the burst was applied). The first test therefore uses the plugin's always-polling DAO, which
 * makes the failure certain; the second keeps production's DAO and asserts what users see.
 */
class InboxProjectionOutageIT {

  private static final int BEFORE = 30;
  private static final int AFTER = 5;

  private TcpProxy database;
  private TestNode node;

  @BeforeEach
  void proxy() throws Exception {
    database = new TcpProxy(TestPostgres.server().host(), TestPostgres.server().port());
  }

  @AfterEach
  void stop() throws Exception {
    database.restore();
    try {
      if (node != null) node.close();
    } finally {
      database.close();
    }
  }

  @Test
  void aProjectionThatFailsRestartsFromItsStoredOffsetWithExactUnreadCounts() throws Exception {
    node =
        TestNode.onPostgresAt(
            database.port(), Map.of("jdbc-read-journal.dao", "org.apache.pekko.persistence.jdbc.query.dao.DefaultReadJournalDao"));
    outageAndRecovery(true);
  }

  @Test
  void withTheIdleAwareReadSideTheInboxCatchesUpWithExactUnreadCounts() throws Exception {
    node = TestNode.onPostgresAt(database.port());
    outageAndRecovery(false);
  }

  /**
   * @param projectionMustFail whether the projection is certain to query, and so fail, during the
   *     cut (see the class comment)
   */
  private void outageAndRecovery(boolean projectionMustFail) throws Exception {
    String alice = "alice-" + UUID.randomUUID().toString().substring(0, 8);
    String bob = "bob-" + UUID.randomUUID().toString().substring(0, 8);
    String conversation = "outage-" + UUID.randomUUID();
    WsClient a = node.connect(alice);
    WsClient b = node.connect(bob);
    ObjectNode created = b.request(frame("create").put("conversation", conversation).set("members", WsClient.JSON.createArrayNode().add(alice)));
    assertThat(created.path("type").asText()).isEqualTo("created");
    a.expect(f -> "inbox_update".equals(f.path("type").asText()) && f.path("lastSeq").asLong() == 1, "the new conversation");
    long startsBefore = node.inboxProjectionStarts();
    long failuresBefore = node.inboxProjectionFailures();

    // A burst, then the database goes away at once: the projection polls every 200 ms, so it
    // usually has not applied all of it yet (observed below, straight from the database).
    for (int i = 1; i <= BEFORE; i++) b.send(send(conversation, "before-" + i).put("id", "before-" + i));
    for (int i = 1; i <= BEFORE; i++) {
      String id = "before-" + i;
      assertThat(b.expect(f -> id.equals(f.path("id").asText()), "the ack of " + id).path("type").asText()).isEqualTo("ack");
    }
    database.cut();
    int unreadAtCut = unread(alice, conversation);

    ApiClient api = node.api();
    await()
        .atMost(Duration.ofSeconds(30))
        .untilAsserted(() -> assertThat(api.get("/v1/inbox", node.token(alice)).status()).isEqualTo(503));
    ObjectNode refused = a.request(frame("inbox"));
    assertThat(refused.path("type").asText()).as("%s", refused).isEqualTo("error");
    assertThat(refused.path("code").asText()).isEqualTo("unavailable");
    // The outage lasts until the projection has noticed it (its next poll fails): a blip shorter
    // than one poll would leave it running, and the restart from the stored offset is what this test is about.
    if (projectionMustFail) {
      await()
          .atMost(Duration.ofSeconds(30))
          .untilAsserted(() -> assertThat(node.inboxProjectionFailures()).as("projection failures").isGreaterThan(failuresBefore));
    }
    database.restore();
    // The client's retry policy: the same clientMsgId until acknowledged.
    Set<String> acked = new HashSet<>();
    await()
        .atMost(Duration.ofSeconds(90))
        .pollInterval(Duration.ofMillis(500))
        .untilAsserted(
            () -> {
              for (int i = 1; i <= AFTER; i++) {
                if (acked.contains("after-" + i)) continue;
                ObjectNode reply = b.request(send(conversation, "after-" + i));
                if (!"ack".equals(reply.path("type").asText())) break; // in order: retry from here
                acked.add("after-" + i);
              }
              assertThat(acked).hasSize(AFTER);
            });

    long lastSeq = 1 + BEFORE + AFTER;
    ObjectNode caughtUp =
        a.expect(
            f -> "inbox_update".equals(f.path("type").asText()) && f.path("lastSeq").asLong() == lastSeq,
            "the inbox_update of seq " + lastSeq);
    assertThat(caughtUp.path("unread").asInt()).isEqualTo(BEFORE + AFTER);
    assertThat(caughtUp.path("preview").path("text").asText()).isEqualTo("text of after-" + AFTER);
    await()
        .atMost(Duration.ofSeconds(30))
        .untilAsserted(
            () -> {
              ApiClient.Response page = api.get("/v1/inbox", node.token(alice));
              assertThat(page.status()).isEqualTo(200);
              assertThat(page.body().path("items").get(0).path("unread").asInt()).isEqualTo(BEFORE + AFTER);
              assertThat(page.body().path("items").get(0).path("lastSeq").asLong()).isEqualTo(lastSeq);
            });
    // A consumer counts a (re)start once it has read its stored offset again, so only after the database is back.
    if (projectionMustFail || node.inboxProjectionFailures() > failuresBefore) {
      assertThat(node.inboxProjectionStarts()).as("projection (re)starts from the stored offset").isGreaterThan(startsBefore);
    }
    assertThat(unread(alice, conversation)).isEqualTo(BEFORE + AFTER);
    assertThat(unread(bob, conversation)).isZero();
    System.out.printf(
        "inbox outage (projection must fail: %s): alice's unread at the cut %d of %d; projection failures %d -> %d, starts %d -> %d%n",
        projectionMustFail, unreadAtCut, BEFORE, failuresBefore, node.inboxProjectionFailures(), startsBefore, node.inboxProjectionStarts());
  }

  private static ObjectNode send(String conversation, String clientMsgId) {
    return frame("send").put("conversation", conversation).put("clientMsgId", clientMsgId).put("text", "text of " + clientMsgId);
  }

  /** Straight from PostgreSQL, not through the proxy. */
  private int unread(String user, String conversation) throws SQLException {
    try (Connection c = node.openDatabase();
        PreparedStatement s = c.prepareStatement("SELECT unread FROM inbox_entry WHERE user_id = ? AND conversation_id = ?")) {
      s.setString(1, user);
      s.setString(2, conversation);
      try (ResultSet r = s.executeQuery()) {
        assertThat(r.next()).as("%s's entry of %s", user, conversation).isTrue();
        return r.getInt(1);
      }
    }
  }
}
