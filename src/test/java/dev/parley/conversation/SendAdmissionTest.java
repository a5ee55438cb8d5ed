package dev.parley.conversation;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.OptionalLong;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * Which sends an overloaded node refuses ({@link SendAdmission}), on a clock the test moves: the
 * limit follows the rate at which sends are answered, a refusal says when to come back, and the
 * floor and the hard cap hold whatever the rate.
 */
class SendAdmissionTest {

  private static final long MS = 1_000_000L;
  private final AtomicLong now = new AtomicLong(1_000 * MS);

  private SendAdmission admission(int maxInFlight, Duration maxWait, int minInFlight) {
    return new SendAdmission(new SendAdmission.Settings(maxInFlight, maxWait, minInFlight), now::get);
  }

  /** Admits {@code count} sends, each of which must be admitted. */
  private static void admit(SendAdmission admission, int count) {
    for (int i = 0; i < count; i++) assertThat(admission.tryAdmit()).as("send %d", i).isEmpty();
  }

  /** {@code perSecond} sends admitted and answered for one second, in steps of 10 ms. */
  private void answerSteadily(SendAdmission admission, int perSecond) {
    for (int step = 0; step < 100; step++) {
      now.addAndGet(10 * MS);
      for (int i = 0; i < perSecond / 100; i++) {
        assertThat(admission.tryAdmit()).isEmpty();
        admission.answered();
      }
    }
  }

  @Test
  void aNodeThatHasAnsweredNothingYetAdmitsItsFloorAndRefusesTheNext() {
    SendAdmission admission = admission(1000, Duration.ofMillis(500), 10);

    admit(admission, 10);

    OptionalLong refused = admission.tryAdmit();
    assertThat(refused).isPresent();
    // No rate to go by: the longest hint.
    assertThat(refused.getAsLong()).isEqualTo(SendAdmission.MAX_RETRY_AFTER_MS);
    assertThat(admission.inFlight()).isEqualTo(10);
  }

  @Test
  void sendsInFlightAreLimitedToWhatTheCurrentRateAnswersWithinTheWait() {
    SendAdmission admission = admission(100_000, Duration.ofMillis(500), 10);
    answerSteadily(admission, 1000);

    // 1,000 answers a second and a 500 ms wait: about 500 in flight, not the cap of 100,000.
    int admitted = 0;
    while (admission.tryAdmit().isEmpty()) admitted++;
    assertThat(admitted).isBetween(450, 550);
  }

  @Test
  void aRefusalSaysHowLongTheBacklogNeedsToDrain() {
    SendAdmission admission = admission(100_000, Duration.ofMillis(500), 10);
    answerSteadily(admission, 1000);
    while (admission.tryAdmit().isEmpty()) {
      // fill up to the limit
    }

    OptionalLong retryAfterMs = admission.tryAdmit();

    // ~500 in flight at ~1,000 answers a second: ~500 ms.
    assertThat(retryAfterMs).isPresent();
    assertThat(retryAfterMs.getAsLong()).isBetween(400L, 600L);
  }

  @Test
  void anAnswerMakesRoomForTheNextSend() {
    SendAdmission admission = admission(3, Duration.ZERO, 1);
    admit(admission, 3);
    assertThat(admission.tryAdmit()).isPresent();

    admission.answered();

    assertThat(admission.tryAdmit()).isEmpty();
    assertThat(admission.inFlight()).isEqualTo(3);
  }

  @Test
  void theHardCapHoldsWhateverTheRate() {
    SendAdmission admission = admission(50, Duration.ofSeconds(10), 10);
    answerSteadily(admission, 1000);

    admit(admission, 50);

    assertThat(admission.tryAdmit()).isPresent();
  }

  @Test
  void aStallOfTheNodeDoesNotLowerTheLimit() {
    SendAdmission admission = admission(100_000, Duration.ofMillis(500), 10);
    answerSteadily(admission, 1000);

    // Two seconds without a single answer (a GC pause, a database checkpoint): the sends that pile
    // up meanwhile are admitted as before, since the node will answer them at its usual rate.
    now.addAndGet(2_000 * MS);

    int admitted = 0;
    while (admission.tryAdmit().isEmpty()) admitted++;
    assertThat(admitted).isBetween(450, 550);
  }

  @Test
  void aRateFromLongAgoDoesNotCount() {
    SendAdmission admission = admission(100_000, Duration.ofMillis(500), 10);
    answerSteadily(admission, 1000);

    // A minute without a send, longer than the horizon: the old rate says nothing about the node now; the floor applies.
    now.addAndGet(60_000 * MS);

    admit(admission, 10);
    assertThat(admission.tryAdmit()).isPresent();
  }

  @Test
  void withoutAWaitOnlyTheCapApplies() {
    SendAdmission admission = admission(200, Duration.ZERO, 10);

    admit(admission, 200);

    assertThat(admission.tryAdmit()).isPresent();
  }
}
