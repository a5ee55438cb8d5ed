package dev.parley.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.typesafe.config.ConfigFactory;
import dev.parley.auth.Tokens;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

class ParleyCommandTest {

  private final String before = System.getProperty(ParleyCommand.COMMON_POOL_PARALLELISM);

  @AfterEach
  void restore() {
    if (before == null) System.clearProperty(ParleyCommand.COMMON_POOL_PARALLELISM);
    else System.setProperty(ParleyCommand.COMMON_POOL_PARALLELISM, before);
  }

  @Test
  void theAsyncPoolGetsAtLeastTwoThreadsWhenNothingIsConfigured() {
    System.clearProperty(ParleyCommand.COMMON_POOL_PARALLELISM);
    ParleyCommand.ensureAsyncPool();
    assertThat(Integer.parseInt(System.getProperty(ParleyCommand.COMMON_POOL_PARALLELISM))).isGreaterThanOrEqualTo(2);
  }

  @Test
  void anExplicitSettingWins() {
    System.setProperty(ParleyCommand.COMMON_POOL_PARALLELISM, "7");
    ParleyCommand.ensureAsyncPool();
    assertThat(System.getProperty(ParleyCommand.COMMON_POOL_PARALLELISM)).isEqualTo("7");
  }

  @Test
  void theVersionIsTheOneTheClusterReports() {
    StringWriter out = new StringWriter();
    CommandLine cli = new CommandLine(new ParleyCommand()).setOut(new PrintWriter(out));
    assertThat(cli.execute("--version")).isZero();
    String built = ConfigFactory.parseResources("build-info.conf").getString("pekko.cluster.app-version");
    assertThat(built).doesNotContain("@");
    assertThat(out.toString().trim()).isEqualTo("parley " + built);
  }

  @Test
  void aTokenLifetimeIsWrittenAsTheBenchWritesDurations() {
    PrintStream originalOut = System.out;
    ByteArrayOutputStream printed = new ByteArrayOutputStream();
    System.setOut(new PrintStream(printed, true, StandardCharsets.UTF_8));
    String secret = "a-test-secret-that-is-long-enough-0123456789";
    try {
      assertThat(new CommandLine(new ParleyCommand()).execute("token", "alice", "--ttl", "1h", "--secret", secret)).isZero();
    } finally {
      System.setOut(originalOut);
    }
    Tokens.Verified verified = Tokens.fromConfigured(secret).verifyToken(printed.toString(StandardCharsets.UTF_8).trim()).orElseThrow();
    assertThat(verified.user()).isEqualTo("alice");
    assertThat(Duration.between(Instant.now(), verified.validUntil())).isBetween(Duration.ofMinutes(59), Duration.ofMinutes(61));
  }

  @Test
  void anUnreachableManagementPortSaysWhatToCheck() {
    StringWriter err = new StringWriter();
    CommandLine cli = new CommandLine(new ParleyCommand()).setErr(new PrintWriter(err));
    assertThat(cli.execute("admin", "status", "--management", "http://127.0.0.1:1", "--token", "t")).isEqualTo(3);
    assertThat(err.toString())
        .contains("cannot reach the node's management port at http://127.0.0.1:1 (connection refused): is the node running")
        .doesNotContain("null");
  }
}
