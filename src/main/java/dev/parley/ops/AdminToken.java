package dev.parley.ops;

import static org.apache.pekko.http.javadsl.server.Directives.complete;
import static org.apache.pekko.http.javadsl.server.Directives.optionalHeaderValueByName;

import com.typesafe.config.Config;
import dev.parley.ErrorCode;
import dev.parley.gateway.HttpErrors;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Optional;
import java.util.function.Supplier;
import org.apache.pekko.http.javadsl.server.Route;

/**
 * The bearer token every operator route on the management port requires ({@code
 * parley.admin.token}). An empty token disables those routes: they answer 403 to everyone.
 */
public final class AdminToken {

  private final byte[] token;

  public AdminToken(Config config) {
    this.token = config.getString("parley.admin.token").getBytes(StandardCharsets.UTF_8);
  }

  public Route authorized(Supplier<Route> inner) {
    return optionalHeaderValueByName(
        "Authorization",
        header -> {
          if (token.length == 0) {
            return complete(HttpErrors.response(ErrorCode.FORBIDDEN, "the admin API is disabled: set PARLEY_ADMIN_TOKEN"));
          }
          if (!matches(header)) {
            return complete(HttpErrors.response(ErrorCode.UNAUTHORIZED, "missing or wrong admin token"));
          }
          return inner.get();
        });
  }

  /** Constant-time comparison: the token is a password. */
  private boolean matches(Optional<String> header) {
    return header
        .filter(h -> h.regionMatches(true, 0, "Bearer ", 0, 7))
        .map(h -> MessageDigest.isEqual(token, h.substring(7).trim().getBytes(StandardCharsets.UTF_8)))
        .orElse(false);
  }
}
