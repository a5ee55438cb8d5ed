package dev.parley.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import com.typesafe.config.ConfigFactory;
import dev.parley.auth.Revocations;
import dev.parley.inbox.Inbox;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.pubsub.Topic;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/**
 * {@link ConnectedUsers} knows a session from the moment it is added to {@link ConnectedSessions}
 * until it is removed (by the session itself, when it starts and in its PostStop; no message, no
 * death watch): after it, the session hears nothing more, and the user's other sessions still do.
 */
class ConnectedUsersTest {
  /** Only Pekko's own defaults: application.conf would start cluster remoting on a fixed port. */
  private static final ActorTestKit testKit = ActorTestKit.create(ConfigFactory.empty());

  @AfterAll
  static void shutdown() {
    testKit.shutdownTestKit();
  }

  private static ActorRef<ConnectedUsers.Command> connectedUsers(ConnectedSessions sessions) {
    TestProbe<Topic.Command<Inbox.Change>> changes = testKit.createTestProbe();
    TestProbe<Topic.Command<Revocations.Revoked>> revocations = testKit.createTestProbe();
    return testKit.spawn(ConnectedUsers.create(changes.ref(), revocations.ref(), sessions));
  }

  @Test
  void aDisconnectedSessionHearsNothingMoreWhileTheUsersOtherSessionDoes() {
    ConnectedSessions sessions = new ConnectedSessions();
    ActorRef<ConnectedUsers.Command> users = connectedUsers(sessions);
    TestProbe<Session.Command> phone = testKit.createTestProbe();
    TestProbe<Session.Command> laptop = testKit.createTestProbe();
    sessions.add("ada", phone.ref());
    sessions.add("ada", laptop.ref());
    users.tell(ConnectedUsers.WritesResumed.INSTANCE);
    phone.expectMessage(Session.WritesResumed.INSTANCE);
    laptop.expectMessage(Session.WritesResumed.INSTANCE);

    sessions.remove("ada", phone.ref());
    users.tell(ConnectedUsers.WritesResumed.INSTANCE);
    laptop.expectMessage(Session.WritesResumed.INSTANCE);
    phone.expectNoMessage(Duration.ofMillis(200));

    sessions.remove("ada", laptop.ref());
    assertThat(sessions.users()).as("a user without sessions leaves no entry").isZero();
  }

  /** Sessions of several users come and go from many threads at once (the sessions' own): none is lost or left behind. */
  @Test
  void sessionsAddedAndRemovedConcurrentlyAreAllAccountedFor() throws Exception {
    ConnectedSessions sessions = new ConnectedSessions();
    List<TestProbe<Session.Command>> probes = new ArrayList<>();
    for (int i = 0; i < 400; i++) probes.add(testKit.createTestProbe());
    ExecutorService threads = Executors.newFixedThreadPool(4);
    try {
      List<Future<?>> done = new ArrayList<>();
      for (int i = 0; i < probes.size(); i++) {
        TestProbe<Session.Command> probe = probes.get(i);
        String user = "user-" + (i % 10);
        boolean stays = (i / 10) % 2 == 0; // half of each user's 40 sessions
        done.add(threads.submit(() -> {
          sessions.add(user, probe.ref());
          if (!stays) sessions.remove(user, probe.ref());
        }));
      }
      for (Future<?> f : done) f.get(10, TimeUnit.SECONDS);
    } finally {
      threads.shutdown();
    }
    for (int u = 0; u < 10; u++) assertThat(sessions.of("user-" + u)).hasSize(20);
    List<ActorRef<Session.Command>> all = new ArrayList<>();
    sessions.forEach(all::add);
    assertThat(all).hasSize(200).doesNotHaveDuplicates();
  }
}
