package dev.parley.cli;

import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigFactory;
import dev.parley.ParleyConfig;
import dev.parley.auth.Tokens;
import dev.parley.bench.BenchRun;
import dev.parley.bench.BenchSettings;
import dev.parley.bench.BotReplies;
import dev.parley.bench.IdleRun;
import dev.parley.bench.SourceAddresses;
import dev.parley.bench.Report;
import dev.parley.bench.WindowCost;
import dev.parley.bot.Bots;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Drives running nodes over the public websocket protocol and reports throughput, latency and
 * correctness (issue 3). Exits 1 when a correctness counter is not zero and 3 when setup failed,
 * so scripts notice.
 */
@Command(
    name = "bench",
    mixinStandardHelpOptions = true,
    sortOptions = false,
    subcommands = {InboxBenchCommand.class, PresenceBenchCommand.class},
    description = {
      "Load-test running nodes over the websocket protocol, like real clients (loopback addresses only).",
      "Sends are scheduled by the clock (open model); latency counts from each send's intended time.",
      "--idle holds authenticated connections that send nothing, to measure what an idle connection costs.",
      "`bench inbox` seeds large inboxes and measures inbox pages and inbox_update fan-out (see its --help)."
    })
public final class BenchCommand implements Callable<Integer> {

  @Option(names = "--url", paramLabel = "WS_URL", split = ",", defaultValue = "ws://127.0.0.1:8080/v1/ws",
      description = "A node's websocket endpoint; repeat (or separate with commas) for a cluster (default: ${DEFAULT-VALUE}).")
  List<URI> urls;

  @Option(names = "--secret", description = "HS256 secret to mint tokens with; default: PARLEY_JWT_SECRET, else the development secret.")
  String secret;

  @Option(names = {"-c", "--connections"}, defaultValue = "100", description = "Connections, one user each (default: ${DEFAULT-VALUE}).")
  int connections;

  @Option(names = {"-m", "--conversations"}, defaultValue = "50", description = "Conversations (default: ${DEFAULT-VALUE}).")
  int conversations;

  @Option(names = {"-k", "--members"}, defaultValue = "2", description = "Members per conversation; 2 is 1:1 (default: ${DEFAULT-VALUE}).")
  int members;

  @Option(names = {"-r", "--rate"}, defaultValue = "1000", description = "Target sends per second, all connections together (default: ${DEFAULT-VALUE}).")
  double rate;

  @Option(names = {"-s", "--size"}, defaultValue = "100", description = "Message text length in characters (default: ${DEFAULT-VALUE}).")
  int size;

  @Option(names = {"-d", "--duration"}, defaultValue = "10s", converter = DurationConverter.class,
      description = "Measured time, e.g. 10s, 2m, PT30S (default: ${DEFAULT-VALUE}).")
  Duration duration;

  @Option(names = "--warmup", defaultValue = "5s", converter = DurationConverter.class,
      description = "Load before measuring starts; not counted (default: ${DEFAULT-VALUE}).")
  Duration warmup;

  @Option(names = "--client-warmup", defaultValue = "0s", converter = DurationConverter.class,
      description = "Before the run, one unreported run of the same workload on conversations of its own for this long, in this"
          + " process: the bench client's own code is compiled before it measures (default: ${DEFAULT-VALUE}: none).")
  Duration clientWarmup;

  @Option(names = "--drain-timeout", defaultValue = "10s", converter = DurationConverter.class,
      description = "How long to wait for outstanding acks and deliveries after the last send (default: ${DEFAULT-VALUE}).")
  Duration drainTimeout;

  @Option(names = "--setup-timeout", defaultValue = "60s", converter = DurationConverter.class,
      description = "Limit for connecting, creating and subscribing (default: ${DEFAULT-VALUE}).")
  Duration setupTimeout;

  @Option(names = "--json", paramLabel = "FILE", description = "Also write the results as JSON.")
  Path json;

  @Option(names = "--phase-file", paramLabel = "FILE",
      description = "Label each second of the JSON timeline (and the per-phase totals) with this file's first line, read once a"
          + " second, so a script can mark before/during/after an event it causes (\"end\" ends the measured time early,"
          + " so --duration is then a maximum); default: the bench's own phases.")
  Path phaseFile;

  @Option(names = "--bot", paramLabel = "NAME",
      description = "Add the bot bot:NAME (enabled on the server) to every conversation and measure its replies: messages without"
          + " exactly one reply, and the reply gap (server timestamps of message and reply); the drain also waits for owed replies.")
  String bot;

  @Option(names = "--bot-gaps", paramLabel = "FILE",
      description = "With --bot: one CSV line per message (conversation, seq, ts, first reply ts, replies) for scripts.")
  Path botGaps;

  @Option(names = "--node-metrics", paramLabel = "URL",
      description = "The node's Prometheus endpoint (management port, e.g. http://127.0.0.1:8558/metrics): report its CPU per acked send in the measured window.")
  private java.net.URI nodeMetrics;

  @Option(names = "--db-url", paramLabel = "JDBC_URL",
      description = "The node's PostgreSQL database (e.g. jdbc:postgresql://127.0.0.1:5432/parley?user=postgres): report its commits per acked send in the measured window.")
  private String dbUrl;

  @Option(names = "--ack-log", paramLabel = "FILE",
      description = "Also write one line per acknowledged send (conversation, due and acknowledged, epoch ms): how long each"
          + " conversation went without an ack during a fault (src/site/bench/fault.sh).")
  Path ackLog;

  @Option(names = "--first-url", paramLabel = "N", defaultValue = "0",
      description = "Open every connection to the N-th --url (1-based) instead of spreading them over all; reconnects go to the"
          + " others as always (a node that holds every client, then drains). 0: spread (default: ${DEFAULT-VALUE}).")
  int firstUrl;

  @Option(names = "--idle",
      description = "Idle mode: open --connections connections, authenticate, send nothing, hold them for --duration,"
          + " report how many opened, failed and stayed open (memory per idle connection). -r, -m, -k, -s and --warmup are ignored.")
  boolean idle;

  @Option(names = "--source-addresses", paramLabel = "N", defaultValue = "0",
      description = "Idle mode: spread connections round-robin over N loopback source addresses from 127.0.0.2;"
          + " 0 = one per " + SourceAddresses.DEFAULT_CONNECTIONS_PER_ADDRESS + " connections (default: ${DEFAULT-VALUE}).")
  int sourceAddresses;

  @Override
  public Integer call() throws Exception {
    String configured = secret != null ? secret : ParleyConfig.from(ConfigFactory.load()).jwtSecret();
    if (Tokens.usesDevelopmentSecret(configured)) {
      System.err.println("note: minting tokens with the public development secret (PARLEY_JWT_SECRET is not set)");
    }
    if (idle) return idle(configured);
    BenchSettings settings;
    try {
      settings = new BenchSettings(
          urls, configured, connections, conversations, members, rate, size, warmup, duration, drainTimeout, setupTimeout, json,
          firstUrl);
    } catch (IllegalArgumentException e) {
      System.err.println(e.getMessage());
      return 2;
    }
    BotReplies botReplies = bot == null ? null : new BotReplies(Bots.USER_PREFIX + bot);
    Report report;
    try {
      if (clientWarmup.compareTo(Duration.ZERO) > 0) warmClient(settings);
      BenchRun run = new BenchRun(settings, System.err, phaseFile, new WindowCost(nodeMetrics, dbUrl));
      if (bot != null) run.withBot(botReplies);
      if (ackLog != null) run.withAckLog(ackLog);
      report = run.run();
    } catch (IllegalStateException e) {
      // Setup failed (node down, wrong secret, timeout): say where, without a stack trace.
      System.err.println("bench failed: " + e.getMessage());
      return 3;
    }
    System.out.print(report.toText());
    if (botReplies != null) {
      System.out.print(botReplies.summary());
      if (botGaps != null) botReplies.write(botGaps);
    }
    if (json != null) report.writeJson(json);
    return report.correctness().clean() ? 0 : 1;
  }

  /**
   * A fresh bench JVM reads and parses every delivery of the run on one selector loop while its JIT
   * is still compiling that code; with 50 members per conversation that is 50 frames per send. This
   * runs the same workload (its own users and conversations, nothing reported) first, so that the
   * measured run is not also the client's warm-up.
   */
  private void warmClient(BenchSettings measured) throws Exception {
    BenchSettings warm = new BenchSettings(
        measured.urls(), measured.secret(), measured.connections(), measured.conversations(), measured.members(),
        measured.rate(), measured.messageBytes(), Duration.ZERO, clientWarmup, measured.drainTimeout(),
        measured.setupTimeout(), null, measured.firstUrl());
    System.err.println("client warm-up: " + clientWarmup.toSeconds() + " s of the same workload, not reported");
    new BenchRun(warm, new java.io.PrintStream(java.io.OutputStream.nullOutputStream())).run();
  }

  private int idle(String configured) throws Exception {
    IdleRun.Settings settings;
    try {
      SourceAddresses sources = sourceAddresses > 0
          ? SourceAddresses.of(sourceAddresses)
          : SourceAddresses.forConnections(connections, SourceAddresses.DEFAULT_CONNECTIONS_PER_ADDRESS);
      settings = new IdleRun.Settings(urls, configured, connections, sources, duration, setupTimeout, 16);
    } catch (IllegalArgumentException e) {
      System.err.println(e.getMessage());
      return 2;
    }
    IdleRun.Result result = new IdleRun(settings, System.err).run();
    System.out.print(result.toText());
    if (json != null) result.writeJson(json);
    return result.opened() == connections && result.openAtEnd() == connections ? 0 : 1;
  }

  /** Durations as HOCON writes them (10s, 500ms, 2 minutes), or ISO-8601 (PT10S). */
  static final class DurationConverter implements CommandLine.ITypeConverter<Duration> {
    @Override
    public Duration convert(String value) {
      if (value.startsWith("P") || value.startsWith("p")) return Duration.parse(value);
      try {
        return ConfigFactory.parseString("d = \"" + value.replace("\"", "") + "\"").getDuration("d");
      } catch (ConfigException e) {
        throw new CommandLine.TypeConversionException("not a duration: " + value);
      }
    }
  }
}
