package dev.parley.presence;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

class PendingPresenceTest {

  private final PendingPresence<String> pending = new PendingPresence<>();

  @Test
  void manyChangesOfOneUserBetweenTwoFlushesAreOneEntry() {
    for (int i = 0; i < 50; i++) pending.userChanged("conn", "alice");
    pending.userChanged("conn", "bob");

    List<PendingPresence.Flush<String>> flushes = pending.drain(100);

    assertThat(flushes).singleElement().satisfies(f -> assertThat(f.users()).containsExactly("alice", "bob"));
    assertThat(pending.drain(100)).as("nothing is owed twice").isEmpty();
  }

  @Test
  void eachConnectionGetsAtMostOneFlushPerDrainWhateverTheChurn() {
    for (int i = 0; i < 1000; i++) {
      pending.userChanged("a", "user-" + i);
      pending.countsChanged("b", "room-" + (i % 3));
    }

    List<PendingPresence.Flush<String>> flushes = pending.drain(200);

    assertThat(flushes).extracting(PendingPresence.Flush::connection).containsExactly("a", "b");
    assertThat(flushes.get(1).countedRooms()).containsExactly("room-0", "room-1", "room-2");
  }

  @Test
  void usersBeyondTheCapWaitForTheNextFlushOldestFirst() {
    for (int i = 0; i < 450; i++) pending.userChanged("conn", "user-" + i);

    List<String> first = pending.drain(200).get(0).users();
    List<String> second = pending.drain(200).get(0).users();
    List<String> third = pending.drain(200).get(0).users();

    assertThat(first).hasSize(200).startsWith("user-0").endsWith("user-199");
    assertThat(second).hasSize(200).startsWith("user-200");
    assertThat(third).hasSize(50).endsWith("user-449");
    assertThat(pending.drain(200)).isEmpty();
  }

  @Test
  void aForgottenConnectionIsOwedNothing() {
    pending.userChanged("gone", "alice");
    pending.countsChanged("gone", "room");
    pending.userChanged("stays", "alice");

    pending.forget("gone");

    assertThat(pending.drain(10)).extracting(PendingPresence.Flush::connection).containsExactly("stays");
  }

  @Test
  void aRoomNoLongerWatchedHasNoCountsOwed() {
    pending.countsChanged("conn", "left-room");
    pending.countsChanged("conn", "kept-room");

    pending.forgetRoom("conn", "left-room");

    assertThat(pending.drain(10).get(0).countedRooms()).containsExactly("kept-room");
  }
}
