package dev.parley.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/** How many shards of a draining node start moving in one rebalance round. */
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
  void anEqualShareOfWhatIsLeftOverTheRoundsBeforeTheDeadlineKeepingOneInReserve() {
    // 10 s left: 9 rounds after the reserve; 33 shards → 4 a round.
    assertThat(batch(shards(33), Set.of(), NOW + 10_000, NO_CAP)).containsExactly("0", "1", "2", "3");
  }

  @Test
  void shardsStillMovingCountAgainstTheShare() {
    List<String> held = shards(33);
    assertThat(batch(held, Set.of("0", "1", "2"), NOW + 10_000, NO_CAP)).containsExactly("3");
    assertThat(batch(held, Set.of("0", "1", "2", "3", "4"), NOW + 10_000, NO_CAP)).isEmpty();
  }

  @Test
  void theShareGrowsAsTheDeadlineNearsButNeverPastTheCap() {
    assertThat(batch(shards(12), Set.of(), NOW + 4_000, NO_CAP)).hasSize(4);
    assertThat(batch(shards(12), Set.of(), NOW + 2_000, NO_CAP)).hasSize(12);
    assertThat(batch(shards(12), Set.of(), NOW + 2_000, 4)).hasSize(4);
    assertThat(batch(shards(12), Set.of("0", "1", "2"), NOW + 2_000, 4)).containsExactly("3");
  }

  @Test
  void nothingMoreStartsInTheLastRoundOrOnceTheDeadlineHasPassed() {
    // What is left then moves at the handoff.
    assertThat(batch(shards(7), Set.of(), NOW + 1_500, NO_CAP)).isEmpty();
    assertThat(batch(shards(7), Set.of("6"), NOW - 1, NO_CAP)).isEmpty();
  }

  @Test
  void aRegionWithNothingLeftMovesNothing() {
    assertThat(batch(List.of(), Set.of(), NOW + 10_000, NO_CAP)).isEmpty();
    assertThat(batch(shards(2), Set.of("0", "1"), NOW + 10_000, NO_CAP)).isEmpty();
  }
}
