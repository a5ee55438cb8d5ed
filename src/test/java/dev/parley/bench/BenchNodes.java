package dev.parley.bench;

import com.typesafe.config.ConfigFactory;
import dev.parley.Node;
import java.nio.file.Path;

/** A real node for `parley bench` to drive, on H2 in {@code dataDir}, with {@code secret} for its tokens. */
final class BenchNodes {

  private BenchNodes() {}

  /** {@code settings}: HOCON on top of the defaults (e.g. a send limit), or empty. */
  static Node start(Path dataDir, String secret, String settings) throws Exception {
    // Layered under the unresolved application.conf (not over ConfigFactory.load(), which has already
    // resolved the remoting port to 25520 from parley.cluster.port): parallel builds on one machine
    // must not fight over 25520, 8558 or 8080.
    ConfigFactory.invalidateCaches();
    return Node.start(
        ConfigFactory.load(
            ConfigFactory.parseString(
                    "parley.http.port=0, parley.cluster.port=0, parley.management.port=0, parley.http.interface=127.0.0.1, "
                        + "parley.data-dir=\"" + dataDir + "\", parley.jwt.secret=\"" + secret + "\"\n" + settings)
                .withFallback(ConfigFactory.defaultApplication())));
  }
}
