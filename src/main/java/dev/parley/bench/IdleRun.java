package dev.parley.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.parley.auth.Tokens;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;

/**
 * {@code parley bench --idle}: opens connections that authenticate (token in the upgrade request)
 * and then send nothing, holds them, and reports how many opened and how many were still open at
 * the end. It measures what an idle connection costs a node (heap, RSS), so it must reach more
 * connections than one source address has ports: each connection binds its own loopback source
 * address ({@link SourceAddresses}). The JDK websocket client cannot choose a source address, so
 * this mode does the opening handshake itself over a plain {@link Socket}; it never reads or writes
 * a websocket frame (the server's keep-alive pings wait unread in the socket's buffer, and being
 * traffic they keep the connection from the server's idle timeout).
 */
public final class IdleRun {

  /** What an idle run is asked to do. */
  public record Settings(
      List<URI> urls, String secret, int connections, SourceAddresses sources, Duration hold, Duration setupTimeout, int parallelism) {
    public Settings {
      urls = List.copyOf(urls);
      if (urls.isEmpty()) throw new IllegalArgumentException("at least one --url is needed");
      urls.forEach(BenchSettings::requireLoopback);
      if (connections < 1) throw new IllegalArgumentException("--connections must be at least 1");
      if (hold.isNegative()) throw new IllegalArgumentException("--duration must not be negative");
      if (parallelism < 1) throw new IllegalArgumentException("parallelism must be at least 1");
    }
  }

  /** The outcome; {@code failures} counts failed opening attempts by cause (HTTP status or exception). */
  public record Result(
      int connections,
      List<String> sourceAddresses,
      int opened,
      long retriedAfter503,
      Map<String, Long> failures,
      int openAtEnd,
      int closedByServer,
      double setupSeconds,
      double heldSeconds) {

    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    public void writeJson(Path file) throws IOException {
      JSON.writeValue(file.toFile(), this);
    }

    public String toText() {
      return String.format(
          Locale.ROOT,
          """
          parley bench --idle: %d connections from %s
          opened            %d in %.1fs (%d attempts retried after 503)
          failures          %s
          held              %.0fs
          open at end       %d (closed by the server while held: %d)
          """,
          connections, String.join(",", sourceAddresses), opened, setupSeconds, retriedAfter503,
          failures.isEmpty() ? "none" : failures.toString(), heldSeconds, openAtEnd, closedByServer);
    }
  }

  private static final int HANDSHAKE_TIMEOUT_MS = 10_000;
  private static final int MAX_RESPONSE_HEAD = 8_192;

  private final Settings settings;
  private final PrintStream progress;
  private final SecureRandom random = new SecureRandom();
  private final Map<String, LongAdder> failures = new ConcurrentHashMap<>();
  private final LongAdder retried = new LongAdder();
  private final AtomicInteger opened = new AtomicInteger();

  public IdleRun(Settings settings, PrintStream progress) {
    this.settings = settings;
    this.progress = progress;
  }

  public Result run() throws InterruptedException {
    String runId = UUID.randomUUID().toString().substring(0, 8);
    Tokens tokens = Tokens.fromConfigured(settings.secret());
    Duration ttl = settings.setupTimeout().plus(settings.hold()).plusHours(1);
    Socket[] sockets = new Socket[settings.connections()];
    long setupStart = System.nanoTime();
    long deadline = setupStart + settings.setupTimeout().toNanos();
    ExecutorService pool = Executors.newFixedThreadPool(settings.parallelism());
    try {
      for (int i = 0; i < sockets.length; i++) {
        int index = i;
        pool.execute(() -> sockets[index] = open(index, tokens.mint("idle-" + runId + "-" + index, ttl), deadline));
      }
      pool.shutdown();
      while (!pool.awaitTermination(1, TimeUnit.SECONDS)) {
        progress.printf(Locale.ROOT, "[idle] opening: %d/%d open, %d failed attempts%n", opened.get(), sockets.length, failedAttempts());
        if (System.nanoTime() - deadline > 0) {
          pool.shutdownNow();
          pool.awaitTermination(HANDSHAKE_TIMEOUT_MS * 2L, TimeUnit.MILLISECONDS);
          break;
        }
      }
      double setupSeconds = (System.nanoTime() - setupStart) / 1e9;
      progress.printf(Locale.ROOT, "[idle] %d/%d open after %.1fs; holding for %ds%n",
          opened.get(), sockets.length, setupSeconds, settings.hold().toSeconds());
      long holdStart = System.nanoTime();
      long holdEnd = holdStart + settings.hold().toNanos();
      while (System.nanoTime() - holdEnd < 0) {
        TimeUnit.MILLISECONDS.sleep(Math.min(10_000, Math.max(1, (holdEnd - System.nanoTime()) / 1_000_000)));
        progress.printf(Locale.ROOT, "[idle] holding: %d open, %.0fs left%n", opened.get(), Math.max(0, (holdEnd - System.nanoTime()) / 1e9));
      }
      double heldSeconds = (System.nanoTime() - holdStart) / 1e9;
      int stillOpen = countStillOpen(sockets);
      return new Result(
          sockets.length,
          settings.sources().all().stream().map(a -> a.getHostAddress()).toList(),
          opened.get(),
          retried.sum(),
          snapshot(failures),
          stillOpen,
          opened.get() - stillOpen,
          setupSeconds,
          heldSeconds);
    } finally {
      pool.shutdownNow();
      for (Socket socket : sockets) closeQuietly(socket);
    }
  }

  /** One connection: bind the source address, connect, handshake; retries 503s until the deadline. */
  private Socket open(int index, String token, long deadlineNanos) {
    URI base = settings.urls().get(index % settings.urls().size());
    URI url = URI.create(base + (base.getQuery() == null ? "?" : "&") + "token=" + token);
    int port = url.getPort() < 0 ? ("wss".equals(url.getScheme()) ? 443 : 80) : url.getPort();
    while (System.nanoTime() - deadlineNanos < 0 && !Thread.currentThread().isInterrupted()) {
      Socket socket = new Socket();
      try {
        socket.bind(new InetSocketAddress(settings.sources().forConnection(index), 0));
        socket.connect(new InetSocketAddress(url.getHost(), port), HANDSHAKE_TIMEOUT_MS);
        socket.setSoTimeout(HANDSHAKE_TIMEOUT_MS);
        byte[] nonce = new byte[16];
        random.nextBytes(nonce);
        String key = WebSocketHandshake.key(nonce);
        OutputStream out = socket.getOutputStream();
        out.write(WebSocketHandshake.request(url, key).getBytes(StandardCharsets.US_ASCII));
        out.flush();
        WebSocketHandshake.Response response = WebSocketHandshake.Response.parse(readHead(socket.getInputStream()));
        if (response.upgrades(key)) {
          socket.setSoTimeout(0);
          opened.incrementAndGet();
          return socket;
        }
        closeQuietly(socket);
        if (response.status() == 503) {
          retried.increment();
          TimeUnit.SECONDS.sleep(Math.max(1, response.retryAfterSeconds().orElse(1)));
          continue;
        }
        fail(response.status() == 101 ? "bad_accept" : "http_" + response.status());
        return null;
      } catch (InterruptedException e) {
        closeQuietly(socket);
        Thread.currentThread().interrupt();
        return null;
      } catch (IOException | RuntimeException e) {
        closeQuietly(socket);
        fail(e.getClass().getSimpleName());
        return null;
      }
    }
    fail("setup_timeout");
    return null;
  }

  /** The response's status line and headers, up to the blank line; reads nothing beyond it. */
  private static String readHead(InputStream in) throws IOException {
    ByteArrayOutputStream head = new ByteArrayOutputStream();
    int last4 = 0; // the last four bytes read, to spot the blank line "\r\n\r\n"
    while (last4 != 0x0D0A0D0A) {
      int b = in.read();
      if (b < 0) throw new IOException("connection closed during the handshake");
      head.write(b);
      if (head.size() > MAX_RESPONSE_HEAD) throw new IOException("handshake response too long");
      last4 = (last4 << 8) | b;
    }
    return head.toString(StandardCharsets.US_ASCII);
  }

  /**
   * Connections the server has not closed: a read that times out means open (pings it sent are
   * read and dropped on the way), end of stream or an error means closed.
   */
  private int countStillOpen(Socket[] sockets) throws InterruptedException {
    AtomicInteger open = new AtomicInteger();
    ExecutorService pool = Executors.newFixedThreadPool(settings.parallelism());
    ThreadLocal<byte[]> buffer = ThreadLocal.withInitial(() -> new byte[4096]);
    for (Socket socket : sockets) {
      if (socket == null) continue;
      pool.execute(() -> {
        try {
          socket.setSoTimeout(5);
          InputStream in = socket.getInputStream();
          while (in.read(buffer.get()) >= 0) {
            // server pings: drop them and keep reading until the socket is quiet
          }
        } catch (SocketTimeoutException quiet) {
          open.incrementAndGet();
        } catch (IOException closed) {
          // reset by the server: not open
        }
      });
    }
    pool.shutdown();
    pool.awaitTermination(10, TimeUnit.MINUTES);
    return open.get();
  }

  private void fail(String cause) {
    failures.computeIfAbsent(cause, c -> new LongAdder()).increment();
  }

  private long failedAttempts() {
    return failures.values().stream().mapToLong(LongAdder::sum).sum();
  }

  private static Map<String, Long> snapshot(Map<String, LongAdder> counts) {
    Map<String, Long> copy = new TreeMap<>();
    counts.forEach((k, v) -> copy.put(k, v.sum()));
    return copy;
  }

  private static void closeQuietly(Socket socket) {
    if (socket == null) return;
    try {
      socket.close();
    } catch (IOException ignored) {
      // closing anyway
    }
  }
}
