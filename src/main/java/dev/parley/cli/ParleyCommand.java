package dev.parley.cli;

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

  public static void main(String[] args) {
    System.exit(new CommandLine(new ParleyCommand()).execute(args));
  }

  @Override
  public Integer call() throws Exception {
    return new ServerCommand().call();
  }

  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      String version = ParleyCommand.class.getPackage().getImplementationVersion();
      return new String[] {"parley " + (version == null ? "development build" : version)};
    }
  }
}
