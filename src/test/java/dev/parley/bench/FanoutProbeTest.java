package dev.parley.bench;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.parley.bench.ProtocolSocket.Received;
import org.junit.jupiter.api.Test;

class FanoutProbeTest {

  private static final ObjectMapper JSON = new ObjectMapper();

  private static Received update(String conversation, long lastSeq, long arrived) {
    return new Received(JSON.createObjectNode().put("type", "inbox_update").put("conversation", conversation).put("lastSeq", lastSeq), arrived);
  }

  @Test
  void completesWhenTheLastMemberSawTheSeqWithTheTimeFromTheSend() {
    InboxBench.FanoutProbe probe = new InboxBench.FanoutProbe("c", 3);
    probe.expect(5);
    probe.sentNanos = 1_000;

    probe.onPush(0, update("c", 5, 2_000));
    probe.onPush(0, update("c", 6, 2_500)); // the same member again does not count twice
    probe.onPush(1, update("c", 5, 3_000));
    assertThat(probe.allArrived).isNotDone();
    probe.onPush(2, update("c", 7, 9_000)); // a later seq includes the expected one

    assertThat(probe.allArrived).isCompletedWithValue(8_000L);
  }

  @Test
  void ignoresOlderSeqsOtherConversationsAndOtherFrames() {
    InboxBench.FanoutProbe probe = new InboxBench.FanoutProbe("c", 1);
    probe.expect(5);

    probe.onPush(0, update("c", 4, 10));
    probe.onPush(0, update("other", 9, 10));
    probe.onPush(0, new Received(JSON.createObjectNode().put("type", "message").put("conversation", "c").put("lastSeq", 9), 10));

    assertThat(probe.allArrived).isNotDone();
  }

  @Test
  void expectingTheNextSeqStartsOver() {
    InboxBench.FanoutProbe probe = new InboxBench.FanoutProbe("c", 1);
    probe.expect(1);
    probe.onPush(0, update("c", 1, 10));
    assertThat(probe.allArrived).isDone();

    probe.expect(2);
    probe.onPush(0, update("c", 1, 20)); // late duplicate of the previous seq
    assertThat(probe.allArrived).isNotDone();
    probe.onPush(0, update("c", 2, 30));
    assertThat(probe.allArrived).isDone();
  }
}
