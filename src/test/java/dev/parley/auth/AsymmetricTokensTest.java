package dev.parley.auth;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.JWSSigner;
import com.nimbusds.jose.crypto.ECDSASigner;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.ECKeyGenerator;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.PlainJWT;
import com.nimbusds.jwt.SignedJWT;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Base64;
import java.util.Date;
import java.util.Optional;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** RS256 and ES256 tokens verified with keys from a PEM or JWK file; the algorithm pin; aud, iss, skew. */
class AsymmetricTokensTest {

  private static final Instant NOW = Instant.parse("2025-03-01T12:00:00Z");

  @TempDir static Path dir;
  private static RSAKey rsa;
  private static RSAKey otherRsa;
  private static ECKey ec;
  private static Path rsaPem;
  private static Path rsaJwk;
  private static Path ecPem;

  @BeforeAll
  static void keys() throws Exception {
    rsa = new RSAKeyGenerator(2048).keyID("rsa-1").generate();
    otherRsa = new RSAKeyGenerator(2048).keyID("rsa-1").generate();
    ec = new ECKeyGenerator(Curve.P_256).keyID("ec-1").generate();
    rsaPem = dir.resolve("rsa.pem");
    Files.writeString(rsaPem, pem(rsa.toPublicKey().getEncoded()));
    rsaJwk = dir.resolve("rsa.jwk.json");
    Files.writeString(rsaJwk, new JWKSet(rsa.toPublicJWK()).toString());
    ecPem = dir.resolve("ec.pem");
    Files.writeString(ecPem, pem(ec.toPublicKey().getEncoded()));
  }

  static String pem(byte[] der) {
    return "-----BEGIN PUBLIC KEY-----\n"
        + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(der)
        + "\n-----END PUBLIC KEY-----\n";
  }

  static TokenSettings fromFile(JWSAlgorithm algorithm, Path file, Optional<String> audience, Optional<String> issuer) {
    return new TokenSettings(
        algorithm, "", Optional.of(file), Optional.empty(), Duration.ofMinutes(5), Duration.ofSeconds(30),
        Duration.ofSeconds(10), audience, issuer);
  }

  static Tokens at(TokenSettings settings, Instant instant) {
    return new Tokens(settings, Clock.fixed(instant, ZoneOffset.UTC));
  }

  static JWTClaimsSet.Builder claims() {
    return new JWTClaimsSet.Builder()
        .subject("alice")
        .issueTime(Date.from(NOW))
        .expirationTime(Date.from(NOW.plus(Duration.ofMinutes(10))));
  }

  static String sign(JWSSigner signer, JWSAlgorithm algorithm, String kid, JWTClaimsSet claims) throws Exception {
    SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(algorithm).keyID(kid).build(), claims);
    jwt.sign(signer);
    return jwt.serialize();
  }

  static String rs256(RSAKey key, JWTClaimsSet claims) throws Exception {
    return sign(new RSASSASigner(key), JWSAlgorithm.RS256, key.getKeyID(), claims);
  }

  @Test
  void rs256TokenVerifiesWithAPemPublicKey() throws Exception {
    Tokens tokens = at(fromFile(JWSAlgorithm.RS256, rsaPem, Optional.empty(), Optional.empty()), NOW);

    assertThat(tokens.verify(rs256(rsa, claims().build()))).contains("alice");
  }

  @Test
  void rs256TokenVerifiesWithAJwkSetFile() throws Exception {
    Tokens tokens = at(fromFile(JWSAlgorithm.RS256, rsaJwk, Optional.empty(), Optional.empty()), NOW);

    assertThat(tokens.verify(rs256(rsa, claims().build()))).contains("alice");
  }

  @Test
  void rs256TokenSignedByAnotherKeyIsRefused() throws Exception {
    Tokens tokens = at(fromFile(JWSAlgorithm.RS256, rsaPem, Optional.empty(), Optional.empty()), NOW);

    assertThat(tokens.verify(rs256(otherRsa, claims().build()))).isEmpty();
  }

  @Test
  void es256TokenVerifiesWithAPemPublicKey() throws Exception {
    Tokens tokens = at(fromFile(JWSAlgorithm.ES256, ecPem, Optional.empty(), Optional.empty()), NOW);

    assertThat(tokens.verify(sign(new ECDSASigner(ec), JWSAlgorithm.ES256, "ec-1", claims().build()))).contains("alice");
  }

  @Test
  void theRsaPublicKeyUsedAsAnHs256SecretIsRefused() throws Exception {
    // Algorithm confusion: the attacker knows the public key and signs HS256 with its bytes, hoping
    // the verifier picks "the key" and follows the header's algorithm.
    Tokens tokens = at(fromFile(JWSAlgorithm.RS256, rsaPem, Optional.empty(), Optional.empty()), NOW);
    String confused = sign(new MACSigner(Files.readAllBytes(rsaPem)), JWSAlgorithm.HS256, "rsa-1", claims().build());
    String confusedDer = sign(new MACSigner(rsa.toPublicKey().getEncoded()), JWSAlgorithm.HS256, "rsa-1", claims().build());

    assertThat(tokens.verify(confused)).isEmpty();
    assertThat(tokens.verify(confusedDer)).isEmpty();
  }

  @Test
  void unsignedTokenIsRefusedByAnRs256Node() {
    Tokens tokens = at(fromFile(JWSAlgorithm.RS256, rsaPem, Optional.empty(), Optional.empty()), NOW);

    assertThat(tokens.verify(new PlainJWT(claims().build()).serialize())).isEmpty();
  }

  @Test
  void es256TokenIsRefusedByAnRs256Node() throws Exception {
    TokenSettings both = fromFile(JWSAlgorithm.RS256, rsaPem, Optional.empty(), Optional.empty());

    assertThat(at(both, NOW).verify(sign(new ECDSASigner(ec), JWSAlgorithm.ES256, "ec-1", claims().build()))).isEmpty();
  }

  @Test
  void rs512TokenFromTheRightKeyIsRefusedByAnRs256Node() throws Exception {
    Tokens tokens = at(fromFile(JWSAlgorithm.RS256, rsaPem, Optional.empty(), Optional.empty()), NOW);

    assertThat(tokens.verify(sign(new RSASSASigner(rsa), JWSAlgorithm.RS512, "rsa-1", claims().build()))).isEmpty();
  }

  @Test
  void audienceAndIssuerAreCheckedWhenConfigured() throws Exception {
    Tokens tokens = at(fromFile(JWSAlgorithm.RS256, rsaPem, Optional.of("parley"), Optional.of("https://id.example")), NOW);

    assertThat(tokens.verify(rs256(rsa, claims().audience("parley").issuer("https://id.example").build()))).contains("alice");
    assertThat(tokens.verify(rs256(rsa, claims().audience("other").issuer("https://id.example").build()))).isEmpty();
    assertThat(tokens.verify(rs256(rsa, claims().audience("parley").issuer("https://evil.example").build()))).isEmpty();
    assertThat(tokens.verify(rs256(rsa, claims().issuer("https://id.example").build()))).as("no aud").isEmpty();
    assertThat(tokens.verify(rs256(rsa, claims().audience("parley").build()))).as("no iss").isEmpty();
  }

  @Test
  void theConfiguredClockSkewBoundsExpiry() throws Exception {
    TokenSettings settings = fromFile(JWSAlgorithm.RS256, rsaPem, Optional.empty(), Optional.empty()); // 10 s skew
    String token = rs256(rsa, claims().build());
    Instant exp = NOW.plus(Duration.ofMinutes(10));

    assertThat(at(settings, exp.plusSeconds(9)).verify(token)).contains("alice");
    assertThat(at(settings, exp.plusSeconds(11)).verify(token)).isEmpty();
    assertThat(at(settings, NOW).verifyToken(token).orElseThrow().validUntil()).isEqualTo(exp.plusSeconds(10));
  }

  @Test
  void anAsymmetricNodeCannotMint() {
    Tokens tokens = at(fromFile(JWSAlgorithm.RS256, rsaPem, Optional.empty(), Optional.empty()), NOW);

    assertThatThrownBy(() -> tokens.mint("alice", Duration.ofMinutes(1))).isInstanceOf(IllegalStateException.class);
  }

  @Test
  void asymmetricAlgorithmWithoutKeySourceIsRejectedAtStartUp() {
    assertThatThrownBy(
            () -> new TokenSettings(
                JWSAlgorithm.RS256, "", Optional.empty(), Optional.empty(), Duration.ofMinutes(5), Duration.ofSeconds(30),
                Duration.ofSeconds(30), Optional.empty(), Optional.empty()))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("public-key-file");
  }

  @Test
  void unsupportedAlgorithmIsRejectedAtStartUp() {
    assertThatThrownBy(
            () -> new TokenSettings(
                TokenSettings.algorithm("none"), "", Optional.empty(), Optional.empty(), Duration.ofMinutes(5),
                Duration.ofSeconds(30), Duration.ofSeconds(30), Optional.empty(), Optional.empty()))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("HS256, RS256, ES256");
  }

  @Test
  void aFileThatIsNoKeyIsRejectedAtStartUp() throws Exception {
    Path garbage = dir.resolve("garbage.pem");
    Files.writeString(garbage, "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n");

    assertThatThrownBy(() -> at(fromFile(JWSAlgorithm.RS256, garbage, Optional.empty(), Optional.empty()), NOW))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("public-key-file");
  }
}
