package dev.parley.storage;

import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Types;

/**
 * Positional parameters for the read models' plain JDBC statements (the inbox, the notification
 * queue), where each parameter is a {@code Long}, a {@code String} or SQL NULL.
 */
public final class StatementParameters {

  private StatementParameters() {}

  /** Binds {@code parameters} to {@code statement} in order; anything but a Long or a String is refused. */
  public static PreparedStatement bind(PreparedStatement statement, Object... parameters) throws SQLException {
    for (int i = 0; i < parameters.length; i++) {
      Object p = parameters[i];
      if (p == null) statement.setNull(i + 1, Types.VARCHAR);
      else if (p instanceof Long l) statement.setLong(i + 1, l);
      else if (p instanceof String s) statement.setString(i + 1, s);
      else throw new IllegalArgumentException("parameter " + (i + 1) + " is a " + p.getClass().getName() + ", not a Long or a String");
    }
    return statement;
  }
}
