package dev.parley.presence;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.HashSet;
import java.util.Set;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

class PresenceKeysTest {

  @Test
  void usersSpreadOverAFixedSetOfKeysThatEveryNodeNamesAlike() {
    PresenceKeys keys = new PresenceKeys(64);
    Set<Integer> used = new HashSet<>();
    IntStream.range(0, 10_000).forEach(i -> used.add(keys.indexOf("user-" + i)));
    assertThat(used).allSatisfy(i -> assertThat(i).isBetween(0, 63)).hasSize(64);
    assertThat(keys.key(keys.indexOf("alice")).id()).isEqualTo(new PresenceKeys(64).key(new PresenceKeys(64).indexOf("alice")).id());
    assertThat(keys.indexOfId(keys.key(17).id())).isEqualTo(17);
    assertThat(keys.indexOfId("parley-connections")).isEqualTo(-1);
  }

  @Test
  void anEntryNamesItsNodeAndItsUserEvenWhenTheUserHasASlash() {
    String entry = PresenceKeys.entryKey("7f3a", "team/alice");
    assertThat(PresenceKeys.nodeOf(entry)).isEqualTo("7f3a");
    assertThat(PresenceKeys.userOf(entry)).isEqualTo("team/alice");
  }

  @Test
  void atLeastOneKey() {
    assertThatThrownBy(() -> new PresenceKeys(0)).hasMessageContaining("parley.presence.keys");
  }
}
