package dev.parley.inbox;

import dev.parley.testing.TestNode;

/** The inbox scenarios on PostgreSQL (a fresh database on the tests' server, dropped afterwards). */
class PostgresInboxIT extends InboxScenarios {
  @Override
  protected TestNode startNode() throws Exception {
    return TestNode.onPostgres();
  }
}
