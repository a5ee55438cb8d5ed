package dev.parley.bench;

import java.lang.management.ManagementFactory;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;

/**
 * What the measured window cost (issue 18): the node's CPU (its {@code process_cpu_time_ns_total} meter,
 * read from the management port's {@code /metrics} at the window's start and end), the database's
 * commits ({@code pg_stat_database.xact_commit} of the node's database: every transaction, journal,
 * snapshots and read models alike), and this client's own CPU. Divided by the sends acknowledged in
 * the window, these make "CPU per send" and "commits per send" checkable without extra scripts.
 *
 * <p>Each source is optional: without {@code --node-metrics} or {@code --db-url} its figures are
 * left out (null). PostgreSQL updates its statistics at most about once a second per connection,
 * so the commit count of a short window is a little blurred; use windows of 10 s or more.
 */
public final class WindowCost {

  /** Per acknowledged send in the window; null when the source was not given or failed. */
  public record Cost(Double nodeCpuMsPerAckedSend, Double nodeCores, Double commitsPerAckedSend, double benchCpuMsPerSend) {}

  record Sample(double nodeCpuSeconds, long commits, double benchCpuSeconds) {}

  private final URI nodeMetrics;
  private final String dbUrl;
  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  public WindowCost(URI nodeMetrics, String dbUrl) {
    this.nodeMetrics = nodeMetrics;
    this.dbUrl = dbUrl;
  }

  Sample sample() {
    return new Sample(nodeCpuSeconds(), commits(), benchCpuSeconds());
  }

  Cost between(Sample start, Sample end, double ackedSends, double sentSends, double seconds) {
    double acked = Math.max(1, ackedSends);
    Double nodeMs = null;
    Double cores = null;
    if (start.nodeCpuSeconds() >= 0 && end.nodeCpuSeconds() >= 0) {
      double cpu = end.nodeCpuSeconds() - start.nodeCpuSeconds();
      nodeMs = 1000 * cpu / acked;
      cores = cpu / Math.max(1e-3, seconds);
    }
    Double commitsPerSend = null;
    if (start.commits() >= 0 && end.commits() >= 0) commitsPerSend = (end.commits() - start.commits()) / acked;
    double benchMs = 1000 * (end.benchCpuSeconds() - start.benchCpuSeconds()) / Math.max(1, sentSends);
    return new Cost(nodeMs, cores, commitsPerSend, benchMs);
  }

  /** The node's process CPU time in seconds, or -1. */
  private double nodeCpuSeconds() {
    if (nodeMetrics == null) return -1;
    try {
      HttpResponse<String> response =
          http.send(HttpRequest.newBuilder(nodeMetrics).timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString());
      // Micrometer's process.cpu.time, in nanoseconds (Prometheus: process_cpu_time_ns_total).
      for (String line : response.body().split("\n")) {
        if (line.startsWith("process_cpu_time_ns_total")) {
          return Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1)) / 1e9;
        }
        if (line.startsWith("process_cpu_time_seconds_total")) {
          return Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
        }
      }
    } catch (Exception e) {
      System.err.println("node metrics unreadable: " + e);
    }
    return -1;
  }

  /** Committed transactions of the database {@code dbUrl} names, or -1. */
  private long commits() {
    if (dbUrl == null) return -1;
    try (Connection c = DriverManager.getConnection(dbUrl);
        Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()")) {
      return rs.next() ? rs.getLong(1) : -1;
    } catch (Exception e) {
      System.err.println("database statistics unreadable: " + e);
      return -1;
    }
  }

  private static double benchCpuSeconds() {
    if (ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os) {
      return os.getProcessCpuTime() / 1e9;
    }
    return 0;
  }
}
