package dev.parley.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * What the inbox bench seeds for one user with {@code size} conversations, by deterministic names,
 * so a second run finds the first run's data and seeds only what is missing: the user
 * {@code <prefix>-u<size>}, conversation {@code i} is {@code <prefix>-u<size>-c<i>} with the user
 * (its creator) and one peer of its own {@code <prefix>-u<size>-p<i>}, and every
 * {@code messageEvery}-th conversation has one message from the user (seq 2, after the
 * conversation_created event at seq 1), so that some items carry a preview.
 */
public record InboxSeedPlan(String prefix, int size, int messageEvery) {

  /** The seq a seeded message gets: the create is seq 1. */
  static final long MESSAGE_SEQ = 2;

  public InboxSeedPlan {
    if (!prefix.matches("[A-Za-z0-9._:-]{1,40}")) {
      throw new IllegalArgumentException("--prefix must be 1-40 characters of A-Z a-z 0-9 . _ : -");
    }
    if (size < 1) throw new IllegalArgumentException("a seeded user needs at least 1 conversation");
    if (messageEvery < 1) throw new IllegalArgumentException("--message-every must be at least 1");
  }

  public String user() {
    return prefix + "-u" + size;
  }

  public String conversation(int i) {
    return user() + "-c" + i;
  }

  public String peer(int i) {
    return user() + "-p" + i;
  }

  public boolean hasMessage(int i) {
    return i % messageEvery == 0;
  }

  /** The index of one of this plan's conversation ids, or -1 for any other id. */
  public int indexOf(String conversation) {
    String stem = user() + "-c";
    if (!conversation.startsWith(stem)) return -1;
    try {
      int i = Integer.parseInt(conversation.substring(stem.length()));
      return i >= 0 && i < size && conversation.equals(conversation(i)) ? i : -1;
    } catch (NumberFormatException e) {
      return -1;
    }
  }

  /** One seeding step: create conversation {@code index} (idempotent), and/or post its message. */
  public record Step(int index, boolean create, boolean message) {}

  /**
   * What is left to do, given what the user's inbox shows ({@code lastSeqByConversation}: each
   * conversation id and its lastSeq as an inbox page gave it): conversations missing from the
   * inbox are created, and those that should carry a message but stand at seq 1 get it. Both are
   * idempotent on the server (a creator's create is accepted again; a retried clientMsgId posts
   * nothing), so a read model that lags only makes a step redundant, never wrong.
   */
  public List<Step> missing(Map<String, Long> lastSeqByConversation) {
    List<Step> steps = new ArrayList<>();
    for (int i = 0; i < size; i++) {
      Long lastSeq = lastSeqByConversation.get(conversation(i));
      boolean create = lastSeq == null;
      boolean message = hasMessage(i) && (lastSeq == null || lastSeq < MESSAGE_SEQ);
      if (create || message) steps.add(new Step(i, create, message));
    }
    return steps;
  }

  /** The seeding is complete when every conversation is in the inbox, with its message where planned. */
  public boolean complete(Map<String, Long> lastSeqByConversation) {
    return missing(lastSeqByConversation).isEmpty();
  }

  /** The clientMsgId of conversation {@code i}'s seeded message: fixed, so a re-run posts nothing twice. */
  public String clientMsgId(int i) {
    return "seed-" + i;
  }
}
