package dev.parley.bench;

import java.net.InetAddress;
import java.net.URI;
import java.net.UnknownHostException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * One benchmark run's parameters, validated when built.
 *
 * <p>{@code connections} users each hold one connection; {@code conversations} conversations have
 * {@code members} members each, taken round-robin from those users. {@code rate} is the total
 * target of sends per second across all connections. {@code firstUrl} (1-based, 0 = none) opens
 * every connection to that node of {@code urls} instead of spreading them: a node that holds every
 * client and then drains (issue 20); reconnects go to the other nodes as always.
 */
public record BenchSettings(
    List<URI> urls,
    String secret,
    int connections,
    int conversations,
    int members,
    double rate,
    int messageBytes,
    Duration warmup,
    Duration duration,
    Duration drainTimeout,
    Duration setupTimeout,
    Path json,
    int firstUrl) {

  public BenchSettings(
      List<URI> urls, String secret, int connections, int conversations, int members, double rate, int messageBytes,
      Duration warmup, Duration duration, Duration drainTimeout, Duration setupTimeout, Path json) {
    this(urls, secret, connections, conversations, members, rate, messageBytes, warmup, duration, drainTimeout, setupTimeout, json, 0);
  }

  public BenchSettings {
    urls = List.copyOf(urls);
    require(!urls.isEmpty(), "at least one --url is needed");
    urls.forEach(BenchSettings::requireLoopback);
    require(connections >= 1, "--connections must be at least 1");
    require(conversations >= 1, "--conversations must be at least 1");
    require(members >= 1 && members <= connections, "--members must be between 1 and --connections");
    require(members <= 1000, "--members must be at most 1000 (the server's limit at create)");
    require(rate > 0, "--rate must be positive");
    require(messageBytes >= 1 && messageBytes <= 4000, "--size must be between 1 and 4000 (the server's text limit)");
    require(!warmup.isNegative(), "--warmup must not be negative");
    require(!duration.isNegative() && !duration.isZero(), "--duration must be positive");
    require(!drainTimeout.isNegative(), "--drain-timeout must not be negative");
    require(firstUrl >= 0 && firstUrl <= urls.size(), "--first-url must name one of the --url options (1.." + urls.size() + ")");
  }

  /**
   * The load goes to loopback addresses only: this tool opens thousands of connections and sends
   * as fast as it is told, which is an attack when pointed at somebody else's host.
   */
  static void requireLoopback(URI url) {
    require("ws".equals(url.getScheme()) || "wss".equals(url.getScheme()), "--url must be a ws:// or wss:// address: " + url);
    require(url.getHost() != null, "--url needs a host: " + url);
    try {
      require(InetAddress.getByName(url.getHost()).isLoopbackAddress(), "--url must point at a loopback address: " + url);
    } catch (UnknownHostException e) {
      throw new IllegalArgumentException("unknown host in --url: " + url, e);
    }
  }

  private static void require(boolean condition, String message) {
    if (!condition) throw new IllegalArgumentException(message);
  }
}
