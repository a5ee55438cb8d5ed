package dev.parley.testing;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;

/**
 * Holds every journal insert until {@link #release}: a lock that lets readers through on
 * PostgreSQL; exclusive mode on H2 (other connections' statements wait). {@code ddl}, when not
 * null, runs just before the release, while the writes still wait.
 */
public final class JournalGate implements AutoCloseable {
  private final Connection connection;
  private final boolean postgres;
  private boolean released;

  private JournalGate(Connection connection, boolean postgres) {
    this.connection = connection;
    this.postgres = postgres;
  }

  public static JournalGate hold(TestNode node) throws SQLException {
    Connection c = node.openDatabase();
    try (Statement s = c.createStatement()) {
      if (node.onPostgreSQL()) {
        c.setAutoCommit(false);
        s.execute("LOCK TABLE event_journal IN SHARE ROW EXCLUSIVE MODE");
      } else {
        s.execute("SET EXCLUSIVE 1");
      }
    }
    return new JournalGate(c, node.onPostgreSQL());
  }

  public void release(String ddl) throws SQLException {
    try (Statement s = connection.createStatement()) {
      if (ddl != null) s.execute(ddl);
      if (postgres) connection.commit();
      else s.execute("SET EXCLUSIVE 0");
    }
    released = true;
  }

  @Override
  public void close() throws SQLException {
    try {
      if (!released) release(null);
    } finally {
      connection.close();
    }
  }
}
