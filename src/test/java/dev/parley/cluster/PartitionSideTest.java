package dev.parley.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import dev.parley.cluster.PartitionSide.Seat;
import java.util.List;
import org.apache.pekko.actor.Address;
import org.apache.pekko.cluster.MemberStatus;
import org.junit.jupiter.api.Test;

/** The keep-majority rule as PartitionSide applies it before the split brain resolver decides. */
class PartitionSideTest {

  private static Seat node(int port, MemberStatus status, boolean reachable) {
    return new Seat(new Address("pekko", "parley", "127.0.0.1", port), status, reachable);
  }

  private static Seat up(int port, boolean reachable) {
    return node(port, MemberStatus.up(), reachable);
  }

  @Test
  void theSideWithMoreMembersWrites() {
    assertThat(PartitionSide.decide(MemberStatus.up(), List.of(up(1, true), up(2, true), up(3, false)))).isTrue();
  }

  @Test
  void aNodeThatSeesTheOthersUnreachableStopsWriting() {
    assertThat(PartitionSide.decide(MemberStatus.up(), List.of(up(1, false), up(2, false), up(3, true)))).isFalse();
  }

  @Test
  void onATieTheSideWithTheLowestAddressWrites() {
    assertThat(PartitionSide.decide(MemberStatus.up(), List.of(up(25521, true), up(25522, false)))).isTrue();
    assertThat(PartitionSide.decide(MemberStatus.up(), List.of(up(25521, false), up(25522, true)))).isFalse();
  }

  @Test
  void aDownedNodeNeverWrites() {
    assertThat(PartitionSide.decide(MemberStatus.down(), List.of(up(1, true), up(2, true), up(3, true)))).isFalse();
  }

  @Test
  void joiningAndExitingMembersDoNotCount() {
    // Two Up members, one of them unreachable, and a joining one: a tie of the counted members,
    // which the lowest address (reachable here) wins.
    assertThat(
            PartitionSide.decide(
                MemberStatus.up(), List.of(up(1, true), up(2, false), node(3, MemberStatus.joining(), true), node(4, MemberStatus.exiting(), true))))
        .isTrue();
  }

  @Test
  void aLoneNodeWrites() {
    assertThat(PartitionSide.decide(MemberStatus.up(), List.of(up(1, true)))).isTrue();
  }
}
