package dev.parley.gateway;

import java.net.URI;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * Which browser pages may open a websocket (cross-site websocket hijacking: a page on another site
 * would otherwise act with the visitor's credentials). Browsers always send {@code Origin} on a
 * websocket upgrade; native clients, bots and the bench usually do not, and are not a CSWSH vector.
 * Allowed: no {@code Origin}; an origin whose host and port are the request's own {@code Host}
 * (the node serving its own pages); an origin in {@code parley.http.allowed-origins}; anything
 * when that list contains {@code *}.
 */
public final class OriginPolicy {

  private final Set<String> allowed;
  private final boolean any;

  public OriginPolicy(List<String> allowedOrigins) {
    this.allowed = allowedOrigins.stream().map(OriginPolicy::normalize).collect(Collectors.toUnmodifiableSet());
    this.any = allowed.contains("*");
  }

  public boolean allows(Optional<String> origin, Optional<String> host) {
    if (origin.isEmpty() || any) return true;
    String normalized = normalize(origin.get());
    if (allowed.contains(normalized)) return true;
    return host.isPresent() && sameHost(normalized, host.get().trim().toLowerCase(Locale.ROOT));
  }

  /** Host with a port: host and port must match; Host without one (default port): the host must. */
  private static boolean sameHost(String origin, String host) {
    try {
      URI uri = URI.create(origin);
      if (uri.getHost() == null) return false;
      String originHost = uri.getHost().toLowerCase(Locale.ROOT);
      int colon = host.lastIndexOf(':');
      boolean hostHasPort = colon > host.lastIndexOf(']');
      if (!hostHasPort) return originHost.equals(host);
      int originPort = uri.getPort() != -1 ? uri.getPort() : "https".equals(uri.getScheme()) ? 443 : 80;
      return (originHost + ":" + originPort).equals(host);
    } catch (IllegalArgumentException e) {
      return false;
    }
  }

  private static String normalize(String origin) {
    String o = origin.trim().toLowerCase(Locale.ROOT);
    return o.endsWith("/") ? o.substring(0, o.length() - 1) : o;
  }
}
