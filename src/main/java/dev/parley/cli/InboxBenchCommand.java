package dev.parley.cli;

import com.typesafe.config.ConfigFactory;
import dev.parley.ParleyConfig;
import dev.parley.auth.Tokens;
import dev.parley.bench.InboxBench;
import dev.parley.bench.InboxReport;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code parley bench inbox} (issue 4): seeds users with many conversations over the protocol
 * (idempotently: a later run reuses them) and measures inbox pages, connect-to-first-page and the
 * fan-out of inbox updates. Exits 3 when seeding or a request failed, 1 when a fan-out send never
 * reached some member's inbox.
 */
@Command(
    name = "inbox",
    mixinStandardHelpOptions = true,
    sortOptions = false,
    description = {
      "Benchmark the inbox: seed users with --users conversations each through the websocket protocol (idempotent: names are"
          + " deterministic, so later runs reuse what is there), wait for the read model, then time first and deep inbox pages,"
          + " connect-to-first-page, and send -> inbox_update at every member of --fanout conversations. Loopback addresses only."
    })
public final class InboxBenchCommand implements Callable<Integer> {

  @Option(names = "--url", paramLabel = "WS_URL", defaultValue = "ws://127.0.0.1:8080/v1/ws",
      description = "The node's websocket endpoint (default: ${DEFAULT-VALUE}).")
  URI url;

  @Option(names = "--secret", description = "HS256 secret to mint tokens with; default: PARLEY_JWT_SECRET, else the development secret.")
  String secret;

  @Option(names = "--prefix", defaultValue = "ibench",
      description = "Prefix of the seeded users and conversations; another prefix seeds a separate set (default: ${DEFAULT-VALUE}).")
  String prefix;

  @Option(names = "--users", split = ",", defaultValue = "10,1000,100000",
      description = "Conversations of each seeded user; the first is the baseline of the ratios (default: ${DEFAULT-VALUE}).")
  List<Integer> users;

  @Option(names = "--message-every", defaultValue = "10",
      description = "Every N-th seeded conversation gets one message, so items carry previews (default: ${DEFAULT-VALUE}).")
  int messageEvery;

  @Option(names = "--page-size", defaultValue = "50", description = "Items per measured page (default: ${DEFAULT-VALUE}, the server's default).")
  int pageSize;

  @Option(names = "--deep-page", defaultValue = "100",
      description = "Which page is the deep one, reached by following cursors (default: ${DEFAULT-VALUE}).")
  int deepPage;

  @Option(names = "--requests", defaultValue = "2000", description = "Measured requests per page row (default: ${DEFAULT-VALUE}).")
  int requests;

  @Option(names = "--warmup-requests", defaultValue = "200", description = "Unmeasured requests per page row first (default: ${DEFAULT-VALUE}).")
  int warmupRequests;

  @Option(names = "--connects", defaultValue = "200",
      description = "Connect-to-first-page measurements per user; 0 skips them (default: ${DEFAULT-VALUE}).")
  int connects;

  @Option(names = "--fanout", split = ",", defaultValue = "2,100,1000",
      description = "Members of the fan-out conversations, 2-1000 (default: ${DEFAULT-VALUE}).")
  List<Integer> fanout;

  @Option(names = "--fanout-sends", defaultValue = "200",
      description = "Timed sends per fan-out conversation; 0 skips fan-out (default: ${DEFAULT-VALUE}).")
  int fanoutSends;

  @Option(names = "--seed-connections", defaultValue = "4", description = "Websockets per seeded user while seeding (default: ${DEFAULT-VALUE}).")
  int seedConnections;

  @Option(names = "--seed-in-flight", defaultValue = "96",
      description = "Seeding requests in flight at once, all connections together (default: ${DEFAULT-VALUE}).")
  int seedInFlight;

  @Option(names = "--seed-timeout", defaultValue = "30m", converter = BenchCommand.DurationConverter.class,
      description = "Limit for seeding one user and for each measuring phase (default: ${DEFAULT-VALUE}).")
  Duration seedTimeout;

  @Option(names = "--request-timeout", defaultValue = "10s", converter = BenchCommand.DurationConverter.class,
      description = "Limit for one request's reply, and for one fan-out send to reach every member (default: ${DEFAULT-VALUE}).")
  Duration requestTimeout;

  @Option(names = "--seed-only", description = "Seed (or check the seeding) and stop.")
  boolean seedOnly;

  @Option(names = "--json", paramLabel = "FILE", description = "Also write the results as JSON.")
  Path json;

  @Override
  public Integer call() throws Exception {
    String configured = secret != null ? secret : ParleyConfig.from(ConfigFactory.load()).jwtSecret();
    if (Tokens.usesDevelopmentSecret(configured)) {
      System.err.println("note: minting tokens with the public development secret (PARLEY_JWT_SECRET is not set)");
    }
    InboxBench.Settings settings;
    try {
      settings = new InboxBench.Settings(url, configured, prefix, users, messageEvery, pageSize, deepPage, requests, warmupRequests,
          connects, fanout, fanoutSends, seedConnections, seedInFlight, seedTimeout, requestTimeout, seedOnly, json);
    } catch (IllegalArgumentException e) {
      System.err.println(e.getMessage());
      return 2;
    }
    InboxReport report;
    try {
      report = new InboxBench(settings, System.err).run();
    } catch (IllegalStateException e) {
      System.err.println("bench inbox failed: " + e.getMessage());
      return 3;
    }
    System.out.print(report.toText());
    if (json != null) report.writeJson(json);
    return report.missedUpdates() == 0 ? 0 : 1;
  }
}
