package dev.parley.inbox;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Types;
import java.util.concurrent.atomic.LongAdder;

/**
 * Every statement of the inbox read model runs through here, which counts it (a batch once): a
 * metric, and how tests prove there is no N+1. This replaces a JDBC proxy (datasource-proxy) that
 * wrapped every call on every connection, statement and parameter to count the same thing: ~11 %
 * of the bytes a node allocated at 1,000 sends/s (benchmarks.md, issue 18, 2026-12-03).
 */
final class CountedStatements {

  private final LongAdder executed = new LongAdder();

  /** Statements executed so far. */
  long executed() {
    return executed.sum();
  }

  ResultSet query(PreparedStatement s) throws SQLException {
    executed.increment();
    return s.executeQuery();
  }

  int update(PreparedStatement s) throws SQLException {
    executed.increment();
    return s.executeUpdate();
  }

  int[] batch(PreparedStatement s) throws SQLException {
    executed.increment();
    return s.executeBatch();
  }

  /** One update with positional parameters, each a {@code Long}, a {@code String} or null. */
  int update(Connection c, String sql, Object... parameters) throws SQLException {
    try (PreparedStatement s = c.prepareStatement(sql)) {
      for (int i = 0; i < parameters.length; i++) {
        Object p = parameters[i];
        if (p == null) s.setNull(i + 1, Types.VARCHAR);
        else if (p instanceof Long l) s.setLong(i + 1, l);
        else s.setString(i + 1, (String) p);
      }
      return update(s);
    }
  }
}
