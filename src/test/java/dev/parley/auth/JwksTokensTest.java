package dev.parley.auth;

import static org.assertj.core.api.Assertions.assertThat;

import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import com.nimbusds.jwt.JWTClaimsSet;
import com.sun.net.httpserver.HttpServer;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** RS256 keys from a JWKS URL served by a real local HTTP server: caching, rotation, rate-limited refetch. */
class JwksTokensTest {

  private HttpServer server;
  private final AtomicReference<JWKSet> served = new AtomicReference<>();
  private final AtomicInteger fetches = new AtomicInteger();
  private RSAKey first;
  private RSAKey second;

  @BeforeEach
  void serve() throws Exception {
    first = new RSAKeyGenerator(2048).keyID("key-1").generate();
    second = new RSAKeyGenerator(2048).keyID("key-2").generate();
    served.set(new JWKSet(first.toPublicJWK()));
    server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    server.createContext(
        "/.well-known/jwks.json",
        exchange -> {
          fetches.incrementAndGet();
          byte[] body = served.get().toString().getBytes(StandardCharsets.UTF_8);
          exchange.getResponseHeaders().add("Content-Type", "application/json");
          exchange.sendResponseHeaders(200, body.length);
          exchange.getResponseBody().write(body);
          exchange.close();
        });
    server.start();
  }

  @AfterEach
  void stop() {
    server.stop(0);
  }

  private Tokens tokens(Duration minRefreshInterval) {
    URI url = URI.create("http://127.0.0.1:" + server.getAddress().getPort() + "/.well-known/jwks.json");
    return new Tokens(
        new TokenSettings(
            JWSAlgorithm.RS256, "", Optional.empty(), Optional.of(url), Duration.ofMinutes(5), minRefreshInterval,
            Duration.ofSeconds(30), Optional.empty(), Optional.empty()),
        Clock.systemUTC());
  }

  private static String token(RSAKey key, String user) throws Exception {
    Instant now = Instant.now();
    return AsymmetricTokensTest.rs256(
        key, new JWTClaimsSet.Builder().subject(user).issueTime(Date.from(now)).expirationTime(Date.from(now.plusSeconds(600))).build());
  }

  @Test
  void keysAreFetchedOnceAndCached() throws Exception {
    Tokens tokens = tokens(Duration.ofSeconds(30));

    for (int i = 0; i < 5; i++) assertThat(tokens.verify(token(first, "alice"))).contains("alice");
    assertThat(fetches.get()).isEqualTo(1);
  }

  @Test
  void aRotatedKeyIsPickedUpAtTheFirstTokenThatNamesIt() throws Exception {
    Tokens tokens = tokens(Duration.ofMillis(1));
    assertThat(tokens.verify(token(first, "alice"))).contains("alice");

    served.set(new JWKSet(second.toPublicJWK())); // the provider rotates: key-1 retired, key-2 in use

    assertThat(tokens.verify(token(second, "bob"))).contains("bob");
    assertThat(fetches.get()).as("one fetch forced by the unknown kid").isEqualTo(2);
    assertThat(tokens.verify(token(first, "alice"))).as("a token of the retired key").isEmpty();
  }

  @Test
  void madeUpKeyIdsCannotMakeTheNodeHammerTheProvider() throws Exception {
    Tokens tokens = tokens(Duration.ofSeconds(30));
    assertThat(tokens.verify(token(first, "alice"))).contains("alice");

    for (int i = 0; i < 20; i++) {
      RSAKey stranger = new RSAKeyGenerator(2048).keyID("made-up-" + i).generate();
      assertThat(tokens.verify(token(stranger, "mallory"))).isEmpty();
    }

    // At most the one forced refetch the rate limit allows per interval.
    assertThat(fetches.get()).isLessThanOrEqualTo(3);
  }

  @Test
  void anUnreachableProviderRefusesTokensInsteadOfFailing() throws Exception {
    Tokens tokens = tokens(Duration.ofSeconds(30));
    server.stop(0);

    assertThat(tokens.verify(token(first, "alice"))).isEmpty();
  }
}
