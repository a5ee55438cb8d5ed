package dev.parley.gateway;

import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.conversation.Conversation;
import dev.parley.conversation.TimelineEvent;
import java.util.ArrayList;
import java.util.List;
import org.apache.pekko.actor.typed.ActorRef;

/**
 * One conversation a {@link Session} is subscribed to, and where its stream of events stands.
 * The invariant the session keeps with it: the client has received every event with
 * {@code seq <= lastDelivered} exactly once and in order, and nothing above it.
 */
final class Subscription {

  enum Phase {
    /** Waiting for the conversation to answer a subscribe (first, or again after it stopped). */
    PENDING,
    /** Reading missed events from the journal; live events wait in {@link #buffered}. */
    CATCHING_UP,
    LIVE
  }

  final String conversation;
  Phase phase = Phase.PENDING;
  /** Bumped on every subscribe sent to the conversation; answers with an older tag are stale. */
  long tag;
  /** The client's request waiting for {@code subscribed}, or null when the session resubscribes on its own. */
  JsonNode pendingRequest;
  boolean awaitingClient;
  long lastDelivered;
  ActorRef<Conversation.Command> entity;
  /** While catching up: the last seq of the journal part, read in chunks up to here. */
  long replayTo;
  /** Events from memory handed over with {@code Subscribed}, delivered after the journal part. */
  List<TimelineEvent> recent = List.of();
  /** Live events that arrived while catching up; bounded, see {@link #bufferOverflowed}. */
  final List<TimelineEvent> buffered = new ArrayList<>();
  boolean bufferOverflowed;
  int failedAttempts;
  /**
   * The conversation stopped under this subscription (it moved or failed) and the session waits
   * for its moment in the resubscribe spread; activity in the conversation ends the wait early.
   */
  boolean waitingToResubscribe;
  /** The highest seq the inbox has reported for this conversation (its activity), or 0. */
  long newestKnownSeq;

  Subscription(String conversation) {
    this.conversation = conversation;
  }

  boolean isLive() {
    return phase == Phase.LIVE;
  }
}
