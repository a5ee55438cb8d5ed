package dev.parley.web;

import static org.apache.pekko.http.javadsl.server.Directives.concat;
import static org.apache.pekko.http.javadsl.server.Directives.get;
import static org.apache.pekko.http.javadsl.server.Directives.getFromResource;
import static org.apache.pekko.http.javadsl.server.Directives.getFromResourceDirectory;
import static org.apache.pekko.http.javadsl.server.Directives.path;
import static org.apache.pekko.http.javadsl.server.Directives.pathPrefix;
import static org.apache.pekko.http.javadsl.server.Directives.pathSingleSlash;
import static org.apache.pekko.http.javadsl.server.Directives.respondWithDefaultHeader;

import java.util.function.Supplier;
import org.apache.pekko.http.javadsl.model.headers.RawHeader;
import org.apache.pekko.http.javadsl.server.Route;

/**
 * {@code GET /} (the page) and {@code GET /chat/*} (its scripts and styles): a small browser chat
 * client over the public websocket protocol. Same origin as {@code /v1/ws}, so the Origin check
 * admits it without configuration.
 */
public final class ChatClient {

  /**
   * The pages load nothing from elsewhere (no CDN) and connect only back to this node ('self' covers
   * the same host's ws: and wss: in CSP level 3); no inline script runs, no page frames them.
   */
  static final RawHeader CONTENT_SECURITY_POLICY =
      RawHeader.create(
          "Content-Security-Policy",
          "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'");

  public Route route() {
    return concat(
        pathSingleSlash(() -> get(() -> withPolicy(() -> getFromResource("web/chat/index.html")))),
        // Browsers ask for it whatever the page links; a 404 was the client's only console error.
        path("favicon.ico", () -> get(() -> getFromResource("web/chat/favicon.svg"))),
        pathPrefix("chat", () -> get(() -> withPolicy(() -> getFromResourceDirectory("web/chat")))));
  }

  static Route withPolicy(Supplier<Route> inner) {
    return respondWithDefaultHeader(CONTENT_SECURITY_POLICY, inner);
  }
}
