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

  private static List<String> shards(int n) {
    return IntStream.range(0, n).mapToObj(Integer::toString).toList();
  }

  @Test
  void anEqualShareOfWhatIsLeftOverTheRoundsBeforeTheDeadlineKeepingOneInReserve() {
    // 10 s left: 9 rounds after the reserve; 33 shards → 4 a round.
    assertThat(DrainAwareAllocationStrategy.nextBatch(shards(33), Set.of(), NOW + 10_000, NOW, ROUND)).containsExactly("0", "1", "2", "3");
  }

  @Test
  void shardsStillMovingCountAgainstTheShare() {
    List<String> held = shards(33);
    assertThat(DrainAwareAllocationStrategy.nextBatch(held, Set.of("0", "1", "2"), NOW + 10_000, NOW, ROUND)).containsExactly("3");
    assertThat(DrainAwareAllocationStrategy.nextBatch(held, Set.of("0", "1", "2", "3", "4"), NOW + 10_000, NOW, ROUND)).isEmpty();
  }

  @Test
  void theShareGrowsAsTheDeadlineNears() {
    assertThat(DrainAwareAllocationStrategy.nextBatch(shards(12), Set.of(), NOW + 4_000, NOW, ROUND)).hasSize(4);
    assertThat(DrainAwareAllocationStrategy.nextBatch(shards(12), Set.of(), NOW + 2_000, NOW, ROUND)).hasSize(12);
  }

  @Test
  void everythingLeftMovesOnceTheDeadlineHasPassed() {
    assertThat(DrainAwareAllocationStrategy.nextBatch(shards(7), Set.of("6"), NOW - 1, NOW, ROUND)).hasSize(6).doesNotContain("6");
  }

  @Test
  void aRegionWithNothingLeftMovesNothing() {
    assertThat(DrainAwareAllocationStrategy.nextBatch(List.of(), Set.of(), NOW + 10_000, NOW, ROUND)).isEmpty();
    assertThat(DrainAwareAllocationStrategy.nextBatch(shards(2), Set.of("0", "1"), NOW - 1, NOW, ROUND)).isEmpty();
  }
}
