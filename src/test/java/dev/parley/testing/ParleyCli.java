package dev.parley.testing;

import dev.parley.cli.ParleyCommand;
import java.io.PrintWriter;
import java.io.StringWriter;
import picocli.CommandLine;

/** Runs the real {@code parley} command line in this JVM and keeps what it printed. */
public final class ParleyCli {

  public record Result(int exitCode, String out, String err) {}

  private ParleyCli() {}

  public static Result run(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    CommandLine command = new CommandLine(new ParleyCommand());
    command.setOut(new PrintWriter(out, true));
    command.setErr(new PrintWriter(err, true));
    int exitCode = command.execute(args);
    return new Result(exitCode, out.toString(), err.toString());
  }
}
