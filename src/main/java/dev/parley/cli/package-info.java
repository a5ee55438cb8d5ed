/** The {@code parley} command line (picocli): {@code server} (default), {@code token}, {@code bench}. */
package dev.parley.cli;
