package dev.parley.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.URI;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class WorkloadTest {

  private static Workload plan(int connections, int conversations, int members) {
    BenchSettings settings =
        new BenchSettings(
            List.of(URI.create("ws://127.0.0.1:1/v1/ws")), "", connections, conversations, members, 100, 10,
            Duration.ZERO, Duration.ofSeconds(1), Duration.ZERO, Duration.ofSeconds(1), null);
    return Workload.plan(settings, "run");
  }

  @Test
  void firstUrlMustNameOneOfTheUrls() {
    List<URI> urls = List.of(URI.create("ws://127.0.0.1:1/v1/ws"), URI.create("ws://127.0.0.1:2/v1/ws"));
    Duration second = Duration.ofSeconds(1);
    assertThat(new BenchSettings(urls, "", 2, 1, 2, 1, 10, Duration.ZERO, second, Duration.ZERO, second, null, 2).firstUrl())
        .isEqualTo(2);
    assertThatThrownBy(
            () -> new BenchSettings(urls, "", 2, 1, 2, 1, 10, Duration.ZERO, second, Duration.ZERO, second, null, 3))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("--first-url");
  }

  @Test
  void everyConversationHasDistinctMembers() {
    Workload workload = plan(10, 7, 4);

    assertThat(workload.conversations()).hasSize(7);
    workload.conversations().forEach(c -> assertThat(c.members()).hasSize(4).doesNotHaveDuplicates());
  }

  @Test
  void conversationsSpreadEvenlyOverConnections() {
    Workload workload = plan(200, 100, 2);

    for (int connection = 0; connection < 200; connection++) {
      assertThat(workload.conversationsOf(connection)).hasSize(1);
    }
  }

  @Test
  void sendsRotateOverEveryMemberOfEveryConversation() {
    Workload workload = plan(6, 3, 2);
    Map<Workload.Slot, Integer> sends = new HashMap<>();

    for (long i = 0; i < 60; i++) sends.merge(workload.slotFor(i), 1, Integer::sum);

    assertThat(sends).hasSize(6).allSatisfy((slot, count) -> assertThat(count).isEqualTo(10));
    assertThat(workload.slotFor(0).conversation()).isNotEqualTo(workload.slotFor(1).conversation());
  }
}
