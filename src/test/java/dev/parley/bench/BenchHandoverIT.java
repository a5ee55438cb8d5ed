package dev.parley.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.parley.Node;
import dev.parley.testing.TestCluster;
import dev.parley.testing.TestNode;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * `parley bench` on two nodes while one of them leaves: the clients of the leaving node move to the
 * other one on its reconnect hints, each opening its new connection while the old one still works
 * (make before break), and the run stays exact: nothing lost, duplicated or skipped.
 */
class BenchHandoverIT {

  @RegisterExtension final TestCluster cluster = TestCluster.perTest();

  @Test
  void everyClientOfALeavingNodeMovesBeforeItsConnectionCloses() throws Exception {
    // Half the clients start on the leaving node (connection i on URL i % 2).
    runWhileTheSecondNodeLeaves(0, 16 / 2);
  }

  @Test
  void withFirstUrlEveryClientStartsOnThatNodeAndAllMoveWhenItLeaves() throws Exception {
    runWhileTheSecondNodeLeaves(2, 16);
  }

  private void runWhileTheSecondNodeLeaves(int firstUrl, int expectedHandovers) throws Exception {
    Map<String, Object> drain = Map.of("parley.drain.window", "3s", "parley.drain.handover", "1500ms");
    Node staying = cluster.startNode(drain);
    Node leaving = cluster.startNode(drain);
    int connections = 16;
    BenchSettings settings =
        new BenchSettings(
            List.of(wsUrl(staying), wsUrl(leaving)),
            TestNode.JWT_SECRET,
            connections,
            8,
            2,
            40,
            32,
            Duration.ZERO,
            Duration.ofSeconds(10),
            Duration.ofSeconds(30),
            Duration.ofSeconds(60),
            null,
            firstUrl);
    BenchRun run = new BenchRun(settings, new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8));
    CompletableFuture<Report> running =
        CompletableFuture.supplyAsync(
            () -> {
              try {
                return run.run();
              } catch (Exception e) {
                throw new IllegalStateException(e);
              }
            });

    await("the bench measures").atMost(Duration.ofSeconds(60)).until(() -> run.phase().equals("measure"));
    cluster.leave(leaving);
    Report report = running.get(2, TimeUnit.MINUTES);

    ExactRuns.assertExact(report);
    assertThat(report.handovers()).as("clients that moved before their old connection closed").isEqualTo(expectedHandovers);
    assertThat(report.reconnects()).as("every move was a handover, none a reconnect after a drop").isEqualTo(report.handovers());
  }

  private static URI wsUrl(Node node) {
    return URI.create("ws://127.0.0.1:" + node.httpPort() + "/v1/ws");
  }
}
