/**
 * Presence (issue 21): who is online, away or offline, cluster-wide, with {@code lastSeen}.
 *
 * <p>Each node owns the presence of the users connected to it and publishes it in Distributed Data:
 * one entry per node and user, only that node writes it, in a fixed set of keys by user hash
 * ({@link PresenceKeys}, {@link PresenceHub}); every node merges the entries of the reachable
 * members into one view ({@link PresenceEntry#merge}). A node's users go offline everywhere when it is
 * unreachable for {@code parley.presence.unreachable-grace} or removed. Nothing is persisted.
 * Interest is per node: a node follows the members of the conversations its connections watch,
 * and sends each watching connection at most one batched {@code presence} frame per
 * {@code parley.presence.batch-interval} ({@link PendingPresence}).
 */
package dev.parley.presence;
