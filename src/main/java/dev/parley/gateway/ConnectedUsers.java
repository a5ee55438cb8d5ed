package dev.parley.gateway;

import dev.parley.auth.Revocations;
import dev.parley.cluster.Drain;
import dev.parley.inbox.Inbox;
import java.util.List;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.eventstream.EventStream;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.pubsub.Topic;

/**
 * The users connected to this node and their sessions (one per device). Revocations close the
 * user's sessions on every node. A drain ({@link Drain.DrainConnections}, on the event stream) is
 * handed to every session from here: one subscription per node, where a subscription per session
 * cost each connection an event-stream entry and a death watch by the stream's unsubscriber, on open
 * and again on close (benchmarks.md, issue 19). Inbox changes are
 * published once per node ({@link Inbox#TOPIC}); this actor hands each to the sessions of the
 * users it concerns, so a connection hears about activity in all of its user's conversations
 * without subscribing to any of them. Connecting costs one map entry, whatever the user's number
 * of conversations, written by the session itself ({@link ConnectedSessions}): no message to this
 * actor per connection.
 */
public final class ConnectedUsers {

  public sealed interface Command {}

  private record Changed(Inbox.Change change) implements Command {}

  private record Revoked(Revocations.Revoked revoked) implements Command {}

  private record DrainStarted(Drain.DrainConnections drain) implements Command {}

  /**
   * Writes work again on this node (its storage breaker closed): every session hears it, and those
   * that answered {@code unavailable} since their last accepted write tell their client.
   */
  public enum WritesResumed implements Command {
    INSTANCE
  }

  private ConnectedUsers() {}

  /**
   * {@code sessions}: this node's sessions, which register and unregister themselves there
   * ({@link ConnectedSessions}); this actor only reads it.
   */
  public static Behavior<Command> create(
      ActorRef<Topic.Command<Inbox.Change>> changes,
      ActorRef<Topic.Command<Revocations.Revoked>> revocations,
      ConnectedSessions sessions) {
    return Behaviors.setup(
        ctx -> {
          changes.tell(Topic.subscribe(ctx.messageAdapter(Inbox.Change.class, Changed::new)));
          revocations.tell(Topic.subscribe(ctx.messageAdapter(Revocations.Revoked.class, Revoked::new)));
          ctx.getSystem()
              .eventStream()
              .tell(new EventStream.Subscribe<>(Drain.DrainConnections.class, ctx.messageAdapter(Drain.DrainConnections.class, DrainStarted::new)));
          Revocations revoked = Revocations.get(ctx.getSystem());
          return Behaviors.receive(Command.class)
              .onMessage(
                  Revoked.class,
                  m -> {
                    // Every open connection of the user was opened with a token issued before now.
                    revoked.apply(m.revoked());
                    sessions.of(m.revoked().user()).forEach(s -> s.tell(Session.Revoke.INSTANCE));
                    return Behaviors.same();
                  })
              .onMessage(
                  DrainStarted.class,
                  m -> {
                    Session.DrainRequested drain = new Session.DrainRequested(m.drain());
                    sessions.forEach(s -> s.tell(drain));
                    return Behaviors.same();
                  })
              .onMessageEquals(
                  WritesResumed.INSTANCE,
                  () -> {
                    sessions.forEach(s -> s.tell(Session.WritesResumed.INSTANCE));
                    return Behaviors.same();
                  })
              .onMessage(
                  Changed.class,
                  m -> {
                    deliver(m.change(), sessions);
                    return Behaviors.same();
                  })
              .build();
        });
  }

  /** Work per change is bounded by the conversation's members, each a map lookup. */
  private static void deliver(Inbox.Change change, ConnectedSessions sessions) {
    if (sessions.isEmpty()) return;
    for (Inbox.Position member : change.members()) {
      List<ActorRef<Session.Command>> ofUser = sessions.of(member.user());
      if (ofUser.isEmpty()) continue;
      Session.InboxUpdated update =
          new Session.InboxUpdated(
              new Inbox.Item(change.summary(), member.lastActivity(), member.readSeq(), member.unread(), member.muted()), null);
      ofUser.forEach(session -> session.tell(update));
    }
    for (String user : change.removed()) {
      List<ActorRef<Session.Command>> ofUser = sessions.of(user);
      if (ofUser.isEmpty()) continue;
      Session.InboxUpdated removed = new Session.InboxUpdated(null, change.summary().conversation());
      ofUser.forEach(session -> session.tell(removed));
    }
  }
}
