package dev.parley.web;

import static org.assertj.core.api.Assertions.assertThat;

import dev.parley.testing.ApiClient;
import dev.parley.testing.TestNode;
import dev.parley.testing.WsClient;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The development sign-in hands out tokens only on a node that uses the public development secret
 * (where anyone can mint tokens anyway), and never on a node with a configured secret; the pages
 * are served either way, as the same-origin scripts a browser module loader accepts.
 */
class DevLoginIT {

  private static final HttpClient HTTP = HttpClient.newHttpClient();

  @Test
  void aNodeWithTheDevelopmentSecretSignsInAnyUser() throws Exception {
    try (TestNode node = TestNode.onH2WithDevelopmentSecret()) {
      ApiClient.Response answer = node.api().post("/v1/dev/token", null, "{\"user\":\"alice\"}");
      assertThat(answer.status()).isEqualTo(200);
      assertThat(answer.body().path("user").asText()).isEqualTo("alice");
      String token = answer.body().path("token").asText();
      assertThat(node.tokens().verify(token)).contains("alice");
      try (WsClient client = WsClient.connect(node.wsUri(token))) {
        assertThat(client.pingPong().path("type").asText()).isEqualTo("pong");
      }

      assertThat(node.api().post("/v1/dev/token", null, "{\"user\":\"  \"}").errorCode()).isEqualTo("bad_request");
      assertThat(node.api().post("/v1/dev/token", null, "{\"user\":42}").errorCode()).isEqualTo("bad_request");
      assertThat(node.api().post("/v1/dev/token", null, "not json").errorCode()).isEqualTo("bad_request");
      assertThat(node.api().post("/v1/dev/token", null, "{\"user\":\"" + "u".repeat(129) + "\"}").errorCode())
          .isEqualTo("too_large");
    }
  }

  @Test
  void aDevelopmentNodeWithoutAnAdminTokenMakesOneSoTheDashboardWorks() throws Exception {
    try (TestNode node = TestNode.onH2WithDevelopmentSecret(Map.of("parley.admin.token", ""))) {
      String token = node.node().developmentAdminToken().orElseThrow();
      URI status = node.managementUri().resolve("/parley/status");
      assertThat(HTTP.send(HttpRequest.newBuilder(status).header("Authorization", "Bearer " + token).build(), HttpResponse.BodyHandlers.ofString()).statusCode())
          .isEqualTo(200);
      assertThat(HTTP.send(HttpRequest.newBuilder(status).header("Authorization", "Bearer wrong").build(), HttpResponse.BodyHandlers.ofString()).statusCode())
          .isEqualTo(401);
    }
  }

  @Test
  void aNodeWithAConfiguredSecretMakesNoAdminTokenOfItsOwn() throws Exception {
    try (TestNode node = TestNode.onH2(Map.of("parley.admin.token", ""))) {
      assertThat(node.node().developmentAdminToken()).isEmpty();
    }
  }

  @Test
  void theFaviconIsServed() throws Exception {
    try (TestNode node = TestNode.onH2()) {
      HttpResponse<String> icon = get(node.httpBase().resolve("/favicon.ico"));
      assertThat(icon.statusCode()).isEqualTo(200);
      assertThat(icon.headers().firstValue("Content-Type")).hasValueSatisfying(type -> assertThat(type).startsWith("image/svg+xml"));
      assertThat(get(node.httpBase().resolve("/")).body()).contains("rel=\"icon\"");
    }
  }

  @Test
  void aNodeWithAConfiguredSecretHandsOutNoTokens() throws Exception {
    try (TestNode node = TestNode.onH2()) {
      ApiClient.Response answer = node.api().post("/v1/dev/token", null, "{\"user\":\"alice\"}");
      assertThat(answer.status()).isEqualTo(404);
      assertThat(answer.errorCode()).isEqualTo("not_found");
      assertThat(answer.body().has("token")).isFalse();
      // The page is still there: it signs in with a pasted token instead.
      HttpResponse<String> page = get(node.httpBase().resolve("/"));
      assertThat(page.statusCode()).isEqualTo(200);
      assertThat(page.body()).contains("id=\"login-token\"");
    }
  }

  @Test
  void thePagesAreServedWithTheirTypesAndAContentSecurityPolicy() throws Exception {
    try (TestNode node = TestNode.onH2()) {
      HttpResponse<String> page = get(node.httpBase().resolve("/"));
      assertThat(page.headers().firstValue("Content-Type")).hasValueSatisfying(t -> assertThat(t).startsWith("text/html"));
      assertThat(page.headers().firstValue("Content-Security-Policy"))
          .hasValueSatisfying(csp -> assertThat(csp).contains("default-src 'self'"));
      HttpResponse<String> script = get(node.httpBase().resolve("/chat/app.js"));
      assertThat(script.statusCode()).isEqualTo(200);
      // Browsers refuse to run a module script served with a non-JavaScript type.
      assertThat(script.headers().firstValue("Content-Type"))
          .hasValueSatisfying(t -> assertThat(t).startsWith("application/javascript"));
      assertThat(get(node.httpBase().resolve("/chat/nope.js")).statusCode()).isEqualTo(404);
      assertThat(get(URI.create(node.httpBase() + "/chat/%2e%2e/application.conf")).statusCode()).isEqualTo(404);

      HttpResponse<String> dashboard = get(URI.create(node.managementUri() + "/admin"));
      assertThat(dashboard.statusCode()).isEqualTo(200);
      assertThat(dashboard.body()).contains("Parley operator dashboard");
      // The dashboard is an operator page: it is not on the public port.
      assertThat(get(node.httpBase().resolve("/admin")).statusCode()).isEqualTo(404);
    }
  }

  private static HttpResponse<String> get(URI uri) throws Exception {
    return HTTP.send(HttpRequest.newBuilder(uri).GET().build(), HttpResponse.BodyHandlers.ofString());
  }
}
