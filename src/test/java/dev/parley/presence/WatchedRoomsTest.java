package dev.parley.presence;

import static org.assertj.core.api.Assertions.assertThat;

import dev.parley.ErrorCode;
import dev.parley.conversation.Conversation;
import dev.parley.presence.PresenceHub.Batch;
import dev.parley.presence.PresenceHub.RoomCounts;
import dev.parley.presence.PresenceHub.Watch;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.pekko.actor.testkit.typed.javadsl.TestInbox;
import org.junit.jupiter.api.Test;

/** The hub's interest part on its own: member pages, counts, who is owed what, and what ends a watch. */
class WatchedRoomsTest {

  private final Map<String, UserPresence> view = new HashMap<>();
  private final List<String> loads = new ArrayList<>();
  private final WatchedRooms rooms = new WatchedRooms(view, (room, asUser, after) -> loads.add(room + "/" + asUser + "/" + after));
  private final TestInbox<Batch> alice = TestInbox.create();
  private final TestInbox<Batch> bob = TestInbox.create();

  @Test
  void membersLoadOnceInPagesThenWatchersGetCountsAndTheUsersTheyNamed() {
    view.put("carol", new UserPresence("carol", PresenceEntry.Status.ONLINE, null));
    rooms.watch(new Watch(alice.getRef(), "alice", "r", true, null));
    rooms.watch(new Watch(bob.getRef(), "bob", "r", false, Set.of("carol", "stranger")));
    assertThat(loads).as("one load for the room, however many watch it while it loads").containsExactly("r/alice/null");

    rooms.membersLoaded("r", "alice", new Conversation.MembersPage(List.of("alice", "bob"), 3, true));
    assertThat(loads).containsExactly("r/alice/null", "r/alice/bob");
    rooms.membersLoaded("r", "alice", new Conversation.MembersPage(List.of("carol"), 3, false));

    assertThat(rooms.flush(100)).isEqualTo(2);
    assertThat(alice.receiveMessage()).isEqualTo(new Batch(List.of(), List.of(new RoomCounts("r", 3, 1, 0))));
    assertThat(bob.receiveMessage()).as("only members it named").isEqualTo(new Batch(List.of(view.get("carol")), List.of()));
    assertThat(rooms.flush(100)).as("nothing owed twice").isZero();
  }

  @Test
  void aChangeReachesTheRoomsOfTheUserAndMovesTheCounts() {
    watchLoaded(alice, "alice", "r", true, List.of("alice", "carol"));
    watchLoaded(bob, "bob", "s", false, List.of("bob", "carol"));
    rooms.flush(100);
    alice.getAllReceived();
    bob.getAllReceived();

    UserPresence online = new UserPresence("carol", PresenceEntry.Status.ONLINE, null);
    view.put("carol", online);
    rooms.presenceChanged("carol", UserPresence.unknown("carol"), online);

    assertThat(rooms.flush(100)).isEqualTo(2);
    assertThat(alice.receiveMessage().counts()).containsExactly(new RoomCounts("r", 2, 1, 0));
    assertThat(bob.receiveMessage().users()).containsExactly(online);
  }

  @Test
  void whoLeavesARoomStopsWatchingItAndTheLastWatcherFreesTheRoom() {
    watchLoaded(alice, "alice", "r", false, List.of("alice", "bob"));
    rooms.watch(new Watch(bob.getRef(), "bob", "r", true, null));
    rooms.flush(100);
    bob.getAllReceived();

    rooms.membershipChanged("r", "alice", false);
    assertThat(rooms.size()).isEqualTo(1);
    rooms.flush(100);
    assertThat(bob.receiveMessage().counts()).containsExactly(new RoomCounts("r", 1, 0, 0));
    alice.getAllReceived();

    UserPresence online = new UserPresence("bob", PresenceEntry.Status.ONLINE, null);
    view.put("bob", online);
    rooms.presenceChanged("bob", UserPresence.unknown("bob"), online);
    rooms.flush(100);
    assertThat(alice.hasMessages()).as("alice left: no presence of the room for her").isFalse();

    rooms.disconnected(bob.getRef());
    assertThat(rooms.size()).isZero();
  }

  @Test
  void aRefusedMemberListEndsEveryWatchOfTheRoom() {
    rooms.watch(new Watch(alice.getRef(), "alice", "r", true, null));
    rooms.watch(new Watch(bob.getRef(), "bob", "r", true, null));
    rooms.membersLoaded("r", "alice", new Conversation.Rejected(ErrorCode.FORBIDDEN, "not a member"));
    assertThat(rooms.size()).isZero();
    assertThat(rooms.flush(100)).isZero();

    rooms.watch(new Watch(alice.getRef(), "alice", "r", true, null));
    assertThat(loads).as("a later watch loads again").hasSize(2);
  }

  private void watchLoaded(TestInbox<Batch> connection, String user, String room, boolean countsOnly, List<String> members) {
    rooms.watch(new Watch(connection.getRef(), user, room, countsOnly, countsOnly ? null : Set.copyOf(members)));
    rooms.membersLoaded(room, user, new Conversation.MembersPage(members, members.size(), false));
  }
}
