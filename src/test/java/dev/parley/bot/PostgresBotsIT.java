package dev.parley.bot;

import dev.parley.testing.TestNode;
import java.util.Map;

/** The bot scenarios on PostgreSQL (a fresh database on the tests' server, see testing/TestPostgres). */
class PostgresBotsIT extends BotScenarios {
  @Override
  protected TestNode startNode(Map<String, Object> settings) throws Exception {
    return TestNode.onPostgres(settings);
  }
}
