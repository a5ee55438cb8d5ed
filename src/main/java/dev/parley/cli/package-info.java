/** The {@code parley} command line (picocli): {@code server} (default), {@code token}, {@code bench}, {@code admin}. */
package dev.parley.cli;
