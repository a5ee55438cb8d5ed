package dev.parley.notification;

import dev.parley.testing.TestNode;
import java.util.Map;

/** The offline notification scenarios on the embedded default, H2. */
class H2NotificationsIT extends NotificationScenarios {
  @Override
  protected TestNode startNode(Map<String, Object> settings) throws Exception {
    return TestNode.onH2(settings);
  }
}
