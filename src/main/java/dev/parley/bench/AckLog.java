package dev.parley.bench;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * One line per acknowledged send ({@code --ack-log}): the conversation, when the send was due, when
 * its ack arrived and when it was last put on the wire (epoch milliseconds), and the seq it got. Fault benchmarks
 * (src/site/bench/fault.sh) read from it how long each conversation went without an acknowledged
 * send after a node was killed or the database was cut, which the per-second timeline cannot tell
 * per conversation; the last column splits a slow ack into the client's own lateness in sending
 * (sent - due) and the round trip (ack - sent), for presence-t1-why.py (issue 21); the seq lines a
 * slow ack up with its conversation's own history (ack-tail.py: is a slow ack one that waited for
 * the conversation's snapshot, every snapshot-every events? issue 18).
 */
final class AckLog implements AutoCloseable {

  private final BufferedWriter out;
  /** nanoTime to epoch milliseconds. */
  private final long epochMillisAtZeroNanos = System.currentTimeMillis() - System.nanoTime() / 1_000_000;

  AckLog(Path file) {
    try {
      this.out = Files.newBufferedWriter(file);
      out.write("conversation intendedEpochMs ackEpochMs sentEpochMs seq\n");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  synchronized void acked(String conversation, long intendedNanos, long ackNanos, long sentNanos, long seq) {
    try {
      out.write(conversation + " " + epochMillis(intendedNanos) + " " + epochMillis(ackNanos) + " " + epochMillis(sentNanos) + " " + seq + "\n");
    } catch (IOException e) {
      // the log is a by-product: a full disk must not stop the run
    }
  }

  private long epochMillis(long nanos) {
    return epochMillisAtZeroNanos + nanos / 1_000_000;
  }

  @Override
  public synchronized void close() throws IOException {
    out.close();
  }
}
