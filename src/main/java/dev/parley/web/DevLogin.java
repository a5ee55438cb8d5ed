package dev.parley.web;

import static org.apache.pekko.http.javadsl.server.Directives.complete;
import static org.apache.pekko.http.javadsl.server.Directives.entity;
import static org.apache.pekko.http.javadsl.server.Directives.path;
import static org.apache.pekko.http.javadsl.server.Directives.post;
import static org.apache.pekko.http.javadsl.server.Directives.reject;
import static org.apache.pekko.http.javadsl.server.Directives.withSizeLimit;

import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.ErrorCode;
import dev.parley.auth.Tokens;
import dev.parley.gateway.Frames;
import dev.parley.gateway.HttpErrors;
import dev.parley.gateway.ProtocolException;
import java.time.Duration;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.server.PathMatchers;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.http.javadsl.unmarshalling.Unmarshaller;

/**
 * {@code POST /v1/dev/token} {@code {"user":"alice"}} → {@code {"user","token"}}: lets the browser
 * client sign in as anyone, which is exactly what the public development secret allows already
 * (anyone can mint such tokens). So the route exists only on a node that uses that secret (no
 * {@code PARLEY_JWT_SECRET}, the embedded default); a node with a real secret answers 404 and never
 * hands out tokens: there, users paste a token minted by {@code parley token USER} or an identity
 * provider.
 */
public final class DevLogin {

  static final Duration TOKEN_TTL = Duration.ofHours(24);
  private static final int MAX_USER_LENGTH = 128;

  private final Tokens tokens;
  private final boolean enabled;

  public DevLogin(Tokens tokens, boolean usesDevelopmentSecret) {
    this.tokens = tokens;
    this.enabled = usesDevelopmentSecret;
  }

  public Route route() {
    if (!enabled) return reject();
    return path(
        PathMatchers.segment("v1").slash("dev").slash("token"),
        () ->
            post(
                () ->
                    withSizeLimit(
                        4096, () -> entity(Unmarshaller.entityToString(), body -> complete(mint(body))))));
  }

  private HttpResponse mint(String body) {
    try {
      JsonNode user = Frames.parseObject(body).get("user");
      if (user == null || !user.isTextual() || user.asText().isBlank()) {
        return HttpErrors.response(ErrorCode.BAD_REQUEST, "user must be a non-blank string");
      }
      String id = user.asText().trim();
      if (id.length() > MAX_USER_LENGTH) {
        return HttpErrors.response(ErrorCode.TOO_LARGE, "user is longer than " + MAX_USER_LENGTH + " characters");
      }
      return HttpErrors.json(
          200, Frames.JSON.createObjectNode().put("user", id).put("token", tokens.mint(id, TOKEN_TTL)));
    } catch (ProtocolException e) {
      return HttpErrors.response(e.code(), e.getMessage());
    }
  }
}
