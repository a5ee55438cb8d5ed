package dev.parley.auth;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Optional;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.api.Test;

/**
 * {@link Hs256Verifier}, the HS256 fast path of {@link Tokens#verifyToken}, gives nimbus-jose-jwt's
 * answer for every token: valid ones, each way of being invalid, claims of the wrong type, and the
 * tokens it leaves to nimbus (other headers, JSON only Gson reads, fractional dates).
 */
class Hs256VerifierMatchesNimbusTest {
  private static final String SECRET = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
  private static final Instant NOW = Instant.parse("2025-03-01T12:00:00Z");
  private static final long NOW_S = NOW.getEpochSecond();
  private static final String HS256 = "{\"alg\":\"HS256\"}";
  private static final String HS256_JWT = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";

  private static final Tokens tokens = new Tokens(SECRET, Clock.fixed(NOW, ZoneOffset.UTC));
  private static final Hs256Verifier fast = new Hs256Verifier(SECRET.getBytes(StandardCharsets.UTF_8), Duration.ofSeconds(30));

  private static String b64(String json) {
    return Base64.getUrlEncoder().withoutPadding().encodeToString(json.getBytes(StandardCharsets.UTF_8));
  }

  private static String signed(String header, String claims, String secret) throws Exception {
    String input = b64(header) + "." + b64(claims);
    Mac mac = Mac.getInstance("HmacSHA256");
    mac.init(new SecretKeySpec(secret.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
    return input + "." + Base64.getUrlEncoder().withoutPadding().encodeToString(mac.doFinal(input.getBytes(StandardCharsets.US_ASCII)));
  }

  private static String signed(String claims) throws Exception {
    return signed(HS256, claims, SECRET);
  }

  @Test
  void theFastPathAnswersTheCommonTokensItselfAndAsNimbusDoes() throws Exception {
    List<String> common = List.of(
        tokens.mint("alice", Duration.ofHours(1)),
        tokens.mintBot("echo", Duration.ofHours(1)),
        signed(HS256_JWT, "{\"sub\":\"bob\",\"exp\":" + (NOW_S + 60) + "}", SECRET),
        signed("{\"sub\":\"carol\",\"exp\":" + (NOW_S + 60) + ",\"iat\":" + (NOW_S - 5) + ",\"nbf\":" + (NOW_S - 5) + ",\"aud\":[\"x\"],\"extra\":{\"a\":[1,2]}}"));
    for (String token : common) {
      Optional<Tokens.Verified> answer = fast.verify(token, NOW);
      assertThat(answer).as(token).isNotNull().isPresent();
      assertThat(answer).as(token).isEqualTo(tokens.verifyWithNimbus(token));
    }
  }

  @Test
  void everyTokenGetsNimbussAnswer() throws Exception {
    List<String> cases = new ArrayList<>();
    long exp = NOW_S + 60;
    cases.add(signed(HS256, "{\"sub\":\"alice\",\"exp\":" + exp + "}", "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210")); // another key
    cases.add(signed("{\"sub\":\"alice\",\"exp\":" + (NOW_S - 29) + "}")); // expired within the skew: valid
    cases.add(signed("{\"sub\":\"alice\",\"exp\":" + (NOW_S - 30) + "}")); // expired
    cases.add(signed("{\"sub\":\"alice\",\"exp\":" + (NOW_S - 31) + "}"));
    cases.add(signed("{\"sub\":\"alice\",\"exp\":" + exp + ",\"nbf\":" + (NOW_S + 29) + "}")); // not yet valid within the skew
    cases.add(signed("{\"sub\":\"alice\",\"exp\":" + exp + ",\"nbf\":" + (NOW_S + 30) + "}"));
    cases.add(signed("{\"sub\":\"alice\",\"exp\":" + exp + ",\"nbf\":" + (NOW_S + 31) + "}"));
    cases.add(signed("{\"sub\":\"alice\"}")); // no exp
    cases.add(signed("{\"exp\":" + exp + "}")); // no sub
    cases.add(signed("{\"sub\":null,\"exp\":" + exp + "}"));
    cases.add(signed("{\"sub\":\"\",\"exp\":" + exp + "}"));
    cases.add(signed("{\"sub\":\"" + "x".repeat(129) + "\",\"exp\":" + exp + "}"));
    cases.add(signed("{\"sub\":42,\"exp\":" + exp + "}"));
    cases.add(signed("{\"sub\":\"alice\",\"exp\":\"" + exp + "\"}")); // exp a string
    cases.add(signed("{\"sub\":\"alice\",\"exp\":" + exp + ",\"iat\":\"yesterday\"}"));
    cases.add(signed("{\"sub\":\"alice\",\"exp\":" + exp + ".5}")); // fractional: nimbus's rounding
    cases.add(signed("{\"sub\":\"alice\",\"exp\":1e20}"));
    cases.add(signed("{\"sub\":\"alice\",\"exp\":" + exp + ",\"exp\":" + (NOW_S - 100) + "}")); // duplicate claim
    cases.add(signed("{\"sub\":\"alice\",\"exp\":" + exp + ",\"bot\":true}")); // a person with the bot claim
    cases.add(signed("{\"sub\":\"bot:echo\",\"exp\":" + exp + "}")); // a bot id without it
    cases.add(signed("{\"sub\":\"bot:\",\"exp\":" + exp + ",\"bot\":true}"));
    cases.add(signed("{\"sub\":\"alice\",\"exp\":" + exp + ",\"bot\":\"true\"}"));
    cases.add(signed("{\"sub\":\"alice\",\"exp\":" + exp + "} trailing"));
    cases.add(signed("[\"sub\",\"alice\"]"));
    cases.add(signed("{'sub':'alice','exp':" + exp + "}")); // only a lenient parser reads it
    cases.add(signed("{\"alg\":\"HS256\",\"kid\":\"k1\"}", "{\"sub\":\"alice\",\"exp\":" + exp + "}", SECRET)); // another header
    cases.add(signed("{\"alg\":\"HS512\"}", "{\"sub\":\"alice\",\"exp\":" + exp + "}", SECRET));
    cases.add(signed("{\"alg\":\"none\"}", "{\"sub\":\"alice\",\"exp\":" + exp + "}", SECRET));
    String valid = signed("{\"sub\":\"alice\",\"exp\":" + exp + "}");
    cases.add(valid.substring(0, valid.lastIndexOf('.') + 1) + "AAAA"); // a forged signature
    cases.add(valid.substring(0, valid.lastIndexOf('.'))); // no signature
    cases.add(valid + ".x");
    cases.add(valid.replace('.', '!'));
    cases.add(b64(HS256) + ".%%%." + valid.substring(valid.lastIndexOf('.') + 1));
    for (String token : cases) {
      assertThat(tokens.verifyToken(token)).as(token).isEqualTo(tokens.verifyWithNimbus(token));
    }
  }
}
