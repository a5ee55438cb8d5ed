package dev.parley.conversation;

import dev.parley.conversation.Conversation.Command;
import dev.parley.conversation.Conversation.Update;
import java.util.HashMap;
import java.util.Map;
import java.util.function.Function;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.javadsl.ActorContext;

/**
 * The live subscribers of one conversation entity and the user each reads for. Transient, not part
 * of the persistent state: a subscriber watches the entity and subscribes again (with
 * {@code since}) when it stops, moves or passivates; the entity watches each subscriber and is told
 * (the message {@code gone} builds) when one stops.
 */
final class Subscribers {

  private final ActorContext<Command> ctx;
  private final Function<ActorRef<Update>, Command> gone;
  private final Map<ActorRef<Update>, String> users = new HashMap<>();
  /** The newest tag each subscriber subscribed with; see {@link Conversation.Unsubscribe}. */
  private final Map<ActorRef<Update>, Long> tags = new HashMap<>();

  Subscribers(ActorContext<Command> ctx, Function<ActorRef<Update>, Command> gone) {
    this.ctx = ctx;
    this.gone = gone;
  }

  void add(ActorRef<Update> subscriber, String user, long tag) {
    if (users.put(subscriber, user) == null) ctx.watchWith(subscriber, gone.apply(subscriber));
    tags.merge(subscriber, tag, Math::max);
  }

  /** Ends the subscription unless it was renewed with a tag above {@code upToTag}. */
  void unsubscribe(ActorRef<Update> subscriber, long upToTag) {
    if (tags.getOrDefault(subscriber, Long.MIN_VALUE) > upToTag) return;
    remove(subscriber);
  }

  void remove(ActorRef<Update> subscriber) {
    tags.remove(subscriber);
    if (users.remove(subscriber) != null) ctx.unwatch(subscriber);
  }

  /** A former member reads no more: every subscription of theirs ends. */
  void removeUser(String user) {
    users.entrySet().removeIf(e -> {
      if (!e.getValue().equals(user)) return false;
      ctx.unwatch(e.getKey());
      tags.remove(e.getKey());
      return true;
    });
  }

  boolean isEmpty() {
    return users.isEmpty();
  }

  void tellAll(Update update) {
    users.keySet().forEach(subscriber -> subscriber.tell(update));
  }

  /** To everyone but {@code user}'s own subscriptions (typing, read receipts). */
  void tellOthers(String user, Update update) {
    users.forEach((subscriber, reader) -> {
      if (!reader.equals(user)) subscriber.tell(update);
    });
  }
}
