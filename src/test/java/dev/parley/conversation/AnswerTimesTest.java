package dev.parley.conversation;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * When a resending ask first resends ({@link AnswerTimes}): after {@code resend-after} while the
 * node answers quickly, later when its answers are slow (a busy node's sends are waiting their
 * turn, not lost), never later than {@code resend-max-interval}, and never when resends are off.
 */
class AnswerTimesTest {

  private static final Duration RESEND_AFTER = Duration.ofMillis(300);
  private static final Duration MAX_INTERVAL = Duration.ofSeconds(1);

  private static void answered(AnswerTimes times, int count, Duration each) {
    for (int i = 0; i < count; i++) times.answered(each.toNanos());
  }

  @Test
  void beforeAnyAnswerTheFirstResendComesAfterResendAfter() {
    assertThat(new AnswerTimes(RESEND_AFTER, MAX_INTERVAL).resendAfter()).isEqualTo(RESEND_AFTER);
  }

  @Test
  void quickAnswersKeepResendAfter() {
    AnswerTimes times = new AnswerTimes(RESEND_AFTER, MAX_INTERVAL);

    answered(times, 100, Duration.ofMillis(5));

    assertThat(times.resendAfter()).isEqualTo(RESEND_AFTER);
  }

  @Test
  void slowAnswersMoveTheFirstResendBeyondThem() {
    AnswerTimes times = new AnswerTimes(RESEND_AFTER, MAX_INTERVAL);

    answered(times, 100, Duration.ofMillis(400));
    answered(times, 1, Duration.ofMillis(500));

    // A send answered in 400-500 ms on this node is not resent at 300 ms.
    assertThat(times.resendAfter()).isGreaterThan(Duration.ofMillis(450)).isLessThanOrEqualTo(MAX_INTERVAL);
  }

  @Test
  void theFirstResendNeverWaitsLongerThanTheMaxInterval() {
    AnswerTimes times = new AnswerTimes(RESEND_AFTER, MAX_INTERVAL);

    answered(times, 10, Duration.ofSeconds(7));

    assertThat(times.resendAfter()).isEqualTo(MAX_INTERVAL);
  }

  @Test
  void resendsThatAreOffStayOff() {
    AnswerTimes times = new AnswerTimes(Duration.ZERO, MAX_INTERVAL);

    answered(times, 10, Duration.ofMillis(800));

    assertThat(times.resendAfter()).isZero();
  }
}
