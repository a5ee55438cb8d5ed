package dev.parley;

/**
 * Marker for every message, event and snapshot that crosses a node boundary or reaches the
 * journal: bound to Jackson CBOR in {@code serialization.conf}.
 */
public interface CborSerializable {}
