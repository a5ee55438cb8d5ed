package dev.parley.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.slf4j.MDC;

/**
 * A session's MDC: the user (and the conversation a message is about) while the session's lines
 * are on, nothing at all while they are off, and nothing left behind on the thread either way.
 */
class SessionMdcTest {

  private static final ActorTestKit testKit = ActorTestKit.create();

  @AfterAll
  static void shutdown() {
    testKit.shutdownTestKit();
  }

  /** What the handler saw in the MDC: user, conversation. */
  record Seen(String user, String conversation) {}

  record Message(String conversation, ActorRef<Seen> replyTo) {}

  private static Behavior<Message> recording() {
    return Behaviors.receiveMessage(
        m -> {
          m.replyTo().tell(new Seen(MDC.get("user"), MDC.get("conversation")));
          return Behaviors.same();
        });
  }

  @Test
  void whileSessionLinesAreOnEveryMessageCarriesTheUserAndItsConversation() {
    ActorRef<Message> session = testKit.spawn(SessionMdc.wrap(Message.class, "alice", Message::conversation, () -> true, recording()));
    TestProbe<Seen> probe = testKit.createTestProbe();

    session.tell(new Message("c1", probe.ref()));
    assertThat(probe.receiveMessage()).isEqualTo(new Seen("alice", "c1"));
    session.tell(new Message(null, probe.ref()));
    assertThat(probe.receiveMessage()).isEqualTo(new Seen("alice", null));
  }

  @Test
  void whileTheyAreOffTheMdcIsNotTouched() {
    AtomicBoolean on = new AtomicBoolean(false);
    ActorRef<Message> session = testKit.spawn(SessionMdc.wrap(Message.class, "alice", Message::conversation, on::get, recording()));
    TestProbe<Seen> probe = testKit.createTestProbe();

    session.tell(new Message("c1", probe.ref()));
    assertThat(probe.receiveMessage()).isEqualTo(new Seen(null, null));
    // Asked per message: a level turned on at run time counts from the next message.
    on.set(true);
    session.tell(new Message("c1", probe.ref()));
    assertThat(probe.receiveMessage()).isEqualTo(new Seen("alice", "c1"));
  }

  @Test
  void theNextActorOnTheThreadFindsNoSessionMdc() {
    ActorRef<Message> session = testKit.spawn(SessionMdc.wrap(Message.class, "alice", Message::conversation, () -> true, recording()));
    ActorRef<Message> other = testKit.spawn(recording());
    TestProbe<Seen> probe = testKit.createTestProbe();

    for (int i = 0; i < 20; i++) {
      session.tell(new Message("c1", probe.ref()));
      other.tell(new Message("c1", probe.ref()));
    }
    int clean = 0;
    for (int i = 0; i < 40; i++) if (probe.receiveMessage().user() == null) clean++;
    assertThat(clean).isEqualTo(20);
  }
}
