package dev.parley.auth;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jose.proc.BadJOSEException;
import com.nimbusds.jose.proc.JWSKeySelector;
import com.nimbusds.jose.proc.SecurityContext;
import com.nimbusds.jwt.JWTClaimNames;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import com.nimbusds.jwt.proc.DefaultJWTClaimsVerifier;
import com.nimbusds.jwt.proc.DefaultJWTProcessor;
import java.nio.charset.StandardCharsets;
import java.security.Key;
import java.text.ParseException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import javax.crypto.spec.SecretKeySpec;

/**
 * Verifies the JWTs clients connect with (and, for HS256, mints them). The algorithm is pinned by
 * configuration: a token whose header names anything else — {@code none}, HS512, or HS256 on a
 * node configured for RS256 (the "public key used as an HMAC secret" confusion) — is refused before
 * any key is looked at. {@code exp} is required, {@code exp}/{@code nbf} are checked with a small
 * clock skew, and {@code aud}/{@code iss} when configured. Keys come from the HS256 secret, a PEM
 * or JWK file, or a JWKS URL that is cached and refreshed ({@link TokenKeys}).
 */
public final class Tokens {

  /** Used when no secret is configured, so a first run works; a warning says so loudly. */
  public static final String DEVELOPMENT_SECRET = "parley-development-secret-do-not-use-in-production";

  /** The algorithms a node can be pinned to. */
  public static final Set<JWSAlgorithm> SUPPORTED = Set.of(JWSAlgorithm.HS256, JWSAlgorithm.RS256, JWSAlgorithm.ES256);

  /**
   * A verified token: whose it is and until when it is accepted ({@code exp} plus the clock skew,
   * the same instant verification stops accepting it).
   */
  /**
   * A verified token's user and validity; {@code issuedAt} (null when the token has no iat) is what
   * revocation checks need (Revocations#isRevoked), kept here so the token is not parsed twice.
   */
  public record Verified(String user, Instant validUntil, Instant issuedAt) {
    public Optional<Instant> issued() {
      return Optional.ofNullable(issuedAt);
    }
  }

  private final byte[] secret;
  private final Clock clock;
  private final Duration clockSkew;
  private final DefaultJWTProcessor<SecurityContext> processor;

  /** An HS256 verifier and minter with the default 30 s clock skew and no aud/iss checks. */
  public Tokens(String secret, Clock clock) {
    this(TokenSettings.hs256(secret), clock);
  }

  public Tokens(TokenSettings settings, Clock clock) {
    this.clock = clock;
    this.clockSkew = settings.clockSkew();
    JWSAlgorithm algorithm = settings.algorithm();
    JWSKeySelector<SecurityContext> keys;
    if (JWSAlgorithm.HS256.equals(algorithm)) {
      byte[] bytes = settings.secret().getBytes(StandardCharsets.UTF_8);
      if (bytes.length < 32) {
        throw new IllegalArgumentException("the JWT secret must be at least 32 bytes for HS256");
      }
      this.secret = bytes;
      keys = hs256Key(bytes);
    } else {
      this.secret = null;
      keys = TokenKeys.selector(settings);
    }
    processor = new DefaultJWTProcessor<>();
    processor.setJWSKeySelector(keys);
    processor.setJWTClaimsSetVerifier(claimsVerifier(settings));
  }

  /**
   * The HS256 key for a token whose header names HS256, none for any other: what
   * {@code JWSVerificationKeySelector} over an {@code ImmutableSecret} selects, without converting the
   * secret from a JWK to a key again for every token (~2 % of a connect storm's CPU; benchmarks.md, issue 19).
   */
  private static JWSKeySelector<SecurityContext> hs256Key(byte[] secret) {
    List<Key> key = List.of(new SecretKeySpec(secret, "HmacSHA256"));
    return (header, context) -> JWSAlgorithm.HS256.equals(header.getAlgorithm()) ? key : List.of();
  }

  private DefaultJWTClaimsVerifier<SecurityContext> claimsVerifier(TokenSettings settings) {
    JWTClaimsSet.Builder exact = new JWTClaimsSet.Builder();
    settings.issuer().ifPresent(exact::issuer);
    Set<String> required = new HashSet<>(Set.of(JWTClaimNames.SUBJECT, JWTClaimNames.EXPIRATION_TIME));
    if (settings.issuer().isPresent()) required.add(JWTClaimNames.ISSUER);
    if (settings.audience().isPresent()) required.add(JWTClaimNames.AUDIENCE);
    DefaultJWTClaimsVerifier<SecurityContext> verifier =
        new DefaultJWTClaimsVerifier<>(settings.audience().map(Set::of).orElse(null), exact.build(), required, null) {
          // The node's clock, so that expiry is testable without waiting.
          @Override
          protected Date currentTime() {
            return Date.from(clock.instant());
          }
        };
    verifier.setMaxClockSkew((int) settings.clockSkew().toSeconds());
    return verifier;
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

  /** Mints an HS256 token; a node verifying RS256/ES256 holds no signing key and cannot mint. */
  private String sign(String userId, Duration ttl, boolean bot) {
    if (secret == null) {
      throw new IllegalStateException("this node verifies RS256/ES256 tokens: they are issued by the identity provider");
    }
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
    return verifyToken(token).map(Verified::user);
  }

  /** The verified user and expiry, or empty; never throws, whatever the token holds. */
  public Optional<Verified> verifyToken(String token) {
    if (token == null || token.isBlank() || token.length() > 16_384) return Optional.empty();
    try {
      JWTClaimsSet claims = processor.process(token, null);
      String subject = claims.getSubject();
      if (subject == null || subject.isBlank() || subject.length() > 128) return Optional.empty();
      // Bot tokens carry the bot claim and a bot: user id; neither comes without the other, so a
      // person's token can never pass for a bot or the reverse (dev.parley.bot).
      boolean bot = Boolean.TRUE.equals(claims.getBooleanClaim(BOT_CLAIM));
      if (bot != (subject.startsWith(BOT_PREFIX) && subject.length() > BOT_PREFIX.length())) return Optional.empty();
      Instant issuedAt = claims.getIssueTime() == null ? null : claims.getIssueTime().toInstant();
      return Optional.of(new Verified(subject, claims.getExpirationTime().toInstant().plus(clockSkew), issuedAt));
    } catch (ParseException | BadJOSEException | JOSEException | RuntimeException e) {
      return Optional.empty();
    }
  }
}
