package dev.parley.gateway;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.typesafe.config.ConfigFactory;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.time.Duration;
import java.util.Arrays;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.stream.javadsl.Flow;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.util.ByteString;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/**
 * {@link PlainTcp} (issue 18, target 2): the plain-text listener's own selector. A client frame
 * costs no wake-up of the selector thread; writes larger than the socket's buffers and reads the
 * stream does not take at once arrive whole and in order; each side's end closes the connection
 * as {@code Tcp.bind(..., halfClose = false, ...)} did; an unbound listener keeps its connections;
 * a client that stops reading does not keep a connection the server is done with beyond the linger timeout.
 */
class PlainTcpTest {

  private static final ActorTestKit testKit = ActorTestKit.create(ConfigFactory.empty());

  @AfterAll
  static void stop() {
    testKit.shutdownTestKit();
  }

  private static PlainTcp.Bound bind(Flow<ByteString, ByteString, ?> handler) throws Exception {
    return bind(Duration.ofMinutes(1), handler);
  }

  private static PlainTcp.Bound bind(Duration lingerTimeout, Flow<ByteString, ByteString, ?> handler) throws Exception {
    return PlainTcp.bind(testKit.system(), "127.0.0.1", 0, 100, 100, Optional.of(lingerTimeout), handler).toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  private static Socket connect(PlainTcp.Bound bound) throws IOException {
    Socket socket = new Socket();
    socket.connect(new InetSocketAddress("127.0.0.1", bound.localAddress().getPort()), 10_000);
    socket.setSoTimeout(30_000);
    return socket;
  }

  private static byte[] readFully(InputStream in, int count) throws IOException {
    byte[] bytes = in.readNBytes(count);
    assertThat(bytes).as("bytes before the end of the stream").hasSize(count);
    return bytes;
  }

  @Test
  void aClientFrameCostsNoWakeUpOfTheSelectorThread() throws Exception {
    PlainTcp.Bound bound = bind(Flow.create());
    try (Socket socket = connect(bound)) {
      OutputStream out = socket.getOutputStream();
      InputStream in = socket.getInputStream();
      // The first round trip: the connection's registration is behind it.
      out.write('0');
      assertThat(in.read()).isEqualTo('0');
      long before = bound.selectorWakeUps().getAsLong();
      for (int i = 0; i < 200; i++) {
        byte[] frame = ("frame " + i).getBytes();
        out.write(frame);
        assertThat(readFully(in, frame.length)).isEqualTo(frame);
      }
      // Pekko IO's pull-mode reads re-enable read interest through the selector's task queue after
      // each read, waking the selector thread once per frame: 200 here.
      assertThat(bound.selectorWakeUps().getAsLong() - before).as("selector wake-ups for 200 echoed frames").isLessThan(10);
    }
  }

  @Test
  void aWriteLargerThanTheSocketsBuffersArrivesWholeAndThenTheConnectionCloses() throws Exception {
    byte[] large = new byte[8 * 1024 * 1024];
    new Random(18).nextBytes(large);
    // The server writes 8 MiB and is done: the end of its output closes the connection once all of it is out.
    PlainTcp.Bound bound = bind(Flow.fromSinkAndSource(Sink.ignore(), Source.single(ByteString.fromArray(large))));
    try (Socket socket = connect(bound)) {
      InputStream in = socket.getInputStream();
      assertThat(readFully(in, large.length)).isEqualTo(large);
      assertThat(in.read()).as("end of stream after the last byte").isEqualTo(-1);
    }
  }

  @Test
  void aClientThatStopsReadingDoesNotKeepAFinishedConnectionBeyondTheLingerTimeoutNorHoldUpOthers() throws Exception {
    // The server writes 16 MiB to each client and is done. The stalled client reads nothing through a
    // 4 KiB receive buffer, so most of it stays unwritten: the close waits for it at most the linger timeout.
    byte[] large = new byte[16 * 1024 * 1024];
    new Random(16).nextBytes(large);
    PlainTcp.Bound bound = bind(Duration.ofSeconds(2), Flow.fromSinkAndSource(Sink.ignore(), Source.single(ByteString.fromArray(large))));
    try (Socket stalled = new Socket()) {
      stalled.setReceiveBufferSize(4096);
      stalled.connect(new InetSocketAddress("127.0.0.1", bound.localAddress().getPort()), 10_000);
      await().atMost(Duration.ofSeconds(10)).until(() -> bound.openConnections().getAsInt() == 1);
      // Another client is served meanwhile: its 16 MiB arrive whole, then its end of stream.
      try (Socket other = connect(bound)) {
        InputStream in = other.getInputStream();
        assertThat(Arrays.equals(readFully(in, large.length), large)).as("16 MiB to the client that reads").isTrue();
        assertThat(in.read()).isEqualTo(-1);
      }
      // Without a bound the stalled connection would stay open for good (Pekko IO's close waits for its writes).
      await().atMost(Duration.ofSeconds(20)).until(() -> bound.openConnections().getAsInt() == 0);
      // Reset: what the kernel had taken can still be read, then the client learns the connection is gone.
      stalled.setSoTimeout(10_000);
      int end;
      try {
        InputStream in = stalled.getInputStream();
        byte[] buffer = new byte[65536];
        do {
          end = in.read(buffer);
        } while (end >= 0);
      } catch (SocketException reset) {
        end = -1;
      }
      assertThat(end).as("the stalled connection ended").isEqualTo(-1);
    }
  }

  @Test
  void bytesTheStreamCannotTakeAtOnceArriveWholeAndInOrder() throws Exception {
    byte[] sent = new byte[4 * 1024 * 1024];
    new Random(2).nextBytes(sent);
    // An echo whose writes back-pressure its reads: the client writes 4 MiB before it reads, so
    // the echo's writes fill the sockets, the stream stops taking bytes and reads pause at the read-ahead bound.
    PlainTcp.Bound bound = bind(Flow.create());
    try (Socket socket = connect(bound)) {
      CompletableFuture<Void> writing = CompletableFuture.runAsync(() -> {
        try {
          OutputStream out = socket.getOutputStream();
          for (int offset = 0; offset < sent.length; offset += 100_000) out.write(sent, offset, Math.min(100_000, sent.length - offset));
        } catch (IOException e) {
          throw new RuntimeException(e);
        }
      });
      byte[] echoed = readFully(socket.getInputStream(), sent.length);
      writing.get(30, TimeUnit.SECONDS);
      assertThat(Arrays.equals(echoed, sent)).as("4 MiB echoed in order").isTrue();
    }
  }

  @Test
  void theClientsEndOfInputEndsTheConnectionAfterWhatItSentIsAnswered() throws Exception {
    PlainTcp.Bound bound = bind(Flow.create());
    try (Socket socket = connect(bound)) {
      socket.getOutputStream().write("last words".getBytes());
      socket.shutdownOutput();
      InputStream in = socket.getInputStream();
      assertThat(new String(readFully(in, 10))).isEqualTo("last words");
      assertThat(in.read()).as("end of stream").isEqualTo(-1);
    }
  }

  @Test
  void aFailedStreamClosesTheConnection() throws Exception {
    PlainTcp.Bound bound = bind(Flow.<ByteString>create().map(bytes -> {
      throw new IllegalStateException("the handler fails");
    }));
    try (Socket socket = connect(bound)) {
      socket.getOutputStream().write('x');
      InputStream in = socket.getInputStream();
      // Aborted (a reset) or closed: either way the client learns the connection is gone.
      int read;
      try {
        read = in.read();
      } catch (IOException reset) {
        read = -1;
      }
      assertThat(read).isEqualTo(-1);
    }
  }

  @Test
  void anUnboundListenerRefusesNewConnectionsAndKeepsItsOpenOnes() throws Exception {
    PlainTcp.Bound bound = bind(Flow.create());
    try (Socket socket = connect(bound)) {
      // Accepted (a connection still in the listen queue is reset when the listener closes, as with Pekko IO).
      socket.getOutputStream().write('a');
      assertThat(socket.getInputStream().read()).isEqualTo('a');
      bound.unbind().get().toCompletableFuture().get(10, TimeUnit.SECONDS);
      assertThatThrownBy(() -> connect(bound).close()).isInstanceOf(ConnectException.class);
      socket.getOutputStream().write("still here".getBytes());
      assertThat(new String(readFully(socket.getInputStream(), 10))).isEqualTo("still here");
    }
  }
}
