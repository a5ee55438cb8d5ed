package dev.parley.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

class InboxSeedPlanTest {

  private final InboxSeedPlan plan = new InboxSeedPlan("ib", 30, 10);

  @Test
  void namesAreDeterministicAndEveryConversationHasAPeerOfItsOwn() {
    assertThat(plan.user()).isEqualTo("ib-u30");
    assertThat(plan.conversation(7)).isEqualTo("ib-u30-c7");
    assertThat(plan.peer(7)).isEqualTo("ib-u30-p7");
    assertThat(new InboxSeedPlan("ib", 30, 10).conversation(7)).isEqualTo(plan.conversation(7));
    assertThat(plan.peer(7)).isNotEqualTo(plan.peer(8)).isNotEqualTo(plan.user());
  }

  @Test
  void indexOfKnowsOnlyThisPlansConversations() {
    assertThat(plan.indexOf("ib-u30-c0")).isZero();
    assertThat(plan.indexOf("ib-u30-c29")).isEqualTo(29);
    assertThat(plan.indexOf("ib-u30-c30")).as("beyond the size").isEqualTo(-1);
    assertThat(plan.indexOf("ib-u30-c07")).as("not the canonical name").isEqualTo(-1);
    assertThat(plan.indexOf("ib-u300-c1")).as("another user's").isEqualTo(-1);
    assertThat(plan.indexOf("ib-u30-cx")).isEqualTo(-1);
    assertThat(plan.indexOf("bench-1-f2")).isEqualTo(-1);
  }

  @Test
  void anEmptyInboxNeedsEveryConversationAndEveryTenthMessage() {
    var steps = plan.missing(Map.of());

    assertThat(steps).hasSize(30).allMatch(InboxSeedPlan.Step::create);
    assertThat(steps.stream().filter(InboxSeedPlan.Step::message).map(InboxSeedPlan.Step::index)).containsExactly(0, 10, 20);
  }

  @Test
  void whatTheInboxShowsIsNotSeededAgainAndAMissingMessageIsPostedAlone() {
    Map<String, Long> present = new HashMap<>();
    for (int i = 0; i < 30; i++) present.put(plan.conversation(i), plan.hasMessage(i) ? 2L : 1L);
    assertThat(plan.missing(present)).isEmpty();
    assertThat(plan.complete(present)).isTrue();

    present.remove(plan.conversation(5));
    present.put(plan.conversation(20), 1L); // created, but its message did not make it yet

    assertThat(plan.missing(present))
        .containsExactly(new InboxSeedPlan.Step(5, true, false), new InboxSeedPlan.Step(20, false, true));
    assertThat(plan.complete(present)).isFalse();
  }

  @Test
  void theSeededMessageHasAFixedClientMsgIdSoARerunPostsNothingTwice() {
    assertThat(plan.clientMsgId(20)).isEqualTo(new InboxSeedPlan("ib", 30, 10).clientMsgId(20)).isNotEqualTo(plan.clientMsgId(10));
  }

  @Test
  void badPlansAreRefusedWithTheOptionsName() {
    assertThatThrownBy(() -> new InboxSeedPlan("has space", 10, 10)).hasMessageContaining("--prefix");
    assertThatThrownBy(() -> new InboxSeedPlan("ib", 0, 10)).hasMessageContaining("at least 1");
    assertThatThrownBy(() -> new InboxSeedPlan("ib", 10, 0)).hasMessageContaining("--message-every");
  }
}
