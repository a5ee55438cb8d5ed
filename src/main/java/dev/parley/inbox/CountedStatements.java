package dev.parley.inbox;

import dev.parley.storage.StatementParameters;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.concurrent.atomic.LongAdder;

/**
 * Every statement of the inbox read model runs through here, which counts it (a batch once): a
 * metric, and how tests prove there is no N+1. This replaces a JDBC proxy (datasource-proxy) that
 * wrapped every call on every connection, statement and parameter to count the same thing: ~11 %
 * of the bytes a node allocated at 1,000 sends/s (benchmarks.md, issue 18, 2026-12-03).
 */
final class CountedStatements {

  private final LongAdder executed = new LongAdder();
  private final LongAdder executions = new LongAdder();

  /** Statements executed so far, a JDBC batch once (a round trip). */
  long executed() {
    return executed.sum();
  }

  /** Statements the database executed so far: a JDBC batch of n counts n (what pg_stat_statements counts). */
  long executions() {
    return executions.sum();
  }

  ResultSet query(PreparedStatement s) throws SQLException {
    executed.increment();
    executions.increment();
    return s.executeQuery();
  }

  int update(PreparedStatement s) throws SQLException {
    executed.increment();
    executions.increment();
    return s.executeUpdate();
  }

  int[] batch(PreparedStatement s) throws SQLException {
    executed.increment();
    int[] counts = s.executeBatch();
    executions.add(counts.length);
    return counts;
  }

  /** One update with positional parameters, each a {@code Long}, a {@code String} or null. */
  int update(Connection c, String sql, Object... parameters) throws SQLException {
    try (PreparedStatement s = c.prepareStatement(sql)) {
      return update(StatementParameters.bind(s, parameters));
    }
  }
}
