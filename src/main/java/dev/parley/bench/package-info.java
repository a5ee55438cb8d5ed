/**
 * {@code parley bench}: a load generator that drives nodes over the public websocket protocol only,
 * exactly as real clients do (issue 3).
 *
 * <p>One run: {@link BenchRun} connects {@link BenchConnection}s, creates the conversations of a
 * {@link Workload}, subscribes every member, then an {@link OpenLoopPacer} schedules sends by the
 * clock (open model, so a stalled server shows as latency instead of as fewer sends). Latency is
 * measured from each send's intended time into {@link LatencyRecorder}s; {@link DeliveryTracker}
 * checks what the server promises (no gap, no duplicate, every acked message delivered to every
 * subscriber); {@link Report} prints and writes the result. Connections that drop come back with
 * {@link Backoff} (full jitter), resume with {@code subscribe ... since}, and retry unacknowledged
 * sends with the same {@code clientMsgId}.
 *
 * <p>The transport is the bench's own, made to cost little per message (issue 18: a load generator
 * should cost at most 0.05 ms of CPU per send, or on a 2-core box it measures itself): a
 * {@link SelectorLoop} thread drives many {@link ClientWebSocket}s (the opening handshake of
 * {@link WebSocketHandshake}, the framing of {@link WebSocketClientFrames}), sends are written by
 * the thread that makes them, and {@link ServerFrameReader} reads only the fields the bench checks.
 *
 * <p>{@code parley bench inbox} (issue 4) is a run of its own: {@link InboxBench} seeds users with
 * many conversations through the protocol ({@link InboxSeedPlan}: deterministic names, so seeding is
 * done once and reused), then times inbox pages, connect-to-first-page and the fan-out of
 * {@code inbox_update} over plain request/reply websockets ({@link ProtocolSocket}), reported with
 * ratios to the smallest inbox ({@link InboxReport}).
 */
package dev.parley.bench;
