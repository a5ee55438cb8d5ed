package dev.parley.presence;

import static dev.parley.presence.PresenceEntry.Status.AWAY;
import static dev.parley.presence.PresenceEntry.Status.OFFLINE;
import static dev.parley.presence.PresenceEntry.Status.ONLINE;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

/** Several devices (on several nodes), one presence. */
class PresenceEntryTest {

  @Test
  void onlineOnAnyNodeIsOnlineWithoutLastSeen() {
    assertThat(PresenceEntry.merge("u", List.of(new PresenceEntry(AWAY, 5), new PresenceEntry(ONLINE, 3), new PresenceEntry(OFFLINE, 9))))
        .isEqualTo(new UserPresence("u", ONLINE, null));
  }

  @Test
  void awayOnlyWhenEveryConnectedNodeSaysAwaySinceTheLatest() {
    assertThat(PresenceEntry.merge("u", List.of(new PresenceEntry(AWAY, 5), new PresenceEntry(AWAY, 7), new PresenceEntry(OFFLINE, 9))))
        .isEqualTo(new UserPresence("u", AWAY, 7L));
  }

  @Test
  void offlineEverywhereIsLastSeenAtTheLatestDisconnect() {
    assertThat(PresenceEntry.merge("u", List.of(new PresenceEntry(OFFLINE, 5), new PresenceEntry(OFFLINE, 9))))
        .isEqualTo(new UserPresence("u", OFFLINE, 9L));
  }

  @Test
  void noEntryAtAllIsOfflineWithUnknownLastSeen() {
    assertThat(PresenceEntry.merge("u", List.of())).isEqualTo(UserPresence.unknown("u"));
  }
}
