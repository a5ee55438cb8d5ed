package dev.parley.conversation;

import static org.assertj.core.api.Assertions.assertThat;

import com.typesafe.config.ConfigFactory;
import dev.parley.conversation.Conversation.Command;
import dev.parley.conversation.Conversation.Create;
import dev.parley.conversation.Conversation.Reply;
import dev.parley.conversation.Conversation.Send;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.persistence.testkit.javadsl.EventSourcedBehaviorTestKit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/**
 * The push side of issue 17: after each write (a batch of one here: commands one at a time) the
 * conversation tells the node's listener (the bots' wake-ups) its last event and the members, and a
 * command that writes nothing tells it nothing.
 */
class PersistedEventsTest {

  // A generous expect timeout: the testkit's first handshake with the entity timed out after 3 s on
  // this shared machine under load.
  private static final ActorTestKit testKit =
      ActorTestKit.create(
          ConfigFactory.parseString("pekko.actor.testkit.typed.single-expect-default = 15s")
              .withFallback(ConfigFactory.parseResources("serialization.conf"))
              .withFallback(EventSourcedBehaviorTestKit.config()));

  private static final ConversationSettings SETTINGS =
      new ConversationSettings(4, 3, 3, Duration.ofHours(1), Duration.ofSeconds(3), Duration.ZERO);

  record Heard(String conversation, Set<String> members, long seq) {}

  @AfterAll
  static void shutdown() {
    testKit.shutdownTestKit();
  }

  @Test
  void everyPersistedEventIsToldToTheListenerWithTheMembersAndNothingElseIs() {
    TestProbe<Heard> heard = testKit.createTestProbe(Heard.class);
    PersistedEvents.get(testKit.system())
        .listen((conversation, members, event) -> heard.ref().tell(new Heard(conversation, Set.copyOf(members), event.seq())));
    String id = "c-" + UUID.randomUUID();
    EventSourcedBehaviorTestKit<Command, TimelineEvent, ConversationState> conversation =
        EventSourcedBehaviorTestKit.create(testKit.system(), Conversation.create(id, ProjectionTags.of(id), SETTINGS, Clock.systemUTC(), self -> {}));

    conversation.<Reply>runCommand(replyTo -> new Create("alice", List.of("bot:echo"), "t", replyTo));
    assertThat(heard.receiveMessage()).isEqualTo(new Heard(id, Set.of("alice", "bot:echo"), 1));

    conversation.<Reply>runCommand(replyTo -> new Send("alice", "m-1", "hello", replyTo));
    assertThat(heard.receiveMessage()).isEqualTo(new Heard(id, Set.of("alice", "bot:echo"), 2));

    // A retried send (same clientMsgId) and a stranger's send persist nothing: nobody is woken.
    conversation.<Reply>runCommand(replyTo -> new Send("alice", "m-1", "hello", replyTo));
    conversation.<Reply>runCommand(replyTo -> new Send("mallory", "m-2", "hi", replyTo));
    heard.expectNoMessage(Duration.ofMillis(200));
  }
}
