package dev.parley.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.parley.Node;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
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
    node = BenchNodes.start(dataDir, SECRET, "");
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

    Path acks = dataDir.resolve("acks.txt");
    Report report = new BenchRun(settings, new PrintStream(progress, true, StandardCharsets.UTF_8)).withAckLog(acks).run();
    report.writeJson(json);

    ExactRuns.assertExact(report);
    assertThat(report.errorsByCode()).isEmpty();
    assertThat(report.sendToAck().count()).isPositive();
    assertThat(progress.toString(StandardCharsets.UTF_8)).contains("acked");
    assertThat(Files.readString(json)).contains("\"ackedSendsPerSecond\"");
    // The ack log: one line per acked send, due <= put on the wire <= acked (presence-t1-why.py splits
    // them), and the seq the send got: distinct within its conversation (ack-tail.py lines slow acks up
    // with the conversation's snapshot points).
    List<String> lines = Files.readAllLines(acks);
    assertThat(lines.get(0)).isEqualTo("conversation intendedEpochMs ackEpochMs sentEpochMs seq");
    assertThat(lines.size() - 1).isGreaterThanOrEqualTo((int) report.sendToAck().count());
    Set<String> seqs = new HashSet<>();
    for (String line : lines.subList(1, lines.size())) {
      String[] f = line.split(" ");
      assertThat(f).as(line).hasSize(5);
      assertThat(Long.parseLong(f[3])).as("sent at or after due: %s", line).isGreaterThanOrEqualTo(Long.parseLong(f[1]));
      assertThat(Long.parseLong(f[2])).as("acked at or after sent: %s", line).isGreaterThanOrEqualTo(Long.parseLong(f[3]));
      assertThat(Long.parseLong(f[4])).as("a seq: %s", line).isPositive();
      assertThat(seqs.add(f[0] + " " + f[4])).as("one ack per seq of a conversation: %s", line).isTrue();
    }
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

  /**
   * `bench presence` as presence.sh's target 1 drives it: members spread over rooms, each watched by
   * its first member; churn only while the churn file exists; every churn event and every watcher's
   * observation of it in the events file.
   */
  @Test
  void presenceChurnInSmallRoomsRunsOnlyWhileTheChurnFileExistsAndTimesEveryWatcher() throws Exception {
    Path churnFile = dataDir.resolve("churning");
    Path stopFile = dataDir.resolve("stop");
    Path events = dataDir.resolve("events.txt");
    PresenceBench.Settings settings =
        new PresenceBench.Settings(
            List.of(URI.create("ws://127.0.0.1:" + node.httpPort() + "/v1/ws")), SECRET, "pbsmoke", 40, 4, 20, Duration.ZERO,
            Duration.ofMinutes(5), 0, null, null, Duration.ofSeconds(10), stopFile, 4, churnFile, events, false);
    ByteArrayOutputStream log = new ByteArrayOutputStream();
    CompletableFuture<String> report =
        CompletableFuture.supplyAsync(
            () -> {
              try {
                return new PresenceBench(settings, new PrintStream(log, true, StandardCharsets.UTF_8)).run();
              } catch (Exception e) {
                throw new IllegalStateException(e);
              }
            });

    await().atMost(Duration.ofSeconds(60)).until(() -> log.toString(StandardCharsets.UTF_8).contains("4 watchers connected"));
    await().during(Duration.ofMillis(500)).atMost(Duration.ofSeconds(2)).until(() -> churnEvents(events).isEmpty());
    Files.writeString(churnFile, "");
    await().atMost(Duration.ofSeconds(30)).until(() -> churnEvents(events).size() >= 10);
    Files.delete(churnFile);
    int atPause = churnEvents(events).size();
    await().during(Duration.ofMillis(500)).atMost(Duration.ofSeconds(2)).until(() -> churnEvents(events).size() <= atPause + 1);
    // Each churning member (4 .. 39) connects in its room (i % 4), whose watcher sees it online.
    List<String> changed = churnEvents(events).stream().map(l -> l.split(" ")[2]).toList();
    await()
        .atMost(Duration.ofSeconds(30))
        .until(() -> Files.readAllLines(events).stream().map(l -> l.split(" ")).filter(f -> f.length == 6 && f[0].equals("S")).map(f -> f[3]).distinct().count() >= changed.size());
    Files.writeString(stopFile, "");
    String text = report.get(60, TimeUnit.SECONDS);

    assertThat(text).contains("4 watchers");
    for (String line : Files.readAllLines(events)) {
      if (!line.startsWith("S ")) continue;
      String[] f = line.split(" ");
      int member = Integer.parseInt(f[3].substring("pbsmoke-m".length()));
      assertThat(Integer.parseInt(f[5])).as("the watcher of %s's room saw it: %s", f[3], line).isEqualTo(member % 4);
      assertThat(Long.parseLong(f[2])).as("seen after the change: %s", line).isGreaterThanOrEqualTo(Long.parseLong(f[1]));
    }
  }

  /**
   * Anchored churn (target 1's control): every churning member keeps one more connection open, so the
   * churn opens and closes connections without changing anyone's presence: the watchers see none of it.
   */
  @Test
  void anchoredChurnOpensAndClosesConnectionsButChangesNoPresence() throws Exception {
    Path stopFile = dataDir.resolve("stop-anchored");
    Path events = dataDir.resolve("events-anchored.txt");
    PresenceBench.Settings settings =
        new PresenceBench.Settings(
            List.of(URI.create("ws://127.0.0.1:" + node.httpPort() + "/v1/ws")), SECRET, "pbanchor", 24, 4, 20, Duration.ZERO,
            Duration.ofMinutes(5), 0, null, null, Duration.ofSeconds(10), stopFile, 4, null, events, true);
    ByteArrayOutputStream log = new ByteArrayOutputStream();
    CompletableFuture<String> report =
        CompletableFuture.supplyAsync(
            () -> {
              try {
                return new PresenceBench(settings, new PrintStream(log, true, StandardCharsets.UTF_8)).run();
              } catch (Exception e) {
                throw new IllegalStateException(e);
              }
            });

    await().atMost(Duration.ofSeconds(60)).until(() -> log.toString(StandardCharsets.UTF_8).contains("20 anchors connected"));
    // 20 churn events a second: connects and disconnects of members whose anchor keeps them online.
    // (A watcher may still be told of an anchor's own connect, "online"; never of an "offline".)
    await().atMost(Duration.ofSeconds(30)).until(() -> churnEvents(events).stream().filter(l -> l.endsWith(" offline")).count() >= 5);
    await()
        .during(Duration.ofSeconds(3))
        .atMost(Duration.ofSeconds(5))
        .until(() -> Files.readAllLines(events).stream().noneMatch(l -> l.startsWith("S ") && l.contains(" offline ")));
    Files.writeString(stopFile, "");
    assertThat(report.get(60, TimeUnit.SECONDS)).contains("4 watchers");
  }

  private static List<String> churnEvents(Path events) throws java.io.IOException {
    if (!Files.exists(events)) return List.of();
    return Files.readAllLines(events).stream().filter(l -> l.startsWith("E ") && l.split(" ").length == 4).toList();
  }
}
