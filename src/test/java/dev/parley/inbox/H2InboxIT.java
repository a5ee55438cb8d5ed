package dev.parley.inbox;

import dev.parley.testing.TestNode;

/** The inbox scenarios on the embedded default: an H2 file database in a fresh directory. */
class H2InboxIT extends InboxScenarios {
  @Override
  protected TestNode startNode() throws Exception {
    return TestNode.onH2();
  }
}
