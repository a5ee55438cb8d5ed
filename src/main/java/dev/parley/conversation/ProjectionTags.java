package dev.parley.conversation;

import java.util.List;
import java.util.stream.IntStream;

/**
 * The projection tags of the conversation journal: every event of a conversation carries one of
 * {@link #COUNT} tags, chosen by the conversation's id, so that read models are fed by that many
 * independent consumers ({@code dev.parley.storage.TaggedProjection}), each seeing a conversation's
 * events in seq order.
 *
 * <p>The wiring ({@link Conversations#init}) gives each entity its tag, as the Akka CQRS sample's
 * {@code ShoppingCart.init} does: the entity persists and tags, it does not decide how the read side
 * is partitioned. The tags are part of the journal's format: changing {@link #COUNT} or the naming
 * needs a re-tagging of the journal.
 */
public final class ProjectionTags {

  public static final int COUNT = 8;

  private ProjectionTags() {}

  /** The tag with index {@code index} (0 ≤ index < {@link #COUNT}), as the projections' consumers read it. */
  public static String tag(int index) {
    return "conversations-" + index;
  }

  /** Every tag, by index: what the read side runs one consumer for. */
  public static List<String> all() {
    return IntStream.range(0, COUNT).mapToObj(ProjectionTags::tag).toList();
  }

  /** The tag of every event of {@code conversationId}. */
  public static String of(String conversationId) {
    return tag(Math.floorMod(conversationId.hashCode(), COUNT));
  }
}
