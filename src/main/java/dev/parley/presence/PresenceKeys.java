package dev.parley.presence;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.pekko.cluster.UniqueAddress;
import org.apache.pekko.cluster.ddata.Key;
import org.apache.pekko.cluster.ddata.LWWMap;
import org.apache.pekko.cluster.ddata.LWWMapKey;

/**
 * Where presence lives in Distributed Data: a fixed number of {@link LWWMap} keys shared by the
 * whole cluster ({@code parley.presence.keys}), a user's entries in the key of the user's hash. Each
 * node writes one entry per user it has connected, named {@code node/user}, so every entry has one
 * writer; all of a user's entries (one per node) sit in the same key.
 *
 * <p>Why this shape (configuration.md, {@code parley.presence.keys}): Distributed Data serializes a
 * whole key to digest it when a subscribed key changes (up to twice per notification interval), so
 * a change costs the size of its key, not of the cluster's presence; deltas stay a few entries per
 * key; and the keys never change, so nodes that come and go leave no tombstones behind (a deleted
 * key stays in every replica forever, which per-node keys would pay at every restart).
 */
final class PresenceKeys {

  private static final String PREFIX = "parley-presence-";

  private final List<Key<LWWMap<String, PresenceEntry>>> keys;
  private final Map<String, Integer> indexOfId = new HashMap<>();

  PresenceKeys(int count) {
    if (count < 1) throw new IllegalArgumentException("parley.presence.keys must be at least 1");
    keys = new ArrayList<>(count);
    for (int i = 0; i < count; i++) {
      Key<LWWMap<String, PresenceEntry>> key = LWWMapKey.create(PREFIX + i);
      keys.add(key);
      indexOfId.put(key.id(), i);
    }
  }

  int count() {
    return keys.size();
  }

  /** The key holding {@code user}'s entries. String.hashCode is specified, so every node agrees. */
  int indexOf(String user) {
    return Math.floorMod(user.hashCode(), keys.size());
  }

  Key<LWWMap<String, PresenceEntry>> key(int index) {
    return keys.get(index);
  }

  /** Index of a key id, or -1 for a key that is not presence's. */
  int indexOfId(String keyId) {
    Integer i = indexOfId.get(keyId);
    return i == null ? -1 : i;
  }

  /** A node incarnation's name in entries: its uid (a node restarted on the same port is another node). */
  static String nodeId(UniqueAddress member) {
    return Long.toHexString(member.longUid());
  }

  static String entryKey(String nodeId, String user) {
    return nodeId + "/" + user;
  }

  static String nodeOf(String entryKey) {
    return entryKey.substring(0, entryKey.indexOf('/'));
  }

  static String userOf(String entryKey) {
    return entryKey.substring(entryKey.indexOf('/') + 1);
  }
}
