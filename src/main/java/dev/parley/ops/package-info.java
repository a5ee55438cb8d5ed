/**
 * What operators see and do: Prometheus metrics ({@link dev.parley.ops.Metrics}, {@code /metrics}
 * on the management port) and the cluster-wide admin routes behind the admin token
 * ({@link dev.parley.ops.ClusterAdminRoutes}, used by {@code parley admin}).
 */
package dev.parley.ops;
