package dev.parley.endtoend;

import dev.parley.testing.TestNode;

/** The authorization matrix on PostgreSQL. */
class PostgresAuthorizationIT extends AuthorizationMatrix {
  @Override
  protected TestNode startNode() throws Exception {
    return TestNode.onPostgres();
  }
}
