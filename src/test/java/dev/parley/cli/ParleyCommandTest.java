package dev.parley.cli;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class ParleyCommandTest {

  private final String before = System.getProperty(ParleyCommand.COMMON_POOL_PARALLELISM);

  @AfterEach
  void restore() {
    if (before == null) System.clearProperty(ParleyCommand.COMMON_POOL_PARALLELISM);
    else System.setProperty(ParleyCommand.COMMON_POOL_PARALLELISM, before);
  }

  @Test
  void theAsyncPoolGetsAtLeastTwoThreadsWhenNothingIsConfigured() {
    System.clearProperty(ParleyCommand.COMMON_POOL_PARALLELISM);
    ParleyCommand.ensureAsyncPool();
    assertThat(Integer.parseInt(System.getProperty(ParleyCommand.COMMON_POOL_PARALLELISM))).isGreaterThanOrEqualTo(2);
  }

  @Test
  void anExplicitSettingWins() {
    System.setProperty(ParleyCommand.COMMON_POOL_PARALLELISM, "7");
    ParleyCommand.ensureAsyncPool();
    assertThat(System.getProperty(ParleyCommand.COMMON_POOL_PARALLELISM)).isEqualTo("7");
  }
}
