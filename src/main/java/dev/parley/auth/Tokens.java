package dev.parley.auth;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jose.crypto.MACVerifier;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import java.nio.charset.StandardCharsets;
import java.text.ParseException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.Optional;

/**
 * Mints and verifies the HS256 JWTs clients connect with. The algorithm is pinned: a token signed
 * with anything but HS256 (or unsigned) is refused, whatever its header says.
 */
public final class Tokens {

  /** Used when no secret is configured, so a first run works; a warning says so loudly. */
  public static final String DEVELOPMENT_SECRET = "parley-development-secret-do-not-use-in-production";

  private static final Duration CLOCK_SKEW = Duration.ofSeconds(30);

  private final byte[] secret;
  private final Clock clock;

  public Tokens(String secret, Clock clock) {
    byte[] bytes = secret.getBytes(StandardCharsets.UTF_8);
    if (bytes.length < 32) {
      throw new IllegalArgumentException("the JWT secret must be at least 32 bytes for HS256");
    }
    this.secret = bytes;
    this.clock = clock;
  }

  /** The configured secret, or the public development one when none is configured. */
  public static Tokens fromConfigured(String configuredSecret) {
    return new Tokens(usesDevelopmentSecret(configuredSecret) ? DEVELOPMENT_SECRET : configuredSecret, Clock.systemUTC());
  }

  public static boolean usesDevelopmentSecret(String configuredSecret) {
    return configuredSecret == null || configuredSecret.isBlank();
  }

  public String mint(String userId, Duration ttl) {
    Instant now = clock.instant();
    JWTClaimsSet claims =
        new JWTClaimsSet.Builder()
            .subject(userId)
            .issueTime(Date.from(now))
            .expirationTime(Date.from(now.plus(ttl)))
            .build();
    try {
      SignedJWT jwt = new SignedJWT(new JWSHeader(JWSAlgorithm.HS256), claims);
      jwt.sign(new MACSigner(secret));
      return jwt.serialize();
    } catch (JOSEException e) {
      throw new IllegalStateException("cannot sign token", e);
    }
  }

  /** The verified user id, or empty for a token that is malformed, forged, expired or not yet valid. */
  public Optional<String> verify(String token) {
    if (token == null || token.isBlank()) return Optional.empty();
    try {
      SignedJWT jwt = SignedJWT.parse(token);
      if (!JWSAlgorithm.HS256.equals(jwt.getHeader().getAlgorithm())) return Optional.empty();
      if (!jwt.verify(new MACVerifier(secret))) return Optional.empty();
      JWTClaimsSet claims = jwt.getJWTClaimsSet();
      Instant now = clock.instant();
      Date exp = claims.getExpirationTime();
      if (exp == null || now.isAfter(exp.toInstant().plus(CLOCK_SKEW))) return Optional.empty();
      Date nbf = claims.getNotBeforeTime();
      if (nbf != null && now.isBefore(nbf.toInstant().minus(CLOCK_SKEW))) return Optional.empty();
      String subject = claims.getSubject();
      if (subject == null || subject.isBlank() || subject.length() > 128) return Optional.empty();
      return Optional.of(subject);
    } catch (ParseException | JOSEException | RuntimeException e) {
      return Optional.empty();
    }
  }
}
