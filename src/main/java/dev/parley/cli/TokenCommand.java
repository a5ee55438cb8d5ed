package dev.parley.cli;

import com.typesafe.config.ConfigFactory;
import dev.parley.ConfigReader;
import dev.parley.ParleyConfig;
import dev.parley.auth.Tokens;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** Mints a token for development and tests, signed with the node's configured secret. */
@Command(name = "token", mixinStandardHelpOptions = true, description = "Print a signed JWT for a user.")
public final class TokenCommand implements Callable<Integer> {

  @Parameters(index = "0", paramLabel = "USER", description = "The user id (the token's sub); with --bot, the bot's name.")
  String user;

  @Option(names = "--bot", description = "Mint a bot token: sub bot:NAME with the claim bot=true (bots.md).")
  boolean bot;

  @Option(
      names = "--ttl",
      defaultValue = "24h",
      converter = BenchCommand.DurationConverter.class,
      description = "Lifetime, e.g. 1h, 30m or PT1H (default: ${DEFAULT-VALUE}).")
  Duration ttl;

  @Option(names = "--secret", description = "HS256 secret; default: PARLEY_JWT_SECRET, else the development secret.")
  String secret;

  @Override
  public Integer call() {
    String configured;
    try {
      configured = secret != null ? secret : ParleyConfig.from(ConfigFactory.load()).jwtSecret();
    } catch (ConfigReader.Invalid e) {
      e.problems().forEach(problem -> System.err.println("parley: bad configuration: " + problem));
      return 2;
    }
    if (Tokens.usesDevelopmentSecret(configured)) {
      System.err.println("warning: signing with the public development secret (PARLEY_JWT_SECRET is not set)");
    }
    Tokens tokens = Tokens.fromConfigured(configured);
    System.out.println(bot ? tokens.mintBot(user, ttl) : tokens.mint(user, ttl));
    return 0;
  }
}
