package dev.parley.endtoend;

import dev.parley.testing.TestNode;

/** The authorization matrix on H2. */
class H2AuthorizationIT extends AuthorizationMatrix {
  @Override
  protected TestNode startNode() throws Exception {
    return TestNode.onH2();
  }
}
