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

  /** Bot tokens: subject {@code bot:<name>} and this claim set to true (dev.parley.bot, bots.md). */
  public static final String BOT_CLAIM = "bot";

  public static final String BOT_PREFIX = "bot:";

  public String mint(String userId, Duration ttl) {
    return sign(userId, ttl, false);
  }

  /**
   * A token for an external bot connecting over the websocket as {@code bot:<name>}. Only bot
   * tokens carry {@code bot:} user ids, so a person's token can never pass for a bot or the reverse.
   */
  public String mintBot(String name, Duration ttl) {
    return sign(BOT_PREFIX + name, ttl, true);
  }

  private String sign(String userId, Duration ttl, boolean bot) {
    Instant now = clock.instant();
    JWTClaimsSet.Builder builder =
        new JWTClaimsSet.Builder()
            .subject(userId)
            .issueTime(Date.from(now))
            .expirationTime(Date.from(now.plus(ttl)));
    if (bot) builder.claim(BOT_CLAIM, true);
    JWTClaimsSet claims = builder.build();
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
      boolean bot = Boolean.TRUE.equals(claims.getBooleanClaim(BOT_CLAIM));
      if (bot != (subject.startsWith(BOT_PREFIX) && subject.length() > BOT_PREFIX.length())) return Optional.empty();
      return Optional.of(subject);
    } catch (ParseException | JOSEException | RuntimeException e) {
      return Optional.empty();
    }
  }
}
