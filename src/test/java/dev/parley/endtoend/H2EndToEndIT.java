package dev.parley.endtoend;

import dev.parley.testing.TestNode;

/** The end-to-end scenarios on the embedded default: an H2 file database in a fresh directory. */
class H2EndToEndIT extends EndToEndScenarios {
  @Override
  protected TestNode startNode() throws Exception {
    return TestNode.onH2();
  }
}
