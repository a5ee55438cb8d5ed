package dev.parley.presence;

import dev.parley.CborSerializable;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.cluster.UniqueAddress;

/**
 * What the nodes' {@link PresenceHub}s tell each other: each node sends its own users' entries to
 * every other node's hub, numbered, batched per write round ({@link Changes}), with a full {@link
 * Snapshot} when a hub first sees a peer or a peer missed a number; a periodic {@link Tip} lets a
 * peer notice a lost last batch. Only a node's own hub ever sends its entries, and Artery keeps
 * the order of the messages from one actor to another, so a receiver needs no merge rule: it
 * applies a node's batches in their order and asks for a snapshot when a number is missing.
 *
 * <p>Why not Distributed Data (benchmarks.md, issue 21, 2026-12-05): its Replicator spent 0.5–0.9 ms
 * of node CPU per presence change on a 3-node cluster (a SHA-1 of the serialized key on every node,
 * gossip of full states, gzip, ORSet merges; this replication: 0.02–0.08 ms), while what presence
 * needs is a single writer per entry and forgetting a node's entries when it leaves the cluster,
 * which membership events already say.
 *
 * <p>Every message stays under {@code message-share-of-frame} of Artery's frame ({@link
 * PresenceSettings#messageBytes}), whatever a round or a snapshot holds: the entries are split
 * into as many messages as needed ({@link #chunks}).
 */
public final class PresenceSync {

  private PresenceSync() {}

  /** A message between two nodes' presence hubs (Jackson CBOR: Parley's serialization binding). */
  public sealed interface Message extends PresenceHub.Command, CborSerializable {}

  /**
   * One user's entry on the sending node; {@code status == null}: the node forgot the user (an
   * offline entry past its retention).
   */
  public record Entry(String user, PresenceEntry.Status status, long since) {
    static Entry of(String user, PresenceEntry entry) {
      return entry == null ? new Entry(user, null, 0L) : new Entry(user, entry.status(), entry.since());
    }

    /** Null when the entry says the node forgot the user. */
    PresenceEntry entry() {
      return status == null ? null : new PresenceEntry(status, since);
    }
  }

  /** Node {@code node}'s batch number {@code seq} (1, 2, 3... for each sender): what changed since {@code seq - 1}. */
  public record Changes(String node, ActorRef<PresenceHub.Command> from, long seq, List<Entry> entries) implements Message {}

  /**
   * Part {@code part} (from 0) of node {@code node}'s entries as of its batch {@code seq}; the
   * part with {@code last} ends it. The receiver replaces everything it had from the node.
   */
  public record Snapshot(String node, ActorRef<PresenceHub.Command> from, long seq, int part, boolean last, List<Entry> entries)
      implements Message {}

  /** The sender's latest batch number, sent periodically: a receiver behind it lost a batch. */
  public record Tip(String node, ActorRef<PresenceHub.Command> from, long seq) implements Message {}

  /** Send me a {@link Snapshot} of your entries. */
  public record SnapshotRequest(ActorRef<PresenceHub.Command> replyTo) implements Message {}

  /**
   * The bytes a message costs besides its entries: the node id, the sender's ActorRef (a path with
   * its host name, up to 253 bytes), the numbers, the type and field names. 768 covers the longest
   * host name with room to spare (PresenceSyncTest measures it).
   */
  static final int MESSAGE_BYTES = 768;

  /** The longest entry: a 128-character user id of 4-byte characters. */
  static final int MAX_ENTRY_BYTES = 48 + 128 * 4;

  /**
   * An upper estimate of one entry's serialized size: Jackson CBOR writes a record as a map with
   * its field names ("user", "status", "since") and the status's name, ~40 bytes, plus the user id.
   */
  static int ofEntry(String user) {
    return 48 + user.getBytes(StandardCharsets.UTF_8).length;
  }

  /** {@code entries} in consecutive runs whose messages each stay under {@code messageBytes}; always at least one run. */
  static List<List<Entry>> chunks(List<Entry> entries, int messageBytes) {
    List<List<Entry>> chunks = new ArrayList<>();
    List<Entry> current = new ArrayList<>();
    int spent = MESSAGE_BYTES;
    for (Entry e : entries) {
      int cost = ofEntry(e.user());
      if (!current.isEmpty() && spent + cost > messageBytes) {
        chunks.add(current);
        current = new ArrayList<>();
        spent = MESSAGE_BYTES;
      }
      current.add(e);
      spent += cost;
    }
    chunks.add(current);
    return chunks;
  }

  /** A node incarnation's name: its uid (a node restarted on the same port is another node). */
  static String nodeId(UniqueAddress member) {
    return Long.toHexString(member.longUid());
  }
}
