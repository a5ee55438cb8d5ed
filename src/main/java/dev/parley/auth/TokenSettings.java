package dev.parley.auth;

import com.nimbusds.jose.JWSAlgorithm;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;

/**
 * How tokens are verified ({@code parley.jwt}): the one accepted algorithm and where its key
 * comes from, the clock skew, and the audience and issuer a token must name when set.
 *
 * @param secret HS256 only: the shared secret (at least 32 bytes)
 * @param publicKeyFile RS256/ES256: a PEM public key ({@code -----BEGIN PUBLIC KEY-----}), a JWK or a JWK set
 * @param jwksUrl RS256/ES256: the identity provider's JWK set, cached for {@code jwksRefresh}
 * @param jwksMinRefreshInterval least time between two fetches forced by an unknown key id, so
 *     tokens with made-up {@code kid}s cannot make the node hammer the identity provider
 */
public record TokenSettings(
    JWSAlgorithm algorithm,
    String secret,
    Optional<Path> publicKeyFile,
    Optional<URI> jwksUrl,
    Duration jwksRefresh,
    Duration jwksMinRefreshInterval,
    Duration clockSkew,
    Optional<String> audience,
    Optional<String> issuer) {

  public static final Duration DEFAULT_CLOCK_SKEW = Duration.ofSeconds(30);

  public TokenSettings {
    if (!Tokens.SUPPORTED.contains(algorithm)) {
      throw new IllegalArgumentException("parley.jwt.algorithm must be one of HS256, RS256, ES256, not " + algorithm);
    }
    if (!JWSAlgorithm.HS256.equals(algorithm) && publicKeyFile.isPresent() == jwksUrl.isPresent()) {
      throw new IllegalArgumentException(
          "parley.jwt.algorithm " + algorithm + " needs exactly one of parley.jwt.public-key-file and parley.jwt.jwks-url");
    }
    if (clockSkew.isNegative() || clockSkew.compareTo(Duration.ofMinutes(5)) > 0) {
      throw new IllegalArgumentException("parley.jwt.clock-skew must be between 0 and 5 minutes");
    }
    if (jwksRefresh.compareTo(Duration.ofMinutes(1)) < 0) {
      throw new IllegalArgumentException("parley.jwt.jwks-refresh must be at least 1 minute");
    }
  }

  /** HS256 with {@code secret}, the default skew, no audience or issuer. */
  public static TokenSettings hs256(String secret) {
    return new TokenSettings(
        JWSAlgorithm.HS256,
        secret,
        Optional.empty(),
        Optional.empty(),
        Duration.ofMinutes(5),
        Duration.ofSeconds(30),
        DEFAULT_CLOCK_SKEW,
        Optional.empty(),
        Optional.empty());
  }

  public TokenSettings withSecret(String newSecret) {
    return new TokenSettings(
        algorithm, newSecret, publicKeyFile, jwksUrl, jwksRefresh, jwksMinRefreshInterval, clockSkew, audience, issuer);
  }

  /** Parses {@code HS256}, {@code RS256} or {@code ES256} (case-insensitive). */
  public static JWSAlgorithm algorithm(String name) {
    return JWSAlgorithm.parse(name.trim().toUpperCase(java.util.Locale.ROOT));
  }
}
