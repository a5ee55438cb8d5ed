package dev.parley.endtoend;

import dev.parley.testing.TestNode;

/** The end-to-end scenarios on PostgreSQL (the tests' server, see testing/TestPostgres), in a database created for this class and dropped after it. */
class PostgresEndToEndIT extends EndToEndScenarios {
  @Override
  protected TestNode startNode() throws Exception {
    return TestNode.onPostgres();
  }
}
