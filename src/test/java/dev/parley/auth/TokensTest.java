package dev.parley.auth;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.PlainJWT;
import com.nimbusds.jwt.SignedJWT;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Base64;
import java.util.Date;
import org.junit.jupiter.api.Test;

class TokensTest {
  /** 64 bytes: long enough for HS512 too, so the algorithm pin is what refuses such a token. */
  private static final String SECRET = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
  private static final String OTHER_SECRET = "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210";
  private static final Instant NOW = Instant.parse("2025-03-01T12:00:00Z");

  private static Tokens tokensAt(Instant instant) {
    return new Tokens(SECRET, Clock.fixed(instant, ZoneOffset.UTC));
  }

  private static String sign(JWSAlgorithm algorithm, JWTClaimsSet claims) throws Exception {
    SignedJWT jwt = new SignedJWT(new JWSHeader(algorithm), claims);
    jwt.sign(new MACSigner(SECRET.getBytes(StandardCharsets.UTF_8)));
    return jwt.serialize();
  }

  private static JWTClaimsSet.Builder validClaims() {
    return new JWTClaimsSet.Builder()
        .subject("alice")
        .issueTime(Date.from(NOW))
        .expirationTime(Date.from(NOW.plus(Duration.ofHours(1))));
  }

  @Test
  void mintedTokenVerifiesToItsUser() {
    String token = tokensAt(NOW).mint("alice", Duration.ofHours(1));

    assertThat(tokensAt(NOW).verify(token)).contains("alice");
  }

  @Test
  void mintedTokenIsAnHs256JwtWithSubjectAndExpiry() throws Exception {
    SignedJWT jwt = SignedJWT.parse(tokensAt(NOW).mint("alice", Duration.ofMinutes(10)));

    assertThat(jwt.getHeader().getAlgorithm()).isEqualTo(JWSAlgorithm.HS256);
    assertThat(jwt.getJWTClaimsSet().getSubject()).isEqualTo("alice");
    assertThat(jwt.getJWTClaimsSet().getExpirationTime().toInstant()).isEqualTo(NOW.plus(Duration.ofMinutes(10)));
  }

  @Test
  void tokenSignedWithAnotherSecretIsRefused() {
    String token = new Tokens(OTHER_SECRET, Clock.fixed(NOW, ZoneOffset.UTC)).mint("alice", Duration.ofHours(1));

    assertThat(tokensAt(NOW).verify(token)).isEmpty();
  }

  @Test
  void tokenExpiredWithinTheClockSkewIsStillAccepted() {
    String token = tokensAt(NOW).mint("alice", Duration.ofMinutes(1));

    assertThat(tokensAt(NOW.plus(Duration.ofMinutes(1)).plusSeconds(29)).verify(token)).contains("alice");
  }

  @Test
  void tokenExpiredBeyondTheClockSkewIsRefused() {
    String token = tokensAt(NOW).mint("alice", Duration.ofMinutes(1));

    assertThat(tokensAt(NOW.plus(Duration.ofMinutes(1)).plusSeconds(31)).verify(token)).isEmpty();
  }

  @Test
  void tokenWithoutExpiryIsRefused() throws Exception {
    String token = sign(JWSAlgorithm.HS256, new JWTClaimsSet.Builder().subject("alice").build());

    assertThat(tokensAt(NOW).verify(token)).isEmpty();
  }

  @Test
  void tokenNotYetValidBeyondTheClockSkewIsRefused() throws Exception {
    String token = sign(JWSAlgorithm.HS256, validClaims().notBeforeTime(Date.from(NOW.plusSeconds(31))).build());

    assertThat(tokensAt(NOW).verify(token)).isEmpty();
  }

  @Test
  void tokenNotYetValidWithinTheClockSkewIsAccepted() throws Exception {
    String token = sign(JWSAlgorithm.HS256, validClaims().notBeforeTime(Date.from(NOW.plusSeconds(29))).build());

    assertThat(tokensAt(NOW).verify(token)).contains("alice");
  }

  @Test
  void handSignedHs256TokenIsAccepted() throws Exception {
    // The control for the refusals below: the same claims, correctly signed, pass.
    assertThat(tokensAt(NOW).verify(sign(JWSAlgorithm.HS256, validClaims().build()))).contains("alice");
  }

  @Test
  void unsignedTokenWithAlgNoneIsRefused() {
    String token = new PlainJWT(validClaims().build()).serialize();

    assertThat(tokensAt(NOW).verify(token)).isEmpty();
  }

  @Test
  void hs256TokenWithItsHeaderRewrittenToAlgNoneIsRefused() throws Exception {
    String[] parts = sign(JWSAlgorithm.HS256, validClaims().build()).split("\\.");
    String none = Base64.getUrlEncoder().withoutPadding().encodeToString("{\"alg\":\"none\"}".getBytes(StandardCharsets.UTF_8));

    assertThat(tokensAt(NOW).verify(none + "." + parts[1] + "." + parts[2])).isEmpty();
    assertThat(tokensAt(NOW).verify(none + "." + parts[1] + ".")).isEmpty();
  }

  @Test
  void tokenSignedWithHs512AndTheRightSecretIsRefused() throws Exception {
    String token = sign(JWSAlgorithm.HS512, validClaims().build());

    assertThat(tokensAt(NOW).verify(token)).isEmpty();
  }

  @Test
  void garbageIsRefused() {
    Tokens tokens = tokensAt(NOW);

    assertThat(tokens.verify("not-a-token")).isEmpty();
    assertThat(tokens.verify("a.b.c")).isEmpty();
    assertThat(tokens.verify("....")).isEmpty();
    assertThat(tokens.verify("")).isEmpty();
    assertThat(tokens.verify("   ")).isEmpty();
    assertThat(tokens.verify(null)).isEmpty();
  }

  @Test
  void tokenLongerThan16KibIsRefusedUnparsed() throws Exception {
    String huge = sign(JWSAlgorithm.HS256, validClaims().claim("padding", "x".repeat(17_000)).build());
    String fitting = sign(JWSAlgorithm.HS256, validClaims().claim("padding", "x".repeat(1_000)).build());

    assertThat(tokensAt(NOW).verify(huge)).isEmpty();
    assertThat(tokensAt(NOW).verify(fitting)).contains("alice");
  }

  @Test
  void tamperedPayloadIsRefused() throws Exception {
    String[] parts = sign(JWSAlgorithm.HS256, validClaims().build()).split("\\.");
    String mallory =
        Base64.getUrlEncoder().withoutPadding()
            .encodeToString(validClaims().subject("mallory").build().toString().getBytes(StandardCharsets.UTF_8));

    assertThat(tokensAt(NOW).verify(parts[0] + "." + mallory + "." + parts[2])).isEmpty();
  }

  @Test
  void tokenWithoutSubjectIsRefused() throws Exception {
    String token = sign(JWSAlgorithm.HS256, validClaims().subject(null).build());

    assertThat(tokensAt(NOW).verify(token)).isEmpty();
  }

  @Test
  void tokenWithBlankSubjectIsRefused() throws Exception {
    String token = sign(JWSAlgorithm.HS256, validClaims().subject(" ").build());

    assertThat(tokensAt(NOW).verify(token)).isEmpty();
  }

  @Test
  void secretShorterThan32BytesIsRejectedAtConstruction() {
    assertThatThrownBy(() -> new Tokens("0123456789abcdef0123456789abcde", Clock.systemUTC()))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("32 bytes");
  }

  @Test
  void secretOfExactly32BytesIsAccepted() {
    Tokens tokens = new Tokens("0123456789abcdef0123456789abcdef", Clock.fixed(NOW, ZoneOffset.UTC));

    assertThat(tokens.verify(tokens.mint("bob", Duration.ofMinutes(5)))).contains("bob");
  }

  @Test
  void botTokenVerifiesToTheBotsUserId() throws Exception {
    String token = tokensAt(NOW).mintBot("helper", Duration.ofHours(1));

    assertThat(tokensAt(NOW).verify(token)).contains("bot:helper");
    assertThat(SignedJWT.parse(token).getJWTClaimsSet().getBooleanClaim("bot")).isTrue();
  }

  @Test
  void aPersonsTokenCannotCarryABotUserId() {
    assertThat(tokensAt(NOW).verify(tokensAt(NOW).mint("bot:helper", Duration.ofHours(1)))).isEmpty();
  }

  @Test
  void aBotClaimWithAPersonsUserIdIsRefused() throws Exception {
    JWTClaimsSet claims =
        new JWTClaimsSet.Builder()
            .subject("alice")
            .claim("bot", true)
            .expirationTime(java.util.Date.from(NOW.plus(Duration.ofHours(1))))
            .build();
    SignedJWT jwt = new SignedJWT(new com.nimbusds.jose.JWSHeader(com.nimbusds.jose.JWSAlgorithm.HS256), claims);
    jwt.sign(new com.nimbusds.jose.crypto.MACSigner(SECRET.getBytes(java.nio.charset.StandardCharsets.UTF_8)));

    assertThat(tokensAt(NOW).verify(jwt.serialize())).isEmpty();
  }
}
