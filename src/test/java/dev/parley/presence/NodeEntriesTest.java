package dev.parley.presence;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.pekko.actor.Address;
import org.apache.pekko.cluster.UniqueAddress;
import org.junit.jupiter.api.Test;

/** The cluster half of presence without actors: what each node says, which nodes count, the merged view. */
class NodeEntriesTest {

  private static final UniqueAddress SELF = member(1);
  private static final UniqueAddress OTHER = member(2);
  private static final String SELF_ID = PresenceSync.nodeId(SELF);
  private static final String OTHER_ID = PresenceSync.nodeId(OTHER);

  private final Map<String, UserPresence> view = new HashMap<>();
  private final List<String> changes = new ArrayList<>();
  private final NodeEntries entries =
      new NodeEntries(SELF_ID, view, (user, was, now) -> changes.add(user + ":" + was.status() + "->" + now.status()));

  private static UniqueAddress member(long uid) {
    return new UniqueAddress(new Address("pekko", "parley", "10.0.0." + uid, 7355), uid);
  }

  private static PresenceSync.Entry entry(String user, PresenceEntry.Status status, long since) {
    return PresenceSync.Entry.of(user, new PresenceEntry(status, since));
  }

  @Test
  void aUserOnlineOnAnyCountedNodeIsOnlineAndEveryChangeIsToldOnce() {
    entries.follow(SELF);
    entries.follow(OTHER);
    entries.apply(SELF_ID, List.of(entry("ann", PresenceEntry.Status.AWAY, 10)));
    entries.apply(OTHER_ID, List.of(entry("ann", PresenceEntry.Status.ONLINE, 11)));
    entries.apply(OTHER_ID, List.of(entry("ann", PresenceEntry.Status.ONLINE, 12)));

    assertThat(view.get("ann").status()).isEqualTo(PresenceEntry.Status.ONLINE);
    assertThat(changes).containsExactly("ann:OFFLINE->AWAY", "ann:AWAY->ONLINE");
    assertThat(entries.entriesOf("ann")).containsOnlyKeys(SELF_ID, OTHER_ID);
  }

  @Test
  void entriesOfANodeNotYetAMemberCountOnlyOnceItIsFollowed() {
    entries.apply(OTHER_ID, List.of(entry("bob", PresenceEntry.Status.ONLINE, 10)));
    assertThat(view).doesNotContainKey("bob");

    entries.follow(OTHER);
    assertThat(view.get("bob").status()).isEqualTo(PresenceEntry.Status.ONLINE);
  }

  @Test
  void aNodeThatStopsCountingTakesItsUsersOfflineUnlessAnotherNodeHasThemAndCountsAgainWhenBack() {
    entries.follow(SELF);
    entries.follow(OTHER);
    entries.apply(OTHER_ID, List.of(entry("bob", PresenceEntry.Status.ONLINE, 10), entry("cy", PresenceEntry.Status.ONLINE, 10)));
    entries.apply(SELF_ID, List.of(entry("cy", PresenceEntry.Status.AWAY, 10)));

    entries.stopCounting(OTHER_ID);
    assertThat(entries.isCounted(OTHER_ID)).isFalse();
    assertThat(view.get("bob").status()).isEqualTo(PresenceEntry.Status.OFFLINE);
    assertThat(view.get("bob").lastSeen()).as("offline since the node stopped counting").isNotNull();
    assertThat(view.get("cy").status()).as("still away on this node").isEqualTo(PresenceEntry.Status.AWAY);

    entries.countAgain(OTHER_ID);
    assertThat(view.get("bob").status()).isEqualTo(PresenceEntry.Status.ONLINE);
    assertThat(view.get("cy").status()).isEqualTo(PresenceEntry.Status.ONLINE);
  }

  @Test
  void aRemovedNodeIsForgottenAndNeverFollowedAgain() {
    entries.follow(OTHER);
    entries.apply(OTHER_ID, List.of(entry("bob", PresenceEntry.Status.ONLINE, 10)));

    entries.removed(OTHER_ID);
    assertThat(entries.isRemoved(OTHER_ID)).isTrue();
    assertThat(entries.isMember(OTHER_ID)).isFalse();
    assertThat(entries.entriesOf("bob")).isEmpty();
    assertThat(view.get("bob").status()).as("offline with a last seen, not unknown").isEqualTo(PresenceEntry.Status.OFFLINE);

    entries.follow(OTHER);
    assertThat(entries.isMember(OTHER_ID)).as("a removed member's late events do not bring it back").isFalse();
  }

  @Test
  void aSnapshotReplacesEverythingTheNodeSaidBefore() {
    entries.follow(OTHER);
    entries.apply(OTHER_ID, List.of(entry("bob", PresenceEntry.Status.ONLINE, 10), entry("cy", PresenceEntry.Status.ONLINE, 10)));

    entries.replace(OTHER_ID, Map.of("cy", new PresenceEntry(PresenceEntry.Status.AWAY, 20)));
    assertThat(entries.entriesOf("bob")).isEmpty();
    assertThat(view).doesNotContainKey("bob");
    assertThat(view.get("cy").status()).isEqualTo(PresenceEntry.Status.AWAY);
  }

  @Test
  void aSweepForgetsANodeNoMemberHasSeenForTwoSweepsAndExpiresUsersLostWithANode() {
    entries.follow(OTHER);
    UniqueAddress gone = member(3);
    String goneId = PresenceSync.nodeId(gone);
    entries.apply(goneId, List.of(entry("dan", PresenceEntry.Status.ONLINE, 10)));
    entries.apply(OTHER_ID, List.of(entry("eve", PresenceEntry.Status.ONLINE, 10)));
    entries.stopCounting(OTHER_ID);
    assertThat(view.get("eve").status()).isEqualTo(PresenceEntry.Status.OFFLINE);

    assertThat(entries.sweep(0)).as("first sweep: the unknown node is only noted").isEmpty();
    assertThat(entries.entriesOf("dan")).containsOnlyKeys(goneId);
    assertThat(entries.sweep(Long.MAX_VALUE)).containsExactly(goneId);
    assertThat(entries.entriesOf("dan")).isEmpty();
    assertThat(view).as("a user lost with a node is forgotten once its offline entry expires").doesNotContainKey("eve");
  }
}
