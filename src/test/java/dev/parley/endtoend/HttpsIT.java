package dev.parley.endtoend;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.parley.testing.TestNode;
import java.io.InputStream;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.WebSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A node configured with parley.http.tls serves the HTTP API over HTTPS and websockets over WSS. */
class HttpsIT {

  private static final String PASSWORD = "parley-test-store";
  @TempDir static Path dir;
  private static TestNode node;
  private static HttpClient trusting;

  @BeforeAll
  static void start() throws Exception {
    Path keyStore = dir.resolve("node.p12");
    // A self-signed certificate for 127.0.0.1, made by the JDK's own keytool.
    Process keytool =
        new ProcessBuilder(
                Path.of(System.getProperty("java.home"), "bin", "keytool").toString(),
                "-genkeypair", "-alias", "parley", "-keyalg", "EC", "-groupname", "secp256r1",
                "-dname", "CN=127.0.0.1", "-ext", "SAN=ip:127.0.0.1", "-validity", "2",
                "-storetype", "PKCS12", "-keystore", keyStore.toString(), "-storepass", PASSWORD, "-keypass", PASSWORD)
            .redirectErrorStream(true)
            .start();
    assertThat(keytool.waitFor(60, TimeUnit.SECONDS)).isTrue();
    assertThat(keytool.exitValue()).as(new String(keytool.getInputStream().readAllBytes(), StandardCharsets.UTF_8)).isZero();

    node = TestNode.onH2(Map.of("parley.http.tls.key-store", keyStore.toString(), "parley.http.tls.key-store-password", PASSWORD));
    trusting = HttpClient.newBuilder().sslContext(trusting(keyStore)).connectTimeout(Duration.ofSeconds(10)).build();
  }

  @AfterAll
  static void stop() throws Exception {
    node.close();
  }

  /** Trusts exactly the node's self-signed certificate. */
  private static SSLContext trusting(Path keyStore) throws Exception {
    KeyStore store = KeyStore.getInstance("PKCS12");
    try (InputStream in = Files.newInputStream(keyStore)) {
      store.load(in, PASSWORD.toCharArray());
    }
    KeyStore trust = KeyStore.getInstance("PKCS12");
    trust.load(null, null);
    trust.setCertificateEntry("parley", store.getCertificate("parley"));
    TrustManagerFactory factory = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    factory.init(trust);
    SSLContext context = SSLContext.getInstance("TLS");
    context.init(null, factory.getTrustManagers(), null);
    return context;
  }

  @Test
  void theHttpApiAnswersOverHttps() throws Exception {
    HttpResponse<String> health =
        trusting.send(HttpRequest.newBuilder(URI.create("https://127.0.0.1:" + node.httpPort() + "/health")).build(), HttpResponse.BodyHandlers.ofString());

    assertThat(health.statusCode()).isEqualTo(200);
    assertThat(health.body()).contains("ok");
  }

  @Test
  void websocketsOpenOverWssAndAnswer() throws Exception {
    CompletableFuture<String> firstText = new CompletableFuture<>();
    URI uri = URI.create("wss://127.0.0.1:" + node.httpPort() + "/v1/ws?token=" + URLEncoder.encode(node.token("alice"), StandardCharsets.UTF_8));
    WebSocket socket =
        trusting.newWebSocketBuilder()
            .buildAsync(
                uri,
                new WebSocket.Listener() {
                  @Override
                  public CompletionStage<?> onText(WebSocket webSocket, CharSequence data, boolean last) {
                    firstText.complete(data.toString());
                    return null;
                  }
                })
            .get(15, TimeUnit.SECONDS);

    socket.sendText("{\"type\":\"ping\",\"id\":1}", true).get(15, TimeUnit.SECONDS);

    assertThat(firstText.get(15, TimeUnit.SECONDS)).contains("\"pong\"");
    socket.abort();
  }

  @Test
  void plainHttpIsNotServedOnATlsPort() {
    HttpClient plain = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

    assertThatThrownBy(
            () -> plain.send(
                HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + node.httpPort() + "/health")).timeout(Duration.ofSeconds(10)).build(),
                HttpResponse.BodyHandlers.ofString()))
        .isInstanceOf(java.io.IOException.class);
  }
}
