package dev.parley.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.IntStream;
import org.apache.pekko.util.Version;
import org.junit.jupiter.api.Test;

/** How many shards of a draining node start moving in one rebalance round, and where they go. */
class DrainAwareAllocationStrategyTest {

  private static final Duration ROUND = Duration.ofSeconds(1);
  private static final long NOW = 1_000_000L;
  private static final int NO_CAP = Integer.MAX_VALUE;

  private static List<String> shards(int n) {
    return IntStream.range(0, n).mapToObj(Integer::toString).toList();
  }

  private static List<String> batch(List<String> held, Set<String> moving, long deadline, int maxMoving) {
    return DrainAwareAllocationStrategy.nextBatch(held, moving, deadline, NOW, ROUND, maxMoving);
  }

  @Test
  void anEqualShareOfWhatIsLeftOverTheRoundsBeforeTheDeadlineKeepingTwoInReserve() {
    // 10 s left: 8 rounds after the reserve; 33 shards → 5 a round.
    assertThat(batch(shards(33), Set.of(), NOW + 10_000, NO_CAP)).containsExactly("0", "1", "2", "3", "4");
  }

  @Test
  void shardsStillMovingCountAgainstTheCapNotAgainstTheShare() {
    List<String> held = shards(33);
    assertThat(batch(held, Set.of("0", "1", "2"), NOW + 10_000, 4)).containsExactly("3");
    assertThat(batch(held, Set.of("0", "1", "2", "3"), NOW + 10_000, 4)).isEmpty();
    assertThat(batch(held, Set.of("0", "1", "2"), NOW + 10_000, NO_CAP)).containsExactly("3", "4", "5", "6", "7");
  }

  @Test
  void oneSlowMoveDoesNotHoldBackTheLastShard() {
    // Two rounds left before the reserve, shard 0 still moving since earlier rounds: shard 1 goes now
    // rather than at the handoff (in CI, a move that took 5 s left one shard for the handoff).
    assertThat(batch(shards(2), Set.of("0"), NOW + 4_000, 4)).containsExactly("1");
  }

  @Test
  void theShareGrowsAsTheDeadlineNearsButNeverPastTheCap() {
    assertThat(batch(shards(12), Set.of(), NOW + 5_000, NO_CAP)).hasSize(4);
    assertThat(batch(shards(12), Set.of(), NOW + 3_000, NO_CAP)).hasSize(12);
    assertThat(batch(shards(12), Set.of(), NOW + 3_000, 4)).hasSize(4);
    assertThat(batch(shards(12), Set.of("0", "1", "2"), NOW + 3_000, 4)).containsExactly("3");
  }

  @Test
  void inTheReserveWhatIsLeftStartsAtOnceUpToTheCap() {
    // Rounds come ~1.04 s apart: the plan's last shard can fall into the reserve (CI: 19 of 20).
    assertThat(batch(shards(1), Set.of(), NOW + 2_900, 4)).containsExactly("0");
    assertThat(batch(shards(7), Set.of(), NOW + 2_500, NO_CAP)).hasSize(7);
    assertThat(batch(shards(7), Set.of("0"), NOW + 1_500, 4)).containsExactly("1", "2", "3");
  }

  @Test
  void nothingMoreStartsInTheLastRoundOrOnceTheDeadlineHasPassed() {
    // What is left then moves at the handoff.
    assertThat(batch(shards(7), Set.of(), NOW + 900, NO_CAP)).isEmpty();
    assertThat(batch(shards(7), Set.of("6"), NOW - 1, NO_CAP)).isEmpty();
  }

  @Test
  void aRegionWithNothingLeftMovesNothing() {
    assertThat(batch(List.of(), Set.of(), NOW + 10_000, NO_CAP)).isEmpty();
    assertThat(batch(shards(2), Set.of("0", "1"), NOW + 10_000, NO_CAP)).isEmpty();
  }

  // ---- where a draining node's shards go ---------------------------------------------------------

  private static final Version OLD = new Version("1.0.0");
  private static final Version NEW = new Version("1.0.1");

  private static DrainAwareAllocationStrategy.Receiver<String> receiver(String region, Version version, int shards) {
    return new DrainAwareAllocationStrategy.Receiver<>(region, version, shards);
  }

  @Test
  void aDrainingNodesShardsAlternateBetweenTheNodesOfTheNewestVersion() {
    // The third node of a rolling deploy drains: node 2 (just restarted, few shards) and node 3
    // (restarted first, many) run the new version. Least shards alone would send every shard to
    // node 2; spread, they alternate, and a shard never goes to the old version.
    Map<String, Integer> taken = new HashMap<>();
    List<String> targets = new java.util.ArrayList<>();
    int node2 = 2, node3 = 45;
    for (int i = 0; i < 6; i++) {
      String target =
          DrainAwareAllocationStrategy.spreadTarget(
              List.of(receiver("node1-old", OLD, 0), receiver("node2", NEW, node2), receiver("node3", NEW, node3)), taken);
      taken.merge(target, 1, Integer::sum);
      if (target.equals("node2")) node2++;
      else node3++;
      targets.add(target);
    }
    assertThat(targets).containsExactly("node2", "node3", "node2", "node3", "node2", "node3");
  }

  @Test
  void withOneNodeOfTheNewestVersionItTakesThemAll() {
    // The second drain of a rolling deploy: only the node restarted first runs the new version.
    Map<String, Integer> taken = new HashMap<>(Map.of("node3", 20));
    assertThat(
            DrainAwareAllocationStrategy.spreadTarget(
                List.of(receiver("node1", OLD, 30), receiver("node3", NEW, 50)), taken))
        .isEqualTo("node3");
  }

  @Test
  void betweenEqualTakersTheFewestShardsWinAndNoReceiverMeansPekkoDecides() {
    assertThat(
            DrainAwareAllocationStrategy.spreadTarget(
                List.of(receiver("a", NEW, 30), receiver("b", NEW, 10), receiver("c", NEW, 20)), Map.of()))
        .isEqualTo("b");
    assertThat(DrainAwareAllocationStrategy.<String>spreadTarget(List.of(), Map.of())).isNull();
  }
}
