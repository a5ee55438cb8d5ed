package dev.parley.conversation;

import static org.assertj.core.api.Assertions.assertThat;

import com.typesafe.config.ConfigFactory;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.persistence.testkit.javadsl.EventSourcedBehaviorTestKit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/**
 * Idle conversations passivate, but never while someone is subscribed: the entity asks its shard
 * to passivate it only when it has had no command for the idle timeout and has no subscriber.
 */
class ConversationPassivationTest {

  private static final ActorTestKit testKit =
      ActorTestKit.create(ConfigFactory.parseResources("serialization.conf").withFallback(EventSourcedBehaviorTestKit.config()));

  private static final Duration IDLE = Duration.ofMillis(300);
  private static final ConversationSettings SETTINGS =
      new ConversationSettings(8, 8, 100, IDLE, Duration.ofSeconds(3), Duration.ZERO);

  @AfterAll
  static void shutdown() {
    testKit.shutdownTestKit();
  }

  @Test
  void anIdleConversationWithoutSubscribersAsksToPassivate() {
    TestProbe<ActorRef<Conversation.Command>> shard = testKit.createTestProbe();
    ActorRef<Conversation.Command> conversation = start(shard);
    create(conversation);

    ActorRef<Conversation.Command> passivated = shard.expectMessageClass(ActorRef.class, Duration.ofSeconds(5));
    assertThat(passivated).isEqualTo(conversation);
  }

  @Test
  void aSubscribedConversationStaysUntilItsLastSubscriberLeaves() {
    TestProbe<ActorRef<Conversation.Command>> shard = testKit.createTestProbe();
    ActorRef<Conversation.Command> conversation = start(shard);
    create(conversation);
    TestProbe<Conversation.Update> subscriber = testKit.createTestProbe();
    conversation.tell(new Conversation.Subscribe("alice", -1, subscriber.ref(), 1));
    subscriber.expectMessageClass(Conversation.Subscribed.class);

    // Several idle timeouts pass with a subscriber: no passivation.
    shard.expectNoMessage(IDLE.multipliedBy(5));

    conversation.tell(new Conversation.Unsubscribe(subscriber.ref(), Conversation.Unsubscribe.ALL));
    assertThat(shard.expectMessageClass(ActorRef.class, Duration.ofSeconds(5))).isEqualTo(conversation);
  }

  @Test
  void theStopMessageOfHandoffAndPassivationLetsQueuedSendsFinishFirst() {
    TestProbe<ActorRef<Conversation.Command>> shard = testKit.createTestProbe();
    ActorRef<Conversation.Command> conversation = start(shard);
    create(conversation);
    TestProbe<Conversation.Reply> replies = testKit.createTestProbe();
    for (int i = 0; i < 5; i++) {
      conversation.tell(new Conversation.Send("alice", "m" + i, "queued " + i, replies.ref()));
    }
    conversation.tell(Conversation.Stop.INSTANCE);

    for (int i = 0; i < 5; i++) {
      Conversation.Sent sent = replies.expectMessageClass(Conversation.Sent.class);
      assertThat(sent.seq()).isEqualTo(2 + i);
      assertThat(sent.clientMsgId()).isEqualTo("m" + i);
    }
    replies.expectTerminated(conversation);
  }

  private static ActorRef<Conversation.Command> start(TestProbe<ActorRef<Conversation.Command>> shard) {
    String id = "p-" + UUID.randomUUID();
    return testKit.spawn(
        Conversation.create(id, ProjectionTags.of(id), SETTINGS, Clock.systemUTC(), self -> shard.ref().tell(self)));
  }

  private static void create(ActorRef<Conversation.Command> conversation) {
    TestProbe<Conversation.Reply> reply = testKit.createTestProbe();
    conversation.tell(new Conversation.Create("alice", List.of("bob"), null, reply.ref()));
    // The first command of a fresh actor system also starts its persistence plugin and the node's
    // metrics registry: on a loaded 2-core machine that took longer than the probe's default 3 s.
    assertThat(reply.expectMessageClass(Conversation.Accepted.class, Duration.ofSeconds(30)).seq()).isEqualTo(1);
  }
}
