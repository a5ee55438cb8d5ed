package dev.parley.ops;

import com.typesafe.config.Config;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.lang.management.ManagementFactory;
import javax.management.MBeanServer;
import javax.management.ObjectName;

/**
 * Gauges of the journal's connection pool. The pool is HikariCP, created inside Slick by Pekko
 * Persistence JDBC, so Parley never holds the pool object; instead {@link
 * dev.parley.storage.Storage} names it and sets {@code registerMbeans}, and these gauges read
 * Hikari's own MBean ({@code com.zaxxer.hikari:type=Pool (name)}) at scrape time. Before the pool
 * exists (it is created lazily, on the first journal use) the gauges read NaN.
 */
final class DatabasePool {

  static final String POOL_NAME_PATH = "pekko-persistence-jdbc.shared-databases.slick.db.poolName";

  private DatabasePool() {}

  static void register(MeterRegistry registry, Config config) {
    if (!config.hasPath(POOL_NAME_PATH)) return;
    ObjectName pool;
    try {
      pool = new ObjectName("com.zaxxer.hikari:type=Pool (" + config.getString(POOL_NAME_PATH) + ")");
    } catch (javax.management.MalformedObjectNameException e) {
      return;
    }
    MBeanServer server = ManagementFactory.getPlatformMBeanServer();
    gauge(registry, server, pool, "active", "ActiveConnections", "connections lent to a journal query or write");
    gauge(registry, server, pool, "idle", "IdleConnections", "connections waiting in the pool");
    gauge(registry, server, pool, "total", "TotalConnections", "connections open to the database");
    gauge(registry, server, pool, "pending", "ThreadsAwaitingConnection", "threads waiting for a connection");
  }

  private static void gauge(
      MeterRegistry registry, MBeanServer server, ObjectName pool, String state, String attribute, String description) {
    Gauge.builder("parley.db.pool.connections", () -> read(server, pool, attribute))
        .description("journal connection pool (HikariCP): " + description)
        .tag("state", state)
        .register(registry);
  }

  private static double read(MBeanServer server, ObjectName pool, String attribute) {
    try {
      return ((Number) server.getAttribute(pool, attribute)).doubleValue();
    } catch (Exception notThereYet) {
      return Double.NaN;
    }
  }
}
