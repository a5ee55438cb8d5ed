package dev.parley.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;
import org.junit.jupiter.api.Test;

class SendHoldTest {

  private static final long MS = 1_000_000L;
  /** The protocol's rule: at most 32 in flight, an answer within 250 ms of the quickest widens the window. */
  private static final SendHold.Rule RULE = SendHold.Rule.PROTOCOL;
  private static final long PROMPT = RULE.promptNanos();

  @Test
  void aConnectionStartsWithOneSendInFlightAndEachPromptAnswerLetsOneMoreOut() {
    SendHold hold = new SendHold();
    assertThat(hold.remainingNanos(0)).isZero();
    assertThat(hold.admit(1, "s1", 0)).isTrue();
    for (long i = 2; i <= 20; i++) assertThat(hold.admit(i, "s" + i, 0)).isFalse();
    assertThat(hold.size()).isEqualTo(19);

    assertThat(hold.settled(1, 10 * MS)).as("window 2").extracting(Map.Entry::getKey).containsExactly(2L, 3L);
    assertThat(hold.settled(2, 20 * MS)).as("window 3").extracting(Map.Entry::getKey).containsExactly(4L, 5L);
    assertThat(hold.settled(3, 20 * MS)).as("window 4: doubled in a round trip").extracting(Map.Entry::getKey).containsExactly(6L, 7L);
    assertThat(hold.window()).isEqualTo(4);
    assertThat(hold.inFlight()).isEqualTo(4);
  }

  @Test
  void anAnswerSlowerThanTheQuickestByMoreThanThePromptTimeLeavesTheWindowAsItIs() {
    SendHold hold = new SendHold();
    hold.admit(1, "s1", 0);
    for (long i = 2; i <= 5; i++) hold.admit(i, "s" + i, 0);
    long now = 10 * MS;
    hold.settled(1, now); // the quickest answer: 10 ms; window 2, sends 2 and 3 out
    long sent = now;
    now = sent + 10 * MS + PROMPT + 1;
    assertThat(hold.settled(2, now)).as("room for one more, not two").extracting(Map.Entry::getKey).containsExactly(4L);
    assertThat(hold.window()).isEqualTo(2);
    now = sent + 10 * MS + PROMPT;
    assertThat(hold.settled(3, now)).as("within the prompt time of the quickest").extracting(Map.Entry::getKey).containsExactly(5L);
    assertThat(hold.window()).isEqualTo(3);
  }

  @Test
  void anAnswerSlowerThanTheQuickestByMoreThanTheNodesWaitHalvesTheWindowOncePerRoundTrip() {
    SendHold hold = new SendHold();
    for (long i = 1; i <= 40; i++) hold.admit(i, "s" + i, 0);
    for (long i = 1; i <= 7; i++) hold.settled(i, 0);
    assertThat(hold.window()).isEqualTo(8);
    long slow = RULE.slowNanos() + 1;
    // Sends 8 to 15 went out at 0; their answers come slow: the window is halved once for them all.
    assertThat(hold.settled(8, slow)).isEmpty();
    assertThat(hold.window()).isEqualTo(4);
    hold.settled(9, slow);
    assertThat(hold.window()).as("sent before the cut").isEqualTo(4);
    hold.settled(10, slow + 100 * MS);
    hold.settled(11, slow + 100 * MS);
    assertThat(hold.settled(12, slow + 100 * MS)).as("room in the window again").extracting(Map.Entry::getKey).containsExactly(16L);
    // A send that went out after the cut and is answered slowly too: halved again.
    hold.settled(16, slow + 100 * MS + slow);
    assertThat(hold.window()).isEqualTo(2);
  }

  @Test
  void aLongLinkIsNotKeptAtOneSendInFlight() {
    SendHold hold = new SendHold();
    hold.admit(1, "s1", 0);
    for (long i = 2; i <= 4; i++) hold.admit(i, "s" + i, 0);
    long roundTrip = 2 * PROMPT;
    hold.settled(1, roundTrip);
    assertThat(hold.settled(2, 2 * roundTrip)).extracting(Map.Entry::getKey).containsExactly(4L);
    assertThat(hold.window()).isEqualTo(3);
  }

  @Test
  void theWindowNeverExceedsWhatTheNodeProcessesPerConnection() {
    SendHold hold = new SendHold();
    for (long i = 0; i < 1_000; i++) hold.admit(i, "s" + i, 0);
    for (long i = 0; i < 500; i++) {
      hold.settled(i, 0);
      assertThat(hold.inFlight()).isLessThanOrEqualTo(RULE.maxWindow());
    }
    assertThat(hold.window()).isEqualTo(RULE.maxWindow());
    assertThat(hold.inFlight()).isEqualTo(RULE.maxWindow());
  }

  @Test
  void aRefusalHoldsEverySendUntilTheHintHasPassedThenSendsOldestFirst() {
    SendHold hold = new SendHold();
    hold.admit(5, "five", 0);
    assertThat(hold.hold(5, "five", 1_000 * MS)).isEqualTo(1_000 * MS);
    assertThat(hold.admit(6, "six", 10 * MS)).as("the window has room, but the hint holds it").isFalse();
    assertThat(hold.admit(7, "seven", 20 * MS)).isFalse();
    assertThat(hold.size()).isEqualTo(3);

    assertThat(hold.remainingNanos(600 * MS)).isEqualTo(400 * MS);
    assertThat(hold.release(999 * MS)).as("the hint has not passed").isEmpty();
    assertThat(hold.release(1_000 * MS)).extracting(Map.Entry::getValue).containsExactly("five");
    assertThat(hold.admit(8, "eight", 1_000 * MS)).as("the rest waits for room in the window").isFalse();
    assertThat(hold.admit(5, "five", 1_000 * MS)).as("the one in flight may be resent").isTrue();
  }

  @Test
  void aRefusalHalvesTheWindowOnceHoweverManySendsInFlightAreRefused() {
    SendHold hold = new SendHold();
    for (long i = 1; i <= 40; i++) hold.admit(i, "s" + i, 0);
    long next = 1;
    // Eight prompt answers: window 9.
    for (int i = 0; i < 8; i++) hold.settled(next++, 0);
    assertThat(hold.window()).isEqualTo(9);
    int inFlight = hold.inFlight();

    hold.hold(next, "s" + next, 500 * MS);
    hold.hold(next + 1, "s" + (next + 1), 400 * MS);
    hold.hold(next + 2, "s" + (next + 2), 600 * MS);
    assertThat(hold.window()).isEqualTo(4);
    // The other sends in flight are answered during the hold; they let nothing out nor widen the window.
    for (long i = next + 3; i < next + inFlight; i++) assertThat(hold.settled(i, 450 * MS)).isEmpty();
    assertThat(hold.window()).isEqualTo(4);
    assertThat(hold.release(599 * MS)).isEmpty();
    assertThat(hold.release(600 * MS)).extracting(Map.Entry::getKey).containsExactly(next, next + 1, next + 2, next + inFlight);
  }

  @Test
  void theWindowIsKeptOnceTheConnectionHasCaughtUp() {
    SendHold hold = new SendHold();
    for (long i = 1; i <= 3; i++) hold.admit(i, "s" + i, 0);
    hold.settled(1, 0);
    hold.settled(2, 0);
    hold.settled(3, 0);
    assertThat(hold.window()).isEqualTo(4);
    assertThat(hold.size()).isZero();
    for (long i = 4; i <= 7; i++) assertThat(hold.admit(i, "s" + i, 0)).as("caught up: up to the window at once").isTrue();
    assertThat(hold.admit(8, "s8", 0)).isFalse();
  }

  @Test
  void aSendAcknowledgedOnAnEarlierAttemptIsForgottenAndOpensNothing() {
    SendHold hold = new SendHold();
    hold.admit(5, "five", 0);
    hold.hold(5, "five", 0);
    hold.admit(6, "six", 0);
    hold.admit(7, "seven", 0);
    assertThat(hold.release(0)).extracting(Map.Entry::getValue).containsExactly("five");
    assertThat(hold.settled(7, 0)).as("held, not in flight").isEmpty();
    assertThat(hold.window()).isEqualTo(1);
    assertThat(hold.settled(5, 0)).extracting(Map.Entry::getValue).containsExactly("six");
  }

  @Test
  void heldSendsGoOutOldestFirstAndOnceEach() {
    SendHold hold = new SendHold();
    hold.hold(9, "nine", 100 * MS);
    // A send refused later but older (answered late), and the same send held twice.
    hold.hold(3, "three", 100 * MS);
    assertThat(hold.admit(9, "nine", 0)).isFalse();
    assertThat(hold.release(100 * MS)).extracting(Map.Entry::getKey).containsExactly(3L);
    assertThat(hold.settled(3, 100 * MS)).extracting(Map.Entry::getKey).containsExactly(9L);
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
  void writesResumedEndsTheHoldAtOnceAndASettledSendIsForgotten() {
    SendHold hold = new SendHold();
    hold.hold(1, "one", 5_000 * MS);
    hold.admit(2, "two", 0);
    hold.admit(3, "three", 0);
    assertThat(hold.holds(2)).isTrue();
    assertThat(hold.settled(2, 0)).as("acknowledged on an earlier attempt").isEmpty();
    assertThat(hold.holds(2)).isFalse();
    assertThat(hold.releaseAll(0)).extracting(Map.Entry::getValue).containsExactly("one");
    assertThat(hold.settled(1, 0)).extracting(Map.Entry::getValue).containsExactly("three");
  }

  @Test
  void aHoldWithNothingLeftToSendLetsTheNextSendOutWhenItEnds() {
    SendHold hold = new SendHold();
    hold.hold(1, "one", 100 * MS);
    hold.settled(1, 0);
    assertThat(hold.release(100 * MS)).isEmpty();
    assertThat(hold.admit(2, "two", 100 * MS)).isTrue();
  }

  @Test
  void theHoldSurvivesTheWrapOfTheNanoClock() {
    SendHold hold = new SendHold();
    long nearWrap = Long.MAX_VALUE - 50 * MS;
    long until = hold.hold(1, "one", nearWrap + 100 * MS); // wraps to a negative value
    assertThat(hold.release(nearWrap)).isEmpty();
    hold.admit(2, "two", nearWrap);
    assertThat(hold.release(until)).hasSize(1);
    assertThat(hold.settled(1, until + 10 * MS)).as("an answer across the wrap").hasSize(1);
    assertThat(hold.window()).isEqualTo(2);
  }
}
