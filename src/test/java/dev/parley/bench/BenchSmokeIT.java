package dev.parley.bench;

import static org.assertj.core.api.Assertions.assertThat;

import com.typesafe.config.ConfigFactory;
import dev.parley.Node;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A few seconds of `parley bench` against a real node: correctness, not speed. */
class BenchSmokeIT {

  private static final String SECRET = "bench-smoke-test-secret-of-at-least-32-bytes";

  @TempDir static Path dataDir;
  private static Node node;

  @BeforeAll
  static void startNode() throws Exception {
    // Layered under the unresolved application.conf (not over ConfigFactory.load(), which has already
    // resolved the remoting port to 25520 from parley.cluster.port): parallel builds on one machine
    // must not fight over 25520, 8558 or 8080.
    ConfigFactory.invalidateCaches();
    node =
        Node.start(
            ConfigFactory.load(
                ConfigFactory.parseString(
                        "parley.http.port=0, parley.cluster.port=0, parley.management.port=0, parley.http.interface=127.0.0.1, "
                            + "parley.data-dir=\"" + dataDir + "\", parley.jwt.secret=\"" + SECRET + "\"")
                    .withFallback(ConfigFactory.defaultApplication())));
  }

  @AfterAll
  static void stopNode() throws Exception {
    if (node != null) node.close();
  }

  @Test
  void aShortRunOfOneToOneAndGroupTrafficLosesDuplicatesAndSkipsNothing() throws Exception {
    Path json = dataDir.resolve("bench.json");
    BenchSettings settings =
        new BenchSettings(
            List.of(URI.create("ws://127.0.0.1:" + node.httpPort() + "/v1/ws")),
            SECRET,
            12,
            8,
            3,
            100,
            64,
            Duration.ofSeconds(1),
            Duration.ofSeconds(2),
            Duration.ofSeconds(20),
            Duration.ofSeconds(30),
            json);
    ByteArrayOutputStream progress = new ByteArrayOutputStream();

    Report report = new BenchRun(settings, new PrintStream(progress, true, StandardCharsets.UTF_8)).run();
    report.writeJson(json);

    ExactRuns.assertExact(report);
    assertThat(report.errorsByCode()).isEmpty();
    assertThat(report.sendToAck().count()).isPositive();
    assertThat(progress.toString(StandardCharsets.UTF_8)).contains("acked");
    assertThat(Files.readString(json)).contains("\"ackedSendsPerSecond\"");
  }

  @Test
  void idleConnectionsFromSeveralLoopbackAddressesOpenAuthenticateAndStayOpen() throws Exception {
    IdleRun.Settings settings =
        new IdleRun.Settings(
            List.of(URI.create("ws://127.0.0.1:" + node.httpPort() + "/v1/ws")),
            SECRET,
            6,
            SourceAddresses.of(3),
            Duration.ZERO,
            Duration.ofSeconds(30),
            2);

    IdleRun.Result result = new IdleRun(settings, new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8)).run();

    assertThat(result.failures()).isEmpty();
    assertThat(result.opened()).isEqualTo(6);
    assertThat(result.openAtEnd()).isEqualTo(6);
    assertThat(result.sourceAddresses()).containsExactly("127.0.0.2", "127.0.0.3", "127.0.0.4");
  }

  @Test
  void idleConnectionsWithAForgedTokenAreRefusedAndCounted() throws Exception {
    IdleRun.Settings settings =
        new IdleRun.Settings(
            List.of(URI.create("ws://127.0.0.1:" + node.httpPort() + "/v1/ws")),
            "a-different-secret-that-the-node-does-not-know-of",
            2,
            SourceAddresses.of(1),
            Duration.ZERO,
            Duration.ofSeconds(30),
            2);

    IdleRun.Result result = new IdleRun(settings, new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8)).run();

    assertThat(result.opened()).isZero();
    assertThat(result.failures()).containsEntry("http_401", 2L);
  }
}
