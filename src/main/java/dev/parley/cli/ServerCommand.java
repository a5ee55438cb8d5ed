package dev.parley.cli;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigFactory;
import dev.parley.ConfigReader;
import dev.parley.Node;
import java.io.File;
import java.util.concurrent.Callable;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Runs a node until the JVM is asked to stop; CoordinatedShutdown leaves the cluster cleanly on
 * SIGTERM. Bad configuration ends it before anything starts, with one line per problem and exit
 * status 2.
 */
@Command(name = "server", mixinStandardHelpOptions = true, description = "Run a Parley node (the default).")
public final class ServerCommand implements Callable<Integer> {

  @Option(
      names = "--config",
      paramLabel = "FILE",
      description = "A HOCON file, e.g. cluster-config/dev.conf, that includes application.conf and overrides it.")
  File config;

  @Override
  public Integer call() throws Exception {
    if (config != null) {
      if (!config.isFile()) {
        System.err.println("no such configuration file: " + config);
        return 2;
      }
      System.setProperty("config.file", config.getAbsolutePath());
      ConfigFactory.invalidateCaches();
    }
    Config loaded;
    try {
      loaded = ConfigFactory.load();
    } catch (ConfigException e) {
      System.err.println("parley: bad configuration: " + describe(e));
      return 2;
    }
    Node node;
    try {
      node = Node.start(loaded);
    } catch (ConfigReader.Invalid e) {
      e.problems().forEach(problem -> System.err.println("parley: bad configuration: " + problem));
      return 2;
    }
    node.whenTerminated().join();
    return 0;
  }

  /**
   * One line for a file that cannot be loaded; for a required variable that is not set (e.g.
   * production.conf's {@code ${PARLEY_DB_URL}}), which variable and where it is required.
   */
  static String describe(ConfigException e) {
    Matcher required = REQUIRED_VARIABLE.matcher(String.valueOf(e.getMessage()));
    if (e instanceof ConfigException.UnresolvedSubstitution && required.find()) {
      String where = e.origin() == null ? "the configuration" : e.origin().description();
      return where + " requires the environment variable " + required.group(1) + ", which is not set";
    }
    return String.valueOf(e.getMessage()).replace('\n', ' ');
  }

  private static final Pattern REQUIRED_VARIABLE = Pattern.compile("\\$\\{([A-Za-z0-9_.-]+)}");
}
