package dev.parley.bench;

import java.util.Arrays;
import java.util.BitSet;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Checks what the server promises, per conversation and subscriber: every event arrives once, in
 * seq order, with no gap, and every acknowledged message reaches every subscriber. Seqs are dense
 * (1, 2, 3, ...), so the books are bitsets and arrays indexed by seq, not maps of messages.
 *
 * <p>Thread-safe: each conversation's ledger is locked on its own, so connections reading
 * different conversations do not contend.
 */
public final class DeliveryTracker {

  /** How a delivery fits the subscriber's stream. */
  public enum Delivery {
    IN_ORDER,
    /** At or below what this subscriber already has. */
    DUPLICATE,
    /** Beyond the next expected seq: the seqs in between are counted as a gap. */
    AFTER_GAP
  }

  /** The correctness counters of a run; all zero when the server kept its promises. */
  public record Counts(
      long ackedMessages,
      long lostMessages,
      long missingDeliveries,
      long duplicateDeliveries,
      long gapSeqs,
      long duplicatePosts,
      long unrecoveredResumes) {

    public boolean clean() {
      return lostMessages == 0 && duplicateDeliveries == 0 && gapSeqs == 0 && duplicatePosts == 0 && unrecoveredResumes == 0;
    }
  }

  private final Map<String, Ledger> ledgers = new ConcurrentHashMap<>();

  /** Declares who must receive every message of {@code conversation}. */
  public void expectSubscribers(String conversation, Collection<Integer> subscribers) {
    Ledger ledger = ledger(conversation);
    synchronized (ledger) {
      ledger.subscribers.addAll(subscribers);
    }
  }

  /** A send's ack; the same clientMsgId acked again (a retry) must name the same seq. */
  public void acked(String conversation, long seq, String clientMsgId) {
    Ledger ledger = ledger(conversation);
    synchronized (ledger) {
      Long earlier = ledger.seqByClientMsgId.putIfAbsent(clientMsgId, seq);
      if (earlier != null && earlier != seq) ledger.duplicatePosts++;
      ledger.acked.set(index(seq));
    }
  }

  /** A timeline event with {@code seq} reached {@code subscriber}. */
  public Delivery delivered(int subscriber, String conversation, long seq) {
    Ledger ledger = ledger(conversation);
    synchronized (ledger) {
      long cursor = ledger.cursors.getOrDefault(subscriber, 0L);
      if (seq <= cursor) {
        ledger.duplicateDeliveries++;
        return Delivery.DUPLICATE;
      }
      ledger.cursors.put(subscriber, seq);
      ledger.countDelivery(index(seq));
      if (seq > cursor + 1) {
        ledger.gapSeqs += seq - cursor - 1;
        return Delivery.AFTER_GAP;
      }
      return Delivery.IN_ORDER;
    }
  }

  /** The last seq {@code subscriber} has of {@code conversation}: where a resume starts. */
  public long cursor(int subscriber, String conversation) {
    Ledger ledger = ledger(conversation);
    synchronized (ledger) {
      return ledger.cursors.getOrDefault(subscriber, 0L);
    }
  }

  /**
   * The server could not fill a resume's gap ({@code recovered: false}) and continues from
   * {@code lastSeq}; whatever was skipped stays undelivered and shows as lost.
   */
  public void resumeNotRecovered(int subscriber, String conversation, long lastSeq) {
    Ledger ledger = ledger(conversation);
    synchronized (ledger) {
      ledger.unrecoveredResumes++;
      ledger.cursors.merge(subscriber, lastSeq, Math::max);
    }
  }

  /** Acknowledged messages some expected subscriber has not received (yet). */
  public long undeliveredMessages() {
    return counts().lostMessages();
  }

  public Counts counts() {
    long acked = 0, lost = 0, missing = 0, duplicates = 0, gaps = 0, duplicatePosts = 0, unrecovered = 0;
    for (Ledger ledger : ledgers.values()) {
      synchronized (ledger) {
        int expected = ledger.subscribers.size();
        for (int seq = ledger.acked.nextSetBit(0); seq >= 0; seq = ledger.acked.nextSetBit(seq + 1)) {
          acked++;
          int received = seq < ledger.deliveredCount.length ? ledger.deliveredCount[seq] : 0;
          if (received < expected) {
            lost++;
            missing += expected - received;
          }
        }
        duplicates += ledger.duplicateDeliveries;
        gaps += ledger.gapSeqs;
        duplicatePosts += ledger.duplicatePosts;
        unrecovered += ledger.unrecoveredResumes;
      }
    }
    return new Counts(acked, lost, missing, duplicates, gaps, duplicatePosts, unrecovered);
  }

  /**
   * For the log, when {@link #counts()} reports messages some subscriber lacks: up to {@code max}
   * lines naming the conversation, the subscriber short of messages, its cursor and the last
   * acknowledged seq.
   */
  public java.util.List<String> undeliveredDetails(int max) {
    java.util.List<String> lines = new java.util.ArrayList<>();
    for (Map.Entry<String, Ledger> entry : ledgers.entrySet()) {
      Ledger ledger = entry.getValue();
      synchronized (ledger) {
        int lastAcked = ledger.acked.length() - 1;
        if (lastAcked < 1) continue;
        for (int subscriber : ledger.subscribers) {
          long cursor = ledger.cursors.getOrDefault(subscriber, 0L);
          if (cursor < lastAcked && lines.size() < max) {
            lines.add("conversation " + entry.getKey() + ": subscriber " + subscriber + " has up to seq " + cursor + ", last acknowledged seq " + lastAcked);
          }
        }
      }
    }
    return lines;
  }

  private Ledger ledger(String conversation) {
    return ledgers.computeIfAbsent(conversation, c -> new Ledger());
  }

  private static int index(long seq) {
    if (seq < 1 || seq > Integer.MAX_VALUE - 8) throw new IllegalArgumentException("seq out of range: " + seq);
    return (int) seq;
  }

  /** One conversation's books. Guarded by its own monitor. */
  private static final class Ledger {
    final Set<Integer> subscribers = new HashSet<>();
    final Map<Integer, Long> cursors = new HashMap<>();
    final BitSet acked = new BitSet();
    final Map<String, Long> seqByClientMsgId = new HashMap<>();
    /** First-time deliveries per seq, summed over subscribers. */
    int[] deliveredCount = new int[64];
    long duplicateDeliveries;
    long gapSeqs;
    long duplicatePosts;
    long unrecoveredResumes;

    void countDelivery(int seq) {
      if (seq >= deliveredCount.length) {
        deliveredCount = Arrays.copyOf(deliveredCount, Math.max(seq + 1, deliveredCount.length * 2));
      }
      deliveredCount[seq]++;
    }
  }
}
