/**
 * Presence (issue 21): who is online, away or offline, cluster-wide, with {@code lastSeen}.
 *
 * <p>Each node owns the presence of the users connected to it and sends it to every other node's
 * {@link PresenceHub} in numbered batches, one per write round, with a snapshot for a hub that
 * joins or missed a batch ({@link PresenceSync}, {@link PeerSequence}); every node merges the
 * entries of the reachable members into one view ({@link PresenceEntry#merge}). A node's users go
 * offline everywhere when it is unreachable for {@code parley.presence.unreachable-grace} or
 * removed (cluster membership says so, not the data). Nothing is persisted. Interest is per node:
 * a node follows the members of the conversations its connections watch, and sends each watching
 * connection at most one batched {@code presence} frame per {@code parley.presence.batch-interval}
 * ({@link PendingPresence}).
 */
package dev.parley.presence;
