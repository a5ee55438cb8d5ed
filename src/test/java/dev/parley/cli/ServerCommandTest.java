package dev.parley.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.typesafe.config.ConfigFactory;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code parley server} with bad configuration: one line per problem, exit status 2, nothing started. */
class ServerCommandTest {

  private final PrintStream originalErr = System.err;
  private final ByteArrayOutputStream err = new ByteArrayOutputStream();

  @AfterEach
  void restore() {
    System.setErr(originalErr);
    System.clearProperty("parley.http.port");
    System.clearProperty("config.file");
    ConfigFactory.invalidateCaches();
  }

  private int run(String... args) {
    System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
    ConfigFactory.invalidateCaches();
    return new CommandLine(new ParleyCommand()).execute(args);
  }

  @Test
  void aBadSettingExitsWithStatusTwoAndOneLineNamingIt() {
    System.setProperty("parley.http.port", "abc");
    assertThat(run("server")).isEqualTo(2);
    assertThat(err.toString(StandardCharsets.UTF_8))
        .isEqualTo("parley: bad configuration: parley.http.port (PARLEY_HTTP_PORT) is \"abc\": must be a whole number from 0 to 65535"
            + System.lineSeparator());
  }

  @Test
  void aRequiredVariableThatIsNotSetIsNamed(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("production-like.conf");
    Files.writeString(file, "include classpath(\"application.conf\")\nparley.db.url = ${PARLEY_TEST_VARIABLE_NOBODY_SETS}\n");
    assertThat(run("server", "--config", file.toString())).isEqualTo(2);
    assertThat(err.toString(StandardCharsets.UTF_8))
        .startsWith("parley: bad configuration: ")
        .contains("production-like.conf")
        .contains("requires the environment variable PARLEY_TEST_VARIABLE_NOBODY_SETS, which is not set")
        .hasLineCount(1);
  }
}
