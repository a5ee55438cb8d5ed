package dev.parley.storage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import org.junit.jupiter.api.Test;

class StatementParametersTest {

  @Test
  void bindsLongsStringsAndNullsInOrder() throws Exception {
    try (Connection c = DriverManager.getConnection("jdbc:h2:mem:statement-parameters");
        PreparedStatement s = c.prepareStatement("SELECT CAST(? AS BIGINT), CAST(? AS VARCHAR), CAST(? AS VARCHAR)")) {
      try (ResultSet r = StatementParameters.bind(s, 42L, "alice", null).executeQuery()) {
        assertThat(r.next()).isTrue();
        assertThat(r.getLong(1)).isEqualTo(42L);
        assertThat(r.getString(2)).isEqualTo("alice");
        assertThat(r.getString(3)).isNull();
      }
    }
  }

  @Test
  void refusesAParameterOfAnotherTypeNamingIt() throws Exception {
    try (Connection c = DriverManager.getConnection("jdbc:h2:mem:statement-parameters");
        PreparedStatement s = c.prepareStatement("SELECT CAST(? AS BIGINT), CAST(? AS BIGINT)")) {
      assertThatThrownBy(() -> StatementParameters.bind(s, 1L, 2))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("parameter 2")
          .hasMessageContaining("java.lang.Integer");
    }
  }
}
