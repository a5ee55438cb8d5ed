package dev.parley.storage;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigValueFactory;
import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import org.flywaydb.core.Flyway;

/**
 * Where events are kept: the embedded H2 file database by default, PostgreSQL when the URL says
 * so. Migrates the schema with Flyway before the actor system starts, so a journal write never
 * meets a missing table, and derives the Pekko Persistence JDBC (Slick) settings from
 * {@code parley.db}, so the database is configured in exactly one place.
 */
public record Storage(Vendor vendor, String url, String user, String password, DbSettings settings) {

  public enum Vendor {
    H2("org.h2.Driver", "slick.jdbc.H2Profile$", "db/migration/h2"),
    POSTGRESQL("org.postgresql.Driver", "slick.jdbc.PostgresProfile$", "db/migration/postgresql");

    final String driver;
    final String slickProfile;
    final String migrations;

    Vendor(String driver, String slickProfile, String migrations) {
      this.driver = driver;
      this.slickProfile = slickProfile;
      this.migrations = migrations;
    }
  }

  public static Storage from(DbSettings db, Path dataDir) {
    if (db.url().isBlank()) {
      Path file = dataDir.toAbsolutePath().resolve("parley");
      // AUTO_SERVER would let a second process open the files; a node owns its data directory.
      String url = "jdbc:h2:file:" + file + ";DB_CLOSE_ON_EXIT=FALSE";
      return new Storage(Vendor.H2, url, db.user().isBlank() ? "sa" : db.user(), db.password(), db);
    }
    if (db.url().startsWith("jdbc:postgresql:")) {
      return new Storage(Vendor.POSTGRESQL, db.url(), db.user(), db.password(), db);
    }
    if (db.url().startsWith("jdbc:h2:")) {
      return new Storage(Vendor.H2, db.url(), db.user().isBlank() ? "sa" : db.user(), db.password(), db);
    }
    throw new IllegalArgumentException(
        "parley.db.url must be empty (embedded H2), a jdbc:postgresql: or a jdbc:h2: URL");
  }

  /** For the start-up line: the vendor and where, without URL parameters (they may hold credentials). */
  public String describe() {
    String where = url.replaceFirst("^jdbc:(h2:file:|postgresql:)", "").replaceAll("[?;].*$", "");
    return (vendor == Vendor.H2 ? "H2 " : "PostgreSQL ") + where;
  }

  /** Creates or upgrades the schema; safe to run on every start and from several nodes. */
  public void migrate() {
    Flyway.configure()
        .dataSource(url, user, password)
        .locations("classpath:" + vendor.migrations)
        .connectRetries(3)
        .load()
        .migrate();
  }

  /**
   * Properties of every connection Parley opens (the journal's pool, the inbox's and the bots'
   * pools, single connections): the credentials and, on PostgreSQL, {@code parley.db.plan-cache-mode}
   * as a startup option, so a long-lived connection never keeps a plan made for the tables it met
   * when it opened.
   */
  public Properties connectionProperties() {
    Properties properties = new Properties();
    properties.setProperty("user", user);
    properties.setProperty("password", password);
    if (vendor == Vendor.POSTGRESQL && !settings.planCacheMode().isBlank()) {
      properties.setProperty("options", "-c plan_cache_mode=" + settings.planCacheMode());
    }
    return properties;
  }

  /** A connection outside any pool, for rare operator actions. */
  public Connection connect() throws SQLException {
    return DriverManager.getConnection(url, connectionProperties());
  }

  /**
   * A pool of its own for one part of Parley, so its queries never wait behind another part's.
   * Start-up does not fail when the database is briefly away: queries fail until it is back.
   */
  public HikariDataSource pool(String name, int size, Duration connectionTimeout) {
    HikariConfig config = new HikariConfig();
    config.setPoolName(name);
    config.setJdbcUrl(url);
    config.setDataSourceProperties(connectionProperties());
    config.setMaximumPoolSize(size);
    config.setMinimumIdle(1);
    config.setConnectionTimeout(Math.max(250, connectionTimeout.toMillis()));
    config.setInitializationFailTimeout(-1);
    return new HikariDataSource(config);
  }

  /** The Slick database the journal, snapshot store and read journal share. */
  public Config pekkoConfig() {
    Map<String, Object> db = new HashMap<>();
    db.put("url", url);
    db.put("user", user);
    db.put("password", password);
    db.put("driver", vendor.driver);
    db.put("connectionPool", "HikariCP");
    db.put("numThreads", settings.poolSize());
    db.put("maxConnections", settings.poolSize());
    db.put("minConnections", settings.poolSize());
    db.put("connectionTimeout", settings.connectionTimeout().toMillis());
    // Bounded: when the database is slow, work is refused instead of piling up.
    db.put("queueSize", 10000);
    // Named per node (several nodes share a JVM in tests) and exposed as an MBean, which is how
    // dev.parley.ops.DatabasePool reads the pool's usage: Slick creates the pool, not Parley.
    db.put("poolName", "parley-journal-" + UUID.randomUUID().toString().substring(0, 8));
    db.put("registerMbeans", true);
    Map<String, Object> properties = new HashMap<>();
    connectionProperties().forEach((key, value) -> properties.put((String) key, value));
    db.put("properties", properties);
    Map<String, Object> slick = Map.of("profile", vendor.slickProfile, "db", db);
    return ConfigFactory.empty()
        .withValue("pekko-persistence-jdbc.shared-databases.slick", ConfigValueFactory.fromMap(slick));
  }
}
