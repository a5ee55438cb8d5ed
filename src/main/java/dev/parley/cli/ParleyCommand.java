package dev.parley.cli;

import com.typesafe.config.ConfigFactory;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code java -jar parley.jar [server|token] ...}: without a subcommand, runs a server. */
@Command(
    name = "parley",
    mixinStandardHelpOptions = true,
    versionProvider = ParleyCommand.Version.class,
    description = "Parley: an actor-based realtime messaging engine.",
    subcommands = {ServerCommand.class, TokenCommand.class, BenchCommand.class, AdminCommand.class})
public final class ParleyCommand implements Callable<Integer> {

  /** See {@link #ensureAsyncPool()}. */
  public static final String COMMON_POOL_PARALLELISM = "java.util.concurrent.ForkJoinPool.common.parallelism";

  public static void main(String[] args) {
    ensureAsyncPool();
    System.exit(new CommandLine(new ParleyCommand()).execute(args));
  }

  /**
   * Pekko's Java {@code ask} and {@code pipeToSelf} hand out Scala's CompletionStage adapter, which
   * runs every callback on the JDK's default async executor; with a common pool of fewer than 2
   * threads (every 2-CPU machine: parallelism is CPUs - 1) that executor starts a new thread per
   * task. Measured: one thread per acknowledged send, +20% CPU per send, p99 at 500 sends/s 80 ms
   * instead of 9 ms (benchmarks.md, "Where the time goes"). Must run before anything touches
   * CompletableFuture, hence first thing in main; an explicit -D setting wins.
   */
  static void ensureAsyncPool() {
    if (System.getProperty(COMMON_POOL_PARALLELISM) == null) {
      int parallelism = Math.max(2, Runtime.getRuntime().availableProcessors() - 1);
      System.setProperty(COMMON_POOL_PARALLELISM, Integer.toString(parallelism));
    }
  }

  @Override
  public Integer call() throws Exception {
    return new ServerCommand().call();
  }

  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      return new String[] {"parley " + buildVersion()};
    }
  }

  /**
   * The version the build wrote into build-info.conf: the same one the node announces to the
   * cluster (pekko.cluster.app-version), so {@code --version} and {@code parley admin} agree.
   */
  public static String buildVersion() {
    try {
      return ConfigFactory.parseResources(ParleyCommand.class.getClassLoader(), "build-info.conf").getString("pekko.cluster.app-version");
    } catch (RuntimeException e) {
      return "unknown (no build-info.conf)";
    }
  }
}
