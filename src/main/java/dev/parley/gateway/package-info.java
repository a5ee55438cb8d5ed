/**
 * The edge: the bind of plain connections ({@link dev.parley.gateway.ConnectionSwitch}: Pekko HTTP's
 * server layers until a websocket upgrade, the websocket alone after it), the websocket route that authenticates and upgrades ({@link dev.parley.gateway.WebSocketRoute}),
 * the websocket protocol below a session ({@link dev.parley.gateway.WebSocketFrames}, the one user of
 * Pekko HTTP's internal frame-level API), the connection's end of its session
 * ({@link dev.parley.gateway.SessionStream}), the per-connection {@link dev.parley.gateway.Session}
 * actor and its parts, one file each (Requests by kind and their Replies, the RequestWindow of max
 * in flight, ClientOutbound with the slow-consumer rule, Subscriptions, ConnectionLimits,
 * ConnectionDrain, ConnectionPresence, WritesResumedHint, ConnectionLifecycle), the JSON protocol
 * codec {@link dev.parley.gateway.Frames}, the HTTP API, and {@link dev.parley.gateway.ConnectionRebalancer}
 * (moves this node's surplus connections to the other nodes). Every client input is validated here;
 * every failure leaves as an error frame with a {@link dev.parley.ErrorCode}.
 */
package dev.parley.gateway;
