package dev.parley.auth;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.time.Instant;
import java.util.Base64;
import java.util.Optional;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * The common case of {@link Tokens#verifyToken} without nimbus-jose-jwt: an HS256 token whose header
 * is exactly {@code {"alg":"HS256"}} or {@code {"alg":"HS256","typ":"JWT"}} (what Parley and most
 * issuers mint), on a node that checks neither {@code aud} nor {@code iss}. One HMAC, one base64
 * decode and one streaming parse of the claims, where nimbus parses the header and claims into
 * maps through Gson, decodes with a constant-time codec and builds a key per token (~8 % of a
 * 10,000-connection storm's node CPU; benchmarks.md, issue 19).
 *
 * <p>It answers only what it is sure of, with nimbus's rules ({@code DefaultJWTClaimsVerifier}):
 * {@code sub} and {@code exp} required, {@code exp} and {@code nbf} with the clock skew, claims of
 * the wrong type or a duplicate claim refused. Anything else (another header, a token it cannot
 * decode) is left to nimbus: {@link #verify} returns null. {@code Hs256VerifierMatchesNimbusTest}
 * holds its answers equal to nimbus's.
 */
final class Hs256Verifier {

  private static final Base64.Encoder ENCODER = Base64.getUrlEncoder().withoutPadding();
  private static final Base64.Decoder DECODER = Base64.getUrlDecoder();
  private static final String PLAIN_HEADER = ENCODER.encodeToString("{\"alg\":\"HS256\"}".getBytes(StandardCharsets.UTF_8));
  private static final String TYPED_HEADER = ENCODER.encodeToString("{\"alg\":\"HS256\",\"typ\":\"JWT\"}".getBytes(StandardCharsets.UTF_8));
  private static final JsonFactory JSON = JsonFactory.builder().enable(com.fasterxml.jackson.core.StreamReadFeature.STRICT_DUPLICATE_DETECTION).build();
  /** A result the caller must not take as nimbus's: the token is left to nimbus. */
  static final Optional<Tokens.Verified> NOT_MINE = null;

  private final SecretKeySpec key;
  private final long clockSkewMillis;
  private final java.time.Duration clockSkew;
  /** A Mac is not thread-safe and costly to look up: one per thread, initialized with the key once. */
  private final ThreadLocal<Mac> macs;

  /** {@code clockSkew}: checked in whole seconds, as nimbus does; a token's validity ends {@code clockSkew} after its exp. */
  Hs256Verifier(byte[] secret, java.time.Duration clockSkew) {
    this.key = new SecretKeySpec(secret, "HmacSHA256");
    this.clockSkew = clockSkew;
    this.clockSkewMillis = (int) clockSkew.toSeconds() * 1000L;
    this.macs = ThreadLocal.withInitial(this::newMac);
  }

  private Mac newMac() {
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(key);
      return mac;
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("HmacSHA256 is not available", e);
    }
  }

  /**
   * The token's user if it is valid at {@code now}, empty if it is not, or null ({@link #NOT_MINE})
   * when nimbus must decide.
   */
  Optional<Tokens.Verified> verify(String token, Instant now) {
    int firstDot = token.indexOf('.');
    int secondDot = firstDot < 0 ? -1 : token.indexOf('.', firstDot + 1);
    if (secondDot < 0 || token.indexOf('.', secondDot + 1) >= 0) return NOT_MINE;
    if (!token.regionMatches(0, PLAIN_HEADER, 0, firstDot) && !token.regionMatches(0, TYPED_HEADER, 0, firstDot)) return NOT_MINE;
    if (firstDot != PLAIN_HEADER.length() && firstDot != TYPED_HEADER.length()) return NOT_MINE;
    byte[] signature;
    byte[] claims;
    try {
      signature = DECODER.decode(token.substring(secondDot + 1));
      claims = DECODER.decode(token.substring(firstDot + 1, secondDot));
    } catch (IllegalArgumentException notBase64url) {
      return NOT_MINE;
    }
    Mac mac = macs.get();
    byte[] expected = mac.doFinal(token.substring(0, secondDot).getBytes(StandardCharsets.US_ASCII));
    if (!MessageDigest.isEqual(expected, signature)) return Optional.empty();
    return claims(claims, now);
  }

  /** The claims' checks, after the signature's; JSON or numbers nimbus might read otherwise are left to it. */
  private Optional<Tokens.Verified> claims(byte[] json, Instant now) {
    String subject = null;
    Long exp = null;
    Long nbf = null;
    Long iat = null;
    boolean bot = false;
    try (JsonParser parser = JSON.createParser(json)) {
      if (parser.nextToken() != JsonToken.START_OBJECT) return NOT_MINE;
      JsonToken token;
      while ((token = parser.nextToken()) == JsonToken.FIELD_NAME) {
        String name = parser.currentName();
        JsonToken value = parser.nextToken();
        switch (name) {
          case "sub" -> {
            if (value == JsonToken.VALUE_STRING) subject = parser.getText();
            else if (value != JsonToken.VALUE_NULL) return Optional.empty(); // nimbus: not a string
          }
          case "exp", "nbf", "iat" -> {
            Long seconds = null;
            if (value == JsonToken.VALUE_NUMBER_INT && parser.getNumberType() != JsonParser.NumberType.BIG_INTEGER) {
              seconds = parser.getLongValue();
            } else if (value == JsonToken.VALUE_NUMBER_INT || value == JsonToken.VALUE_NUMBER_FLOAT) {
              return NOT_MINE; // a fraction or a huge number: rounded by nimbus's own rules
            } else if (value != JsonToken.VALUE_NULL) {
              return Optional.empty(); // nimbus: a date claim that is not a number
            }
            if (name.equals("exp")) exp = seconds;
            else if (name.equals("nbf")) nbf = seconds;
            else iat = seconds;
          }
          case Tokens.BOT_CLAIM -> {
            if (value == JsonToken.VALUE_TRUE) bot = true;
            else if (value == JsonToken.VALUE_FALSE || value == JsonToken.VALUE_NULL) bot = false;
            else return Optional.empty(); // nimbus: not a boolean
          }
          default -> parser.skipChildren();
        }
      }
      if (token != JsonToken.END_OBJECT || parser.nextToken() != null) return NOT_MINE;
    } catch (java.io.IOException | RuntimeException unreadable) {
      return NOT_MINE; // e.g. a duplicate claim (nimbus refuses it too) or JSON only Gson's leniency reads
    }
    long nowMillis = now.toEpochMilli();
    if (subject == null || exp == null) return Optional.empty();
    if (!(exp * 1000 + clockSkewMillis > nowMillis)) return Optional.empty(); // expired
    if (nbf != null && !(nbf * 1000 - clockSkewMillis < nowMillis)) return Optional.empty(); // not yet valid
    if (subject.isBlank() || subject.length() > 128) return Optional.empty();
    if (bot != (subject.startsWith(Tokens.BOT_PREFIX) && subject.length() > Tokens.BOT_PREFIX.length())) return Optional.empty();
    return Optional.of(new Tokens.Verified(
        subject, Instant.ofEpochMilli(exp * 1000).plus(clockSkew), iat == null ? null : Instant.ofEpochMilli(iat * 1000)));
  }
}
