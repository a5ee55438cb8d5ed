package dev.parley.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import dev.parley.Node;
import dev.parley.testing.TestCluster;
import dev.parley.testing.WsClient;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** New connections past a node's rate are turned away at once with 503 and Retry-After, never queued. */
class AdmissionControlIT {

  @RegisterExtension final TestCluster cluster = TestCluster.perTest();

  @Test
  void upgradesPastTheConnectionRateAreRefusedWith503AndRetryAfter() throws Exception {
    Node node =
        cluster.startNode(
            Map.of("parley.admission.connections-per-second", 1, "parley.admission.connections-burst", 2));
    String token = cluster.token("alice");
    URI ws = TestCluster.wsUri(node, token);

    // The burst is admitted...
    List<WsClient> admitted = new ArrayList<>();
    try {
      admitted.add(WsClient.connect(ws));
      admitted.add(WsClient.connect(ws));

      // ...the next upgrade, well inside the same second, is not: 503 with a Retry-After of whole seconds.
      HttpResponse<String> refused = upgradeRequest(node, token);
      assertThat(refused.statusCode()).isEqualTo(503);
      assertThat(refused.headers().firstValue("Retry-After")).hasValueSatisfying(v -> assertThat(Long.parseLong(v)).isBetween(1L, 10L));
      assertThat(WsClient.JSON.readTree(refused.body()).path("code").asText()).isEqualTo("unavailable");
      assertThat(WsClient.refusedUpgradeStatus(ws)).isEqualTo(503);
      // Those admitted are not affected.
      admitted.forEach(WsClient::pingPong);
    } finally {
      admitted.forEach(WsClient::close);
    }
  }

  /** A websocket upgrade request made by hand, so that the refusal's headers and body can be read. */
  private static HttpResponse<String> upgradeRequest(Node node, String token) throws Exception {
    // The JDK's HttpClient refuses to send Upgrade itself; the route answers 503 before it looks at the
    // upgrade headers, which is exactly what a herd of reconnecting clients would get.
    HttpRequest request =
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + node.httpPort() + "/v1/ws"))
            .header("Authorization", "Bearer " + token)
            .GET()
            .build();
    return HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build().send(request, HttpResponse.BodyHandlers.ofString());
  }
}
