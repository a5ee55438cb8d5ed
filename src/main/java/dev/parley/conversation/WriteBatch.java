package dev.parley.conversation;

import dev.parley.ErrorCode;
import dev.parley.conversation.Conversation.Command;
import dev.parley.conversation.Conversation.Rejected;
import dev.parley.conversation.ConversationState.Limits;
import dev.parley.conversation.WriteRules.Decision;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;

/**
 * Group commit for one conversation (issue 18): the write commands that reach the entity while a
 * write is in flight are persisted together, as one atomic list of events (one {@code AtomicWrite},
 * one journal transaction), and every sender is answered with its own seq once that list is durable.
 *
 * <p>How: Pekko's event-sourced entity stashes every command while it writes and, once the write is
 * done, hands the stashed ones back one by one, synchronously, before anything else in its mailbox.
 * After each write the entity sends itself a {@link Conversation.Flush} (which therefore queues
 * behind the stashed commands), and until it arrives writes are only collected here; the flush then
 * decides them in order against the state each leaves behind ({@link WriteRules}) and persists the
 * result in one go. A write that finds the entity idle is persisted at once, so a lone send pays
 * no extra hop; under load the batch grows with the arrival rate times the journal's round trip.
 *
 * <p>Guarantees kept: order and gap-free seq (decided one after another); idempotency, also for a
 * retry that arrives while its first attempt is collected or in flight (the retry is decided
 * against the state that already holds the key, and answered only once that state is durable);
 * deadlines (decided at flush time); persist-then-ack (replies go out after the write). A write
 * that fails stops the entity; every sender of the failed batch and every collected one is then
 * answered {@link ErrorCode#UNAVAILABLE} at once ({@link #abandon()}), and since the batch was one
 * atomic write, none of it is persisted.
 *
 * <p>Mutable and owned by one entity instance, like its subscriber registry: nothing here is state
 * that recovery needs.
 */
final class WriteBatch {

  /**
   * Most commands decided into one write. Bounds one transaction's size and a batch's memory;
   * what is beyond it waits for the next write (a few ms).
   */
  static final int MAX_WRITES = 200;

  /** The result of deciding a list of writes: the events to persist and every sender's answer. */
  record Decided(List<TimelineEvent> events, List<Decision> decisions) {}

  private final ArrayDeque<Command> collected = new ArrayDeque<>();
  private boolean flushRequested;
  private List<Decision> inFlight = List.of();

  /** While a flush is on its way, a write joins the next batch instead of being persisted alone. */
  boolean isCollecting() {
    return flushRequested || !collected.isEmpty();
  }

  void collect(Command write) {
    collected.addLast(write);
  }

  int collectedCount() {
    return collected.size();
  }

  boolean hasCollected() {
    return !collected.isEmpty();
  }

  /** True if the caller must send the flush message (none is on its way yet). */
  boolean requestFlush() {
    if (flushRequested) return false;
    flushRequested = true;
    return true;
  }

  void flushArrived() {
    flushRequested = false;
  }

  /** The oldest collected writes, at most {@code max}. */
  List<Command> take(int max) {
    List<Command> taken = new ArrayList<>(Math.min(max, collected.size()));
    while (taken.size() < max && !collected.isEmpty()) taken.add(collected.pollFirst());
    return taken;
  }

  void started(List<Decision> decisions) {
    inFlight = decisions;
  }

  void completed() {
    inFlight = List.of();
  }

  /**
   * Decides {@code writes} in order, each against the state the ones before it leave behind, so
   * that the second send of a batch gets the seq after the first and a retry finds its key.
   */
  static Decided decide(ConversationState state, List<Command> writes, long now, Limits limits) {
    List<TimelineEvent> events = new ArrayList<>(writes.size());
    List<Decision> decisions = new ArrayList<>(writes.size());
    ConversationState next = state;
    for (Command write : writes) {
      Decision decision = WriteRules.decide(next, write, now);
      decisions.add(decision);
      if (decision.persists()) {
        events.add(decision.event());
        next = next.apply(decision.event(), limits);
      }
    }
    return new Decided(events, decisions);
  }

  /**
   * The entity stops with writes unanswered (its write failed, or it stopped abruptly): every
   * sender of the batch in flight and every collected write is answered {@link ErrorCode#UNAVAILABLE},
   * so clients retry (same clientMsgId) at once instead of waiting out their ask timeout.
   */
  void abandon() {
    Rejected unavailable = new Rejected(ErrorCode.UNAVAILABLE, "the write did not complete, retry");
    for (Decision decision : inFlight) decision.replyTo().tell(unavailable);
    for (Command write : collected) WriteRules.replyTo(write).tell(unavailable);
    inFlight = List.of();
    collected.clear();
  }
}
