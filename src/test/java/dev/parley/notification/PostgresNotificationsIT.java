package dev.parley.notification;

import dev.parley.testing.TestNode;
import java.util.Map;

/** The offline notification scenarios on PostgreSQL. */
class PostgresNotificationsIT extends NotificationScenarios {
  @Override
  protected TestNode startNode(Map<String, Object> settings) throws Exception {
    return TestNode.onPostgres(settings);
  }
}
