package dev.parley.bot;

import dev.parley.testing.TestNode;
import java.util.Map;

/** The bot scenarios on the embedded default: an H2 file database in a fresh directory. */
class H2BotsIT extends BotScenarios {
  @Override
  protected TestNode startNode(Map<String, Object> settings) throws Exception {
    return TestNode.onH2(settings);
  }
}
