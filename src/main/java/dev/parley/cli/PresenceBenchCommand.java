package dev.parley.cli;

import com.typesafe.config.ConfigFactory;
import dev.parley.ParleyConfig;
import dev.parley.bench.PresenceBench;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code parley bench presence} (issue 21): a big room's presence churn, or a killed node's users going offline. */
@Command(
    name = "presence",
    mixinStandardHelpOptions = true,
    sortOptions = false,
    description = {
      "Benchmark presence: one room of --members members, --watchers of them watching its presence, and --churn members"
          + " per second connecting and disconnecting; reports presence frames per watcher per second and change -> watcher"
          + " latency. With --victims N: N members connect to --victim-url, READY is printed, and the time from the node's"
          + " sockets closing (kill it) to a watcher seeing them offline is reported."
    })
public final class PresenceBenchCommand implements Callable<Integer> {

  @Option(names = "--url", split = ",", defaultValue = "ws://127.0.0.1:8080/v1/ws", description = "Websocket endpoints, round robin.")
  List<URI> urls;

  @Option(names = "--secret", description = "HS256 secret to mint tokens with; default: PARLEY_JWT_SECRET, else the development secret.")
  String secret;

  @Option(names = "--prefix", defaultValue = "pbench", description = "Prefix of the room and its members (default: ${DEFAULT-VALUE}).")
  String prefix;

  @Option(names = "--members", defaultValue = "10000", description = "Members of the room (default: ${DEFAULT-VALUE}).")
  int members;

  @Option(names = "--watchers", defaultValue = "1000", description = "Connected members watching the room's presence (default: ${DEFAULT-VALUE}).")
  int watchers;

  @Option(names = "--churn", defaultValue = "100", description = "Connects plus disconnects per second (default: ${DEFAULT-VALUE}).")
  double churn;

  @Option(names = "--warmup", defaultValue = "10s", converter = BenchCommand.DurationConverter.class, description = "Unmeasured churn first.")
  Duration warmup;

  @Option(names = "--duration", defaultValue = "60s", converter = BenchCommand.DurationConverter.class, description = "Measured churn.")
  Duration duration;

  @Option(names = "--victims", defaultValue = "0", description = "Members connected to --victim-url whose node is killed (0: churn mode).")
  int victims;

  @Option(names = "--victim-url", description = "The websocket endpoint of the node to be killed.")
  URI victimUrl;

  @Option(names = "--ready-file", description = "Written when the victims are online: the signal to kill the node.")
  Path readyFile;

  @Option(names = "--victim-timeout", defaultValue = "60s", converter = BenchCommand.DurationConverter.class,
      description = "How long to wait for every victim to be seen offline.")
  Duration victimTimeout;

  @Option(names = "--stop-file", description = "Churn ends early (and the report is printed) once this file exists.")
  Path stopFile;

  @Option(names = "--rooms", defaultValue = "1", description = "Members in this many rooms (member i in room i % rooms), each"
      + " watched by its first member, every watcher timed (default: ${DEFAULT-VALUE}: one big room, 10 watchers timed).")
  int rooms;

  /** Churn only while this file exists: its clock stops meanwhile and the churning members stay connected. */
  @Option(names = "--churn-file", paramLabel = "FILE", description = "Churn only while this file exists (a script alternates churn and none).")
  Path churnFile;

  /** For scripts (src/site/bench/presence-t1.py): epoch milliseconds, one line each. */
  @Option(names = "--events", paramLabel = "FILE", description = "Write 'E epochMs user status' per churn event, 'S changeEpochMs seenEpochMs user status watcher' per timed observation.")
  Path eventsFile;

  @Option(names = "--anchor", description = "Every churning member also keeps one connection open all along: the churn opens and"
      + " closes connections but changes no presence (the connect path's cost alone).")
  boolean anchored;

  @Override
  public Integer call() throws Exception {
    String configured = secret != null ? secret : ParleyConfig.from(ConfigFactory.load()).jwtSecret();
    if (victims > 0 && victimUrl == null) {
      System.err.println("--victims needs --victim-url");
      return 2;
    }
    if (watchers < 1 || members < watchers + Math.max(victims, 2)) {
      System.err.println("--members must exceed --watchers plus the victims (or two churning members)");
      return 2;
    }
    PresenceBench.Settings settings;
    try {
      settings =
          new PresenceBench.Settings(
              urls, configured, prefix, members, watchers, churn, warmup, duration, victims, victimUrl, readyFile, victimTimeout, stopFile,
              rooms, churnFile, eventsFile, anchored);
    } catch (IllegalArgumentException e) {
      System.err.println(e.getMessage());
      return 2;
    }
    System.out.print(new PresenceBench(settings, System.err).run());
    return 0;
  }
}
