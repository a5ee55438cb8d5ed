package dev.parley.presence;

import java.nio.charset.StandardCharsets;

/**
 * An upper estimate of what one presence entry adds to a Distributed Data delta once serialized
 * (an {@code ORMap} put or remove of {@code node/user} in an {@link org.apache.pekko.cluster.ddata.LWWMap}),
 * so that a write round can be kept under its share of Artery's frame ({@link PresenceSettings#writeRoundBytes}).
 *
 * <p>Measured with Pekko 1.2.1's serializers (DeltaSizeTest keeps it true): a put costs ~176 bytes
 * plus twice the entry key (the map's key and the set's element) plus three times the node's
 * host name (the addresses of the dot, the register and the delta's own version vector); a
 * removal costs less. 240 leaves room for the per-key frame of a {@code DeltaPropagation} (key
 * id, sequence numbers, envelope) when every entry lands in a key of its own.
 */
final class DeltaSize {

  static final int FIXED_BYTES = 240;

  /** The longest entry: a 16-digit node id, '/', a 128-character user id of 4-byte characters, a 253-byte host name. */
  static final int MAX_ENTRY_BYTES = FIXED_BYTES + 2 * (17 + 128 * 4) + 3 * 253;

  private DeltaSize() {}

  static int ofEntry(String entryKey, int hostBytes) {
    return FIXED_BYTES + 2 * entryKey.getBytes(StandardCharsets.UTF_8).length + 3 * hostBytes;
  }

  static int hostBytes(String host) {
    return host == null ? 0 : host.getBytes(StandardCharsets.UTF_8).length;
  }
}
