package dev.parley.storage;

import java.time.Duration;

/** The database connection settings ({@code parley.db}), read by {@code ParleyConfig}. */
public record DbSettings(
    String url, String user, String password, int poolSize, Duration connectionTimeout, String planCacheMode) {}
