/**
 * The edge: the websocket route that authenticates and upgrades, the per-connection
 * {@link dev.parley.gateway.Session} actor, the JSON protocol codec {@link dev.parley.gateway.Frames},
 * and the HTTP API. Every client input is validated here; every failure leaves as an error frame with
 * a {@link dev.parley.ErrorCode}.
 */
package dev.parley.gateway;
