/**
 * Storage: chooses embedded H2 or PostgreSQL from the configured URL, migrates the schema with
 * Flyway (Pekko Persistence JDBC's tables, per vendor) and configures the journal's shared pool.
 */
package dev.parley.storage;
