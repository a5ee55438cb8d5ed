package dev.parley.inbox;

import dev.parley.CborSerializable;
import dev.parley.ErrorCode;
import dev.parley.conversation.Conversation;
import dev.parley.conversation.Conversations;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.pubsub.Topic;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A user's inbox, as the gateway and the HTTP API see it: the user's conversations by last
 * activity, one keyset page at a time, and read markers. Pages come from the read model
 * ({@link InboxStore}) with one indexed query whatever the number of the user's conversations;
 * read markers are checked by the conversation (members only, seq clamped to its last event),
 * stored, and announced to every connection of the user.
 */
public final class Inbox {

  private static final Logger log = LoggerFactory.getLogger(Inbox.class);

  /** Where every node's inbox changes are published (see dev.parley.gateway.ConnectedUsers). */
  public static final String TOPIC = "parley-inbox-changes";

  /** The last message of a conversation as its inbox item shows it; {@code text} null: deleted. */
  public record Preview(long seq, String sender, String text) implements CborSerializable {}

  /** What every member's inbox shows of a conversation. */
  public record Summary(String conversation, String title, long lastSeq, long lastActivity, Preview preview)
      implements CborSerializable {}

  /**
   * One member's position in a conversation; {@code lastActivity} orders the member's inbox;
   * {@code muted}: the member muted its offline notifications (absent from older nodes' changes: false).
   */
  public record Position(String user, long lastActivity, long readSeq, int unread, boolean muted) implements CborSerializable {}

  /** One line of a user's inbox; {@code muted}: the user muted the conversation's offline notifications. */
  public record Item(Summary summary, long lastActivity, long readSeq, int unread, boolean muted) {
    public String conversation() {
      return summary.conversation();
    }

    public Cursor cursor() {
      return new Cursor(lastActivity, summary.conversation());
    }

    public Position positionOf(String user) {
      return new Position(user, lastActivity, readSeq, unread, muted);
    }
  }

  /** {@code next} is where the following page starts; empty on the last page. */
  public record Page(List<Item> items, Optional<Cursor> next) {}

  /**
   * A position in a user's inbox: the (last activity, conversation) of the last item seen. Pages
   * continue strictly below it in that order, so a page never repeats an item of an earlier one;
   * an item that gets new activity meanwhile moves above the cursor, and the client hears of it as
   * an {@code inbox_update} instead.
   */
  public record Cursor(long lastActivity, String conversation) {
    public String encode() {
      String raw = lastActivity + ":" + conversation;
      return Base64.getUrlEncoder().withoutPadding().encodeToString(raw.getBytes(StandardCharsets.UTF_8));
    }

    /** Empty when {@code encoded} is not a cursor this node made. */
    public static Optional<Cursor> decode(String encoded) {
      try {
        String raw = new String(Base64.getUrlDecoder().decode(encoded), StandardCharsets.UTF_8);
        int colon = raw.indexOf(':');
        if (colon < 1 || colon == raw.length() - 1) return Optional.empty();
        return Optional.of(new Cursor(Long.parseLong(raw.substring(0, colon)), raw.substring(colon + 1)));
      } catch (IllegalArgumentException e) {
        return Optional.empty();
      }
    }
  }

  /**
   * Published after the projection (or a read marker) committed: the conversation as it now is,
   * the members whose item changed, and the users it left. Nodes pick the users connected to them.
   */
  public record Change(Summary summary, List<Position> members, List<String> removed) implements CborSerializable {}

  /** An inbox operation that could not be done; {@code code} is what the client is told. */
  public static final class Refused extends RuntimeException {
    private final ErrorCode code;

    public Refused(ErrorCode code, String message) {
      super(message, null, false, false);
      this.code = code;
    }

    public ErrorCode code() {
      return code;
    }
  }

  /** A read marker as stored: {@code item} is empty while the read model has not seen the user join. */
  public record Marked(long seq, Optional<Item> item) {}

  private final InboxStore store;
  private final Executor blocking;
  private final Conversations conversations;
  private final ActorRef<Topic.Command<Change>> changes;

  public Inbox(InboxStore store, Executor blocking, Conversations conversations, ActorRef<Topic.Command<Change>> changes) {
    this.store = store;
    this.blocking = blocking;
    this.conversations = conversations;
    this.changes = changes;
  }

  /** One page of {@code user}'s inbox, newest activity first, after {@code after} when present. */
  public CompletionStage<Page> page(String user, int limit, Optional<Cursor> after) {
    return CompletableFuture.supplyAsync(() -> store.page(user, limit, after), blocking).exceptionally(Inbox::unavailable);
  }

  /**
   * Moves {@code user}'s read position in {@code conversation} to {@code seq} (clamped to the
   * conversation's last seq; lower than before marks messages unread again). The conversation
   * checks membership and tells its other subscribers (read receipt); every connection of the
   * user then receives the item with its new unread count.
   */
  public CompletionStage<Marked> markRead(String user, String conversation, long seq) {
    return conversations
        .markRead(conversation, user, seq)
        .thenComposeAsync(
            reply -> {
              if (reply instanceof Conversation.Rejected rejected) throw new Refused(rejected.code(), rejected.reason());
              long accepted = ((Conversation.Accepted) reply).seq();
              return CompletableFuture.supplyAsync(() -> store.markRead(user, conversation, accepted), blocking)
                  .thenApply(
                      item -> {
                        item.ifPresent(
                            i ->
                                changes.tell(
                                    Topic.publish(new Change(i.summary(), List.of(i.positionOf(user)), List.of()))));
                        return new Marked(accepted, item);
                      });
            },
            blocking)
        .exceptionally(Inbox::unavailable);
  }

  /**
   * Mutes ({@code muted}) or unmutes {@code conversation}'s offline notifications for {@code user}
   * (issue 21). A member setting, private to the user like the read marker, so it is kept with the
   * user's inbox and never in the conversation's timeline, which every member sees. The
   * conversation checks membership (members only); the setting is then stored, and answered, and
   * every connection of the user gets the inbox item with it (another device shows the bell off
   * too). The item is empty while the read model has not seen the user join; the mute holds anyway.
   */
  public CompletionStage<Muted> setMuted(String user, String conversation, boolean muted) {
    return conversations
        .members(conversation, user, null, 1)
        .thenApplyAsync(
            reply -> {
              if (reply instanceof Conversation.Rejected rejected) throw new Refused(rejected.code(), rejected.reason());
              Optional<Item> item = store.setMuted(user, conversation, muted);
              item.ifPresent(i -> changes.tell(Topic.publish(new Change(i.summary(), List.of(i.positionOf(user)), List.of()))));
              return new Muted(muted, item);
            },
            blocking)
        .exceptionally(Inbox::unavailable);
  }

  /** A mute as stored: {@code item} is empty while the read model has not seen the user join. */
  public record Muted(boolean muted, Optional<Item> item) {}

  private static <T> T unavailable(Throwable failure) {
    Throwable cause = failure instanceof CompletionException ? failure.getCause() : failure;
    if (cause instanceof Refused refused) throw refused;
    log.warn("inbox read model unavailable: {}", cause.toString());
    throw new Refused(ErrorCode.UNAVAILABLE, "inbox is unavailable, retry");
  }
}
