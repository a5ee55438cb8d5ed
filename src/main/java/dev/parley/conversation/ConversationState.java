package dev.parley.conversation;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import dev.parley.CborSerializable;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.pcollections.HashTreePMap;
import org.pcollections.HashTreePSet;
import org.pcollections.PMap;
import org.pcollections.PSet;
import org.pcollections.PVector;
import org.pcollections.TreePVector;

/**
 * The in-memory state of one conversation, derived only from its events, immutable, and bounded:
 * it keeps the members, the last seq, a window of the most recent events (served to resumes and
 * history pages without a database read) and a window of recent idempotency keys. It never grows
 * with the length of the conversation, so a conversation with a million messages recovers as fast
 * as one with a thousand.
 *
 * <p>Serialized as its {@link Snapshot} (plain lists), so the state itself passes Pekko's
 * serialization checks and its wire form does not depend on pcollections.
 */
public record ConversationState(
    String title,
    String createdBy,
    PSet<String> members,
    long lastSeq,
    PVector<TimelineEvent> recent,
    PMap<String, Long> sentKeys,
    PVector<String> sentKeyOrder)
    implements CborSerializable {

  /** How much of the past the state keeps; both bounds come from configuration. */
  public record Limits(int recentWindow, int idempotencyWindow) {}

  public static final ConversationState EMPTY =
      new ConversationState(
          null, null, HashTreePSet.empty(), 0, TreePVector.empty(), HashTreePMap.empty(), TreePVector.empty());

  public boolean exists() {
    return createdBy != null;
  }

  public boolean isMember(String user) {
    return members.contains(user);
  }

  /** The lowest seq still in the recent window ({@code lastSeq + 1} when the window is empty). */
  public long windowStart() {
    return recent.isEmpty() ? lastSeq + 1 : recent.get(0).seq();
  }

  /** Events of the recent window with {@code from <= seq <= to}, in seq order. */
  public List<TimelineEvent> recentBetween(long from, long to) {
    long start = windowStart();
    if (recent.isEmpty() || to < start || from > lastSeq || from > to) return List.of();
    int first = (int) (Math.max(from, start) - start);
    int last = (int) (Math.min(to, lastSeq) - start);
    return List.copyOf(recent.subList(first, last + 1));
  }

  public Optional<TimelineEvent> recentEvent(long seq) {
    long start = windowStart();
    if (seq < start || seq > lastSeq) return Optional.empty();
    return Optional.of(recent.get((int) (seq - start)));
  }

  /** The seq a send with this idempotency key already got, if it is still remembered. */
  public Optional<Long> seqOfSend(String sender, String clientMsgId) {
    return Optional.ofNullable(sentKeys.get(sendKey(sender, clientMsgId)));
  }

  /** Length-prefixed, so no pair of (sender, clientMsgId) can collide with another. */
  static String sendKey(String sender, String clientMsgId) {
    return sender.length() + ":" + sender + clientMsgId;
  }

  public ConversationState apply(TimelineEvent event, Limits limits) {
    PVector<TimelineEvent> window = recent.plus(event);
    while (window.size() > limits.recentWindow()) window = window.minus(0);
    ConversationState next =
        new ConversationState(title, createdBy, members, event.seq(), window, sentKeys, sentKeyOrder);
    if (event instanceof TimelineEvent.Created c) {
      return next.withMeta(c.title(), c.createdBy(), HashTreePSet.from(c.members()));
    } else if (event instanceof TimelineEvent.MemberJoined j) {
      return next.withMeta(title, createdBy, members.plus(j.user()));
    } else if (event instanceof TimelineEvent.MemberLeft l) {
      return next.withMeta(title, createdBy, members.minus(l.user()));
    } else if (event instanceof TimelineEvent.MessagePosted m) {
      return next.rememberSend(sendKey(m.sender(), m.clientMsgId()), m.seq(), limits.idempotencyWindow());
    } else if (event instanceof TimelineEvent.HandedOff h) {
      return next.rememberSend(sendKey(h.by(), h.key()), h.seq(), limits.idempotencyWindow());
    }
    return next;
  }

  private ConversationState withMeta(String newTitle, String newCreatedBy, PSet<String> newMembers) {
    return new ConversationState(newTitle, newCreatedBy, newMembers, lastSeq, recent, sentKeys, sentKeyOrder);
  }

  private ConversationState rememberSend(String key, long seq, int window) {
    PMap<String, Long> keys = sentKeys.plus(key, seq);
    PVector<String> order = sentKeyOrder.plus(key);
    while (order.size() > window) {
      keys = keys.minus(order.get(0));
      order = order.minus(0);
    }
    return new ConversationState(title, createdBy, members, lastSeq, recent, keys, order);
  }

  /** What a snapshot stores: plain lists, so the serialized form does not depend on pcollections. */
  public record Snapshot(
      String title,
      String createdBy,
      List<String> members,
      long lastSeq,
      List<TimelineEvent> recent,
      List<String> sentKeyOrder,
      List<Long> sentKeySeqs)
      implements CborSerializable {}

  @JsonValue
  public Snapshot toSnapshot() {
    List<Long> seqs = new ArrayList<>(sentKeyOrder.size());
    for (String key : sentKeyOrder) seqs.add(sentKeys.get(key));
    return new Snapshot(title, createdBy, List.copyOf(members), lastSeq, List.copyOf(recent), List.copyOf(sentKeyOrder), seqs);
  }

  @JsonCreator(mode = JsonCreator.Mode.DELEGATING)
  public static ConversationState fromSnapshot(Snapshot s) {
    PMap<String, Long> keys = HashTreePMap.empty();
    for (int i = 0; i < s.sentKeyOrder().size(); i++) keys = keys.plus(s.sentKeyOrder().get(i), s.sentKeySeqs().get(i));
    return new ConversationState(
        s.title(),
        s.createdBy(),
        HashTreePSet.from(s.members()),
        s.lastSeq(),
        TreePVector.from(s.recent()),
        keys,
        TreePVector.from(s.sentKeyOrder()));
  }
}
