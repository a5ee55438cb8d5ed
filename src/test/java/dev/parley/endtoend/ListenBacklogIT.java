package dev.parley.endtoend;

import static org.assertj.core.api.Assertions.assertThat;

import dev.parley.testing.TestNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The client port's listen queue holds a burst of connections (a draining node's clients arriving
 * at once) while a busy node gets round to accepting them: with Pekko's default of 100 the kernel
 * dropped the rest and clients waited for SYN retransmissions (1, 3, 7 s). Read from the kernel
 * (`ss`: the Send-Q of a listening socket is its backlog), so it is what the socket really got.
 */
class ListenBacklogIT {

  @Test
  void theClientPortQueuesUpTo4096ConnectionsOrWhatTheKernelAllows() throws Exception {
    TestNode node = TestNode.onH2();
    try {
      // Not Files.readString: it trusts the size procfs reports and read "4" of "4096".
      int somaxconn = Integer.parseInt(Files.readAllLines(Path.of("/proc/sys/net/core/somaxconn")).get(0).trim());
      assertThat(listenBacklog(node.httpPort())).isEqualTo(Math.min(4096, somaxconn)).isGreaterThan(100);
    } finally {
      node.stop();
    }
  }

  private static int listenBacklog(int port) throws IOException, InterruptedException {
    Process ss = new ProcessBuilder("ss", "-Hltn", "sport = :" + port).redirectErrorStream(true).start();
    String out = new String(ss.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
    assertThat(ss.waitFor(10, TimeUnit.SECONDS)).isTrue();
    // LISTEN 0 4096 127.0.0.1:PORT 0.0.0.0:*
    String[] columns = out.split("\\s+");
    assertThat(columns).as("ss output: %s", out).hasSizeGreaterThanOrEqualTo(4);
    return Integer.parseInt(columns[2]);
  }
}
