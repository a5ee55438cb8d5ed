package dev.parley.auth;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.source.ImmutableJWKSet;
import com.nimbusds.jose.jwk.source.JWKSource;
import com.nimbusds.jose.jwk.source.JWKSourceBuilder;
import com.nimbusds.jose.proc.JWSKeySelector;
import com.nimbusds.jose.proc.JWSVerificationKeySelector;
import com.nimbusds.jose.proc.SecurityContext;
import com.nimbusds.jose.proc.SingleKeyJWSKeySelector;
import com.nimbusds.jose.util.DefaultResourceRetriever;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.MalformedURLException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PublicKey;
import java.security.interfaces.ECPublicKey;
import java.security.interfaces.RSAPublicKey;
import java.security.spec.X509EncodedKeySpec;
import java.text.ParseException;
import java.util.Base64;

/** Where RS256/ES256 verification keys come from: a file read once at start-up, or a JWKS URL. */
final class TokenKeys {

  private TokenKeys() {}

  /**
   * Selects verification keys for the pinned algorithm only. A single file key without a key id
   * (a PEM file) verifies every token whatever {@code kid} it names; otherwise the token's
   * {@code kid} must match one of the keys.
   */
  static JWSKeySelector<SecurityContext> selector(TokenSettings settings) {
    JWSAlgorithm algorithm = settings.algorithm();
    if (settings.publicKeyFile().isPresent()) {
      JWKSet keys = read(settings.publicKeyFile().get());
      if (keys.getKeys().size() == 1 && keys.getKeys().get(0).getKeyID() == null) {
        return new SingleKeyJWSKeySelector<>(algorithm, publicKey(keys.getKeys().get(0)));
      }
      return new JWSVerificationKeySelector<>(algorithm, new ImmutableJWKSet<>(keys));
    }
    return new JWSVerificationKeySelector<>(algorithm, source(settings));
  }

  private static PublicKey publicKey(JWK key) {
    try {
      if (key instanceof RSAKey rsa) return rsa.toPublicKey();
      if (key instanceof ECKey ec) return ec.toPublicKey();
    } catch (JOSEException e) {
      throw new IllegalArgumentException("parley.jwt.public-key-file holds an unusable key: " + e.getMessage(), e);
    }
    throw new IllegalArgumentException("parley.jwt.public-key-file must hold an RSA or EC public key, not " + key.getKeyType());
  }

  private static JWKSource<SecurityContext> source(TokenSettings settings) {
    if (settings.jwksUrl().isPresent()) {
      try {
        long refreshMs = settings.jwksRefresh().toMillis();
        // Timeouts and a size limit: a slow or hostile JWKS endpoint cannot hold the node.
        DefaultResourceRetriever retriever = new DefaultResourceRetriever(2_000, 2_000, 256 * 1024);
        // Cached for jwks-refresh and refreshed ahead of expiry in the background; a token with an
        // unknown kid (the provider rotated its keys) forces a fetch, rate-limited; if the
        // provider is down, the last good set stays in use for another refresh period.
        return JWKSourceBuilder.<SecurityContext>create(settings.jwksUrl().get().toURL(), retriever)
            .cache(refreshMs, 15_000)
            .refreshAheadCache(true)
            .rateLimited(settings.jwksMinRefreshInterval().toMillis())
            .outageTolerant(refreshMs)
            .retrying(true)
            .build();
      } catch (MalformedURLException | IllegalArgumentException e) {
        throw new IllegalArgumentException("parley.jwt.jwks-url is not a valid URL: " + settings.jwksUrl().get(), e);
      }
    }
    throw new IllegalArgumentException("parley.jwt.jwks-url is not set");
  }

  /** A PEM public key (RSA or EC), a single JWK, or a JWK set; private parts are dropped. */
  static JWKSet read(Path file) {
    String text;
    try {
      text = Files.readString(file, StandardCharsets.UTF_8).trim();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read parley.jwt.public-key-file " + file, e);
    }
    try {
      if (text.startsWith("-----BEGIN PUBLIC KEY-----")) return new JWKSet(fromPem(text));
      if (text.contains("\"keys\"")) return JWKSet.parse(text).toPublicJWKSet();
      return new JWKSet(JWK.parse(text).toPublicJWK());
    } catch (ParseException | GeneralSecurityException | IllegalArgumentException e) {
      throw new IllegalArgumentException(
          "parley.jwt.public-key-file " + file + " is neither a PEM public key nor a JWK (set): " + e.getMessage(), e);
    }
  }

  private static JWK fromPem(String pem) throws GeneralSecurityException {
    String base64 = pem.replace("-----BEGIN PUBLIC KEY-----", "").replace("-----END PUBLIC KEY-----", "").replaceAll("\\s", "");
    X509EncodedKeySpec spec = new X509EncodedKeySpec(Base64.getDecoder().decode(base64));
    GeneralSecurityException notRsa;
    try {
      PublicKey key = KeyFactory.getInstance("RSA").generatePublic(spec);
      return new RSAKey.Builder((RSAPublicKey) key).build();
    } catch (GeneralSecurityException e) {
      notRsa = e;
    }
    try {
      ECPublicKey key = (ECPublicKey) KeyFactory.getInstance("EC").generatePublic(spec);
      return new ECKey.Builder(Curve.forECParameterSpec(key.getParams()), key).build();
    } catch (GeneralSecurityException e) {
      e.addSuppressed(notRsa);
      throw e;
    }
  }
}
