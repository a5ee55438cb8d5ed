package dev.parley.web;

import static com.microsoft.playwright.assertions.PlaywrightAssertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.microsoft.playwright.Page;
import dev.parley.Node;
import dev.parley.testing.Chromium;
import dev.parley.testing.TestCluster;
import dev.parley.testing.TestNode;
import dev.parley.testing.WsClient;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The operator dashboard on the management port, in a real Chromium, against a real two-node
 * cluster on PostgreSQL: it shows both members, where the conversation shards live, this node's
 * connections and traffic, and its drain button makes the second node leave.
 */
@ExtendWith(Chromium.Required.class)
class AdminDashboardIT {

  private static final Map<String, Object> ADMIN = Map.of("parley.admin.token", TestNode.ADMIN_TOKEN);

  @RegisterExtension final TestCluster cluster = TestCluster.perTest();
  private Chromium chromium;

  @BeforeEach
  void start() throws Exception {
    chromium = Chromium.launch();
  }

  @AfterEach
  void stop() throws Exception {
    if (chromium != null) chromium.close();
  }

  @Test
  void showsTheClusterAndDrainsASecondNode() throws Exception {
    Node first = cluster.startNode(ADMIN);
    Node second = cluster.startNode(ADMIN);

    Page page = chromium.newPage();
    page.navigate(first.managementUri() + "/admin?poll=500");
    // Pekko Management's membership needs no token; this node's status does.
    assertThat(page.locator("#members tbody tr")).hasCount(2);
    assertThat(page.locator("#members tbody tr td:nth-child(2)")).hasText(new String[] {"Up", "Up"});
    assertThat(page.locator("#token-state")).containsText("paste the admin token");

    page.locator("#admin-token").fill("not-the-token");
    page.locator("#token-save").click();
    assertThat(page.locator("#token-state")).containsText("wrong admin token");

    page.locator("#admin-token").fill(TestNode.ADMIN_TOKEN);
    page.locator("#token-save").click();
    assertThat(page.locator("#node-status")).hasText("Up");
    assertThat(page.locator("#node-draining")).hasText("no");
    String address = page.locator("#node-address").textContent();
    assertThat(page.locator("#members tbody td.self")).hasCount(1);
    assertThat(page.locator("#members tbody tr:has(td.self) td").first()).hasText(address);

    List<WsClient> clients = new ArrayList<>();
    try {
      for (String user : List.of("alice", "bob", "carol")) clients.add(cluster.connect(first, user));
      WsClient alice = clients.get(0);
      // Enough conversations that both nodes host some shards.
      for (int i = 0; i < 12; i++) {
        alice.request(WsClient.frame("create").put("conversation", "room-" + i).set("members", WsClient.JSON.createArrayNode().add("bob")));
      }
      assertThat(page.locator("#node-connections")).hasText("3");
      assertThat(page.locator("#shards tbody tr")).hasCount(2);
      // Traffic across several polls, so that the charts have something to draw.
      await()
          .atMost(Duration.ofSeconds(60))
          .pollInterval(Duration.ofMillis(100))
          .until(
              () -> {
                for (WsClient client : clients) client.pingPong();
                return page.locator("#chart-throughput polyline").count() == 2
                    && page.locator("#chart-throughput polyline").first().getAttribute("points").split(" ").length >= 16;
              });
      Chromium.screenshot(page, "web-dashboard.png");
    } finally {
      for (WsClient client : clients) client.close();
    }

    Page secondPage = chromium.newPage();
    secondPage.navigate(second.managementUri() + "/admin");
    secondPage.locator("#admin-token").fill(TestNode.ADMIN_TOKEN);
    secondPage.locator("#token-save").click();
    assertThat(secondPage.locator("#node-status")).hasText("Up");
    secondPage.locator("#drain").click();
    assertThat(secondPage.locator("#drain-confirm")).isVisible();
    secondPage.locator("#drain-confirm").click();
    assertThat(secondPage.locator("#drain-result")).containsText("Drain started");
    await().atMost(Duration.ofSeconds(90)).until(() -> second.whenTerminated().isDone());
    cluster.forget(second);
    // The first node's dashboard sees the second one gone.
    assertThat(page.locator("#members tbody tr")).hasCount(1, new com.microsoft.playwright.assertions.LocatorAssertions.HasCountOptions().setTimeout(60_000));
  }
}
