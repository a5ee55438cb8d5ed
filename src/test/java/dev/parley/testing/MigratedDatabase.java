package dev.parley.testing;

import dev.parley.storage.DbSettings;
import dev.parley.storage.Storage;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.time.Duration;
import java.util.UUID;
import org.flywaydb.core.Flyway;

/**
 * A fresh database of one vendor ({@code "h2"} in memory, or {@code "postgresql"} on the tests'
 * server), migrated with the node's own migrations, and dropped on {@link #close}: for tests of a
 * store without a node.
 */
public record MigratedDatabase(String vendor, String url, String user, String password, String database) implements AutoCloseable {

  public static MigratedDatabase create(String vendor, String namePrefix) throws Exception {
    MigratedDatabase db;
    if (vendor.equals("h2")) {
      String name = namePrefix + UUID.randomUUID().toString().replace("-", "");
      db = new MigratedDatabase(vendor, "jdbc:h2:mem:" + name + ";DB_CLOSE_DELAY=-1", "sa", "", name);
    } else {
      TestPostgres.Server server = TestPostgres.server();
      String name = TestPostgres.createDatabase();
      db = new MigratedDatabase(vendor, server.url(name), server.user(), server.password(), name);
    }
    Flyway.configure().dataSource(db.url, db.user, db.password).locations("classpath:db/migration/" + vendor).load().migrate();
    return db;
  }

  /** The database as a node would see it (a pool of 2, custom plans). */
  public Storage storage() {
    Storage.Vendor v = vendor.equals("h2") ? Storage.Vendor.H2 : Storage.Vendor.POSTGRESQL;
    return new Storage(v, url, user, password, new DbSettings(url, user, password, 2, Duration.ofSeconds(5), "force_custom_plan"));
  }

  @Override
  public void close() throws Exception {
    if (vendor.equals("h2")) {
      try (Connection c = DriverManager.getConnection(url, user, "");
          Statement s = c.createStatement()) {
        s.execute("SHUTDOWN");
      }
      return;
    }
    TestPostgres.dropDatabase(database);
  }
}
