package dev.parley.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;
import org.junit.jupiter.api.Test;

class SendHoldTest {

  private static final long MS = 1_000_000L;

  @Test
  void sendsGoOutWhileNothingHoldsThem() {
    SendHold hold = new SendHold();
    assertThat(hold.remainingNanos(0)).isZero();
    assertThat(hold.admit(1, "one")).isTrue();
    assertThat(hold.size()).isZero();
    assertThat(hold.release(0)).isEmpty();
    assertThat(hold.settled(1)).isEmpty();
  }

  @Test
  void aRefusalHoldsEverySendUntilTheHintHasPassedThenSendsThemOneAtATimeOldestFirst() {
    SendHold hold = new SendHold();
    assertThat(hold.hold(5, "five", 1_000 * MS)).isEqualTo(1_000 * MS);
    assertThat(hold.admit(6, "six")).isFalse();
    assertThat(hold.admit(7, "seven")).isFalse();
    assertThat(hold.size()).isEqualTo(3);

    assertThat(hold.remainingNanos(600 * MS)).isEqualTo(400 * MS);
    assertThat(hold.release(999 * MS)).as("the hint has not passed").isEmpty();
    assertThat(hold.release(1_000 * MS)).extracting(Map.Entry::getValue).containsExactly("five");
    assertThat(hold.admit(8, "eight")).as("the rest waits for the first one's answer").isFalse();
    assertThat(hold.admit(5, "five")).as("the one in flight may be resent").isTrue();

    assertThat(hold.settled(5)).extracting(Map.Entry::getValue).containsExactly("six");
    assertThat(hold.settled(7)).as("not the one in flight (acknowledged on an earlier attempt)").isEmpty();
    assertThat(hold.settled(6)).extracting(Map.Entry::getValue).containsExactly("eight");
    assertThat(hold.admit(9, "nine")).as("still catching up").isFalse();
    assertThat(hold.settled(8)).extracting(Map.Entry::getValue).containsExactly("nine");
    assertThat(hold.settled(9)).isEmpty();
    assertThat(hold.admit(10, "ten")).as("caught up: open again").isTrue();
    assertThat(hold.size()).isZero();
  }

  @Test
  void theSendTriedFirstRefusedAgainHoldsEverythingAgain() {
    SendHold hold = new SendHold();
    hold.hold(1, "one", 100 * MS);
    hold.admit(2, "two");
    assertThat(hold.release(100 * MS)).extracting(Map.Entry::getKey).containsExactly(1L);
    hold.hold(1, "one", 400 * MS);
    assertThat(hold.release(300 * MS)).isEmpty();
    assertThat(hold.admit(3, "three")).isFalse();
    assertThat(hold.release(400 * MS)).extracting(Map.Entry::getKey).containsExactly(1L);
    assertThat(hold.settled(1)).extracting(Map.Entry::getKey).containsExactly(2L);
    assertThat(hold.settled(2)).extracting(Map.Entry::getKey).containsExactly(3L);
  }

  @Test
  void heldSendsGoOutOldestFirstAndOnceEach() {
    SendHold hold = new SendHold();
    hold.hold(9, "nine", 100 * MS);
    // A send refused later but older (answered late), and the same send held twice.
    hold.hold(3, "three", 100 * MS);
    assertThat(hold.admit(9, "nine")).isFalse();
    assertThat(hold.release(100 * MS)).extracting(Map.Entry::getKey).containsExactly(3L);
    assertThat(hold.settled(3)).extracting(Map.Entry::getKey).containsExactly(9L);
  }

  @Test
  void aLaterHintExtendsTheHoldAndAnEarlierOneDoesNotShortenIt() {
    SendHold hold = new SendHold();
    hold.hold(1, "one", 100 * MS);
    assertThat(hold.hold(2, "two", 300 * MS)).isEqualTo(300 * MS);
    assertThat(hold.hold(3, "three", 200 * MS)).isEqualTo(300 * MS);
    assertThat(hold.release(250 * MS)).isEmpty();
    assertThat(hold.release(300 * MS)).hasSize(1);
  }

  @Test
  void writesResumedReleasesEverythingAtOnceAndASettledSendIsForgotten() {
    SendHold hold = new SendHold();
    hold.hold(1, "one", 5_000 * MS);
    hold.admit(2, "two");
    hold.admit(3, "three");
    assertThat(hold.settled(2)).as("acknowledged on an earlier attempt").isEmpty();
    assertThat(hold.releaseAll()).extracting(Map.Entry::getValue).containsExactly("one", "three");
    assertThat(hold.admit(4, "four")).isTrue();
  }

  @Test
  void aHoldWithNothingLeftToSendOpensWhenItEnds() {
    SendHold hold = new SendHold();
    hold.hold(1, "one", 100 * MS);
    hold.settled(1);
    assertThat(hold.release(100 * MS)).isEmpty();
    assertThat(hold.admit(2, "two")).isTrue();
  }

  @Test
  void theHoldSurvivesTheWrapOfTheNanoClock() {
    SendHold hold = new SendHold();
    long nearWrap = Long.MAX_VALUE - 50 * MS;
    long until = hold.hold(1, "one", nearWrap + 100 * MS); // wraps to a negative value
    assertThat(hold.release(nearWrap)).isEmpty();
    assertThat(hold.release(until)).hasSize(1);
  }
}
