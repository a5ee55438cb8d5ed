package dev.parley.presence;

import dev.parley.conversation.Conversations;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.pekko.Done;
import org.apache.pekko.actor.CoordinatedShutdown;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Extension;
import org.apache.pekko.actor.typed.ExtensionId;
import org.apache.pekko.actor.typed.Props;

/**
 * This node's entry to presence: the calls a connection makes (it connected, went away, watches a
 * room...) and a read-only view of everyone's presence as this node knows it. Every call is a
 * message to the node's {@link PresenceHub}, so none blocks; before {@link #start} (an actor system
 * without presence, as in some unit tests) they do nothing.
 */
public final class Presence implements Extension {

  private final Map<String, UserPresence> view = new ConcurrentHashMap<>();
  private volatile ActorRef<PresenceHub.Command> hub;
  private volatile PresenceSettings settings = PresenceSettings.DEFAULTS;

  private Presence() {}

  public static Presence get(ActorSystem<?> system) {
    return Id.INSTANCE.apply(system);
  }

  /** Starts the node's hub (Node, once); {@code conversations} answers the member lists of watched rooms. */
  public void start(ActorSystem<?> system, PresenceSettings settings, Conversations conversations) {
    this.settings = settings;
    ActorRef<PresenceHub.Command> started = system.systemActorOf(PresenceHub.create(settings, conversations, view), "presence", Props.empty());
    this.hub = started;
    // A leaving node closes all its connections; each would become a batch the survivors ignore
    // once the node is removed, and they show its users offline when it is removed anyway.
    CoordinatedShutdown.get(system)
        .addTask(
            CoordinatedShutdown.PhaseClusterExiting(),
            "parley-presence-stop-writing",
            () -> {
              // Told, not asked: a hub already stopped (its node downed first) has nothing left to
              // write, and an ask to it failed the phase with a warning on every such shutdown.
              started.tell(new PresenceHub.StopWriting(system.ignoreRef()));
              return CompletableFuture.completedFuture(Done.getInstance());
            });
  }

  public PresenceSettings settings() {
    return settings;
  }

  /** A user's presence as this node sees it (converges on every node within a write interval and a message). */
  public UserPresence of(String user) {
    UserPresence known = view.get(user);
    return known != null ? known : UserPresence.unknown(user);
  }

  /** A connection of {@code user} opened: its frames come to {@code connection}. */
  public void connected(String user, ActorRef<PresenceHub.Batch> connection) {
    tell(new PresenceHub.Connected(user, connection));
  }

  /** Must be called when the connection ends (the session's PostStop). */
  public void disconnected(ActorRef<PresenceHub.Batch> connection) {
    tell(new PresenceHub.Disconnected(connection));
  }

  public void setAway(ActorRef<PresenceHub.Batch> connection, boolean away) {
    tell(new PresenceHub.SetAway(connection, away));
  }

  /**
   * The connection wants the presence changes of {@code room}'s members: counts only, the members
   * in {@code users} (null: every member). Only for a room it is subscribed to (the caller checks).
   */
  public void watch(ActorRef<PresenceHub.Batch> connection, String user, String room, boolean countsOnly, Set<String> users) {
    tell(new PresenceHub.Watch(connection, user, room, countsOnly, users));
  }

  public void unwatch(ActorRef<PresenceHub.Batch> connection, String room) {
    tell(new PresenceHub.Unwatch(connection, room));
  }

  /** A member joined or left {@code room} (a timeline event a connection of this node received). */
  public void membershipChanged(String room, String user, boolean joined) {
    tell(new PresenceHub.MembershipChanged(room, user, joined));
  }

  /** For tests: the node's hub, null before {@link #start}. */
  ActorRef<PresenceHub.Command> hub() {
    return hub;
  }

  private void tell(PresenceHub.Command command) {
    ActorRef<PresenceHub.Command> h = hub;
    if (h != null) h.tell(command);
  }

  public static final class Id extends ExtensionId<Presence> {
    static final Id INSTANCE = new Id();

    @Override
    public Presence createExtension(ActorSystem<?> system) {
      return new Presence();
    }
  }
}
