package dev.parley.bench;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * One line per acknowledged send ({@code --ack-log}): the conversation, when the send was due and
 * when its ack arrived (epoch milliseconds). Fault benchmarks (src/site/bench/fault.sh) read from it
 * how long each conversation went without an acknowledged send after a node was killed or the
 * database was cut, which the per-second timeline cannot tell per conversation.
 */
final class AckLog implements AutoCloseable {

  private final BufferedWriter out;
  /** nanoTime to epoch milliseconds. */
  private final long epochMillisAtZeroNanos = System.currentTimeMillis() - System.nanoTime() / 1_000_000;

  AckLog(Path file) {
    try {
      this.out = Files.newBufferedWriter(file);
      out.write("conversation intendedEpochMs ackEpochMs\n");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  synchronized void acked(String conversation, long intendedNanos, long ackNanos) {
    try {
      out.write(conversation + " " + (epochMillisAtZeroNanos + intendedNanos / 1_000_000) + " " + (epochMillisAtZeroNanos + ackNanos / 1_000_000) + "\n");
    } catch (IOException e) {
      // the log is a by-product: a full disk must not stop the run
    }
  }

  @Override
  public synchronized void close() throws IOException {
    out.close();
  }
}
