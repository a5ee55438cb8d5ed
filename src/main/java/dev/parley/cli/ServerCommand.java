package dev.parley.cli;

import com.typesafe.config.ConfigFactory;
import dev.parley.Node;
import java.io.File;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** Runs a node until the JVM is asked to stop; CoordinatedShutdown leaves the cluster cleanly on SIGTERM. */
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
    Node node = Node.start(ConfigFactory.load());
    node.whenTerminated().join();
    return 0;
  }
}
