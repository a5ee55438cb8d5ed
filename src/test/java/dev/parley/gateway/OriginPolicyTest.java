package dev.parley.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class OriginPolicyTest {

  private final OriginPolicy sameOriginOnly = new OriginPolicy(List.of());

  @Test
  void clientsWithoutAnOriginAreAllowed() {
    assertThat(sameOriginOnly.allows(Optional.empty(), Optional.of("chat.example.com"))).isTrue();
  }

  @Test
  void aPageOfTheNodeItselfIsAllowed() {
    assertThat(sameOriginOnly.allows(Optional.of("http://127.0.0.1:8080"), Optional.of("127.0.0.1:8080"))).isTrue();
    assertThat(sameOriginOnly.allows(Optional.of("https://chat.example.com"), Optional.of("chat.example.com"))).isTrue();
    assertThat(sameOriginOnly.allows(Optional.of("https://chat.example.com"), Optional.of("chat.example.com:443"))).isTrue();
    assertThat(sameOriginOnly.allows(Optional.of("http://[::1]:8080"), Optional.of("[::1]:8080"))).isTrue();
  }

  @Test
  void anotherSiteIsRefused() {
    assertThat(sameOriginOnly.allows(Optional.of("https://evil.example"), Optional.of("chat.example.com"))).isFalse();
    assertThat(sameOriginOnly.allows(Optional.of("http://127.0.0.1:9999"), Optional.of("127.0.0.1:8080"))).isFalse();
    assertThat(sameOriginOnly.allows(Optional.of("https://chat.example.com.evil.example"), Optional.of("chat.example.com"))).isFalse();
    assertThat(sameOriginOnly.allows(Optional.of("null"), Optional.of("chat.example.com"))).isFalse();
    assertThat(sameOriginOnly.allows(Optional.of("http://chat.example.com"), Optional.empty())).isFalse();
  }

  @Test
  void configuredOriginsAreAllowedWhateverTheHost() {
    OriginPolicy policy = new OriginPolicy(List.of("https://app.example.com/", "http://localhost:3000"));
    assertThat(policy.allows(Optional.of("https://APP.example.com"), Optional.of("api.example.com"))).isTrue();
    assertThat(policy.allows(Optional.of("http://localhost:3000"), Optional.of("127.0.0.1:8080"))).isTrue();
    assertThat(policy.allows(Optional.of("https://other.example.com"), Optional.of("api.example.com"))).isFalse();
  }

  @Test
  void aStarAllowsEveryOrigin() {
    assertThat(new OriginPolicy(List.of("*")).allows(Optional.of("https://evil.example"), Optional.of("x"))).isTrue();
  }
}
