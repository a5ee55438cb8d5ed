package dev.parley.gateway;

import com.typesafe.config.ConfigFactory;
import dev.parley.auth.Revocations;
import dev.parley.inbox.Inbox;
import java.time.Duration;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.pubsub.Topic;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/**
 * {@link ConnectedUsers} knows a session from its {@link ConnectedUsers.Connected} until its
 * {@link ConnectedUsers.Disconnected} (told by the session's PostStop; no death watch): after it, the
 * session hears nothing more, and the user's other sessions still do.
 */
class ConnectedUsersTest {
  /** Only Pekko's own defaults: application.conf would start cluster remoting on a fixed port. */
  private static final ActorTestKit testKit = ActorTestKit.create(ConfigFactory.empty());

  @AfterAll
  static void shutdown() {
    testKit.shutdownTestKit();
  }

  private static ActorRef<ConnectedUsers.Command> connectedUsers() {
    TestProbe<Topic.Command<Inbox.Change>> changes = testKit.createTestProbe();
    TestProbe<Topic.Command<Revocations.Revoked>> revocations = testKit.createTestProbe();
    return testKit.spawn(ConnectedUsers.create(changes.ref(), revocations.ref()));
  }

  @Test
  void aDisconnectedSessionHearsNothingMoreWhileTheUsersOtherSessionDoes() {
    ActorRef<ConnectedUsers.Command> users = connectedUsers();
    TestProbe<Session.Command> phone = testKit.createTestProbe();
    TestProbe<Session.Command> laptop = testKit.createTestProbe();
    users.tell(new ConnectedUsers.Connected("ada", phone.ref()));
    users.tell(new ConnectedUsers.Connected("ada", laptop.ref()));
    users.tell(ConnectedUsers.WritesResumed.INSTANCE);
    phone.expectMessage(Session.WritesResumed.INSTANCE);
    laptop.expectMessage(Session.WritesResumed.INSTANCE);

    users.tell(new ConnectedUsers.Disconnected("ada", phone.ref()));
    users.tell(ConnectedUsers.WritesResumed.INSTANCE);
    laptop.expectMessage(Session.WritesResumed.INSTANCE);
    phone.expectNoMessage(Duration.ofMillis(200));
  }
}
