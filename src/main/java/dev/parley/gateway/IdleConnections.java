package dev.parley.gateway;

import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.Optional;
import java.util.function.Function;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.Cancellable;
import org.apache.pekko.actor.ClassicActorSystemProvider;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Extension;
import org.apache.pekko.actor.typed.ExtensionId;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.stream.Shape;
import org.apache.pekko.stream.javadsl.Flow;
import org.apache.pekko.stream.stage.AsyncCallback;
import org.apache.pekko.stream.stage.GraphStageLogic;

/**
 * Closes the connections nothing was heard from for {@code parley.gateway.idle-timeout}, with one
 * sweep per node instead of a timer per connection. It replaces Pekko HTTP's
 * {@code pekko.http.server.idle-timeout} (switched off in application.conf), whose check runs on
 * every connection every second for any timeout above 1 s (pekko 1.2.1 {@code Timers.timeoutCheckInterval},
 * used by {@code IdleTimeoutBidi}): 10,000 stream wake-ups per second for 10,000 idle websockets.
 * Here an idle connection costs one set entry and a volatile write per frame; every
 * {@code idle-sweep-interval} one scheduler task reads each connection's last-heard time and wakes only
 * the connections found overdue, which re-check on their own thread and close.
 *
 * <p>Two kinds of connections are watched: websockets, by their {@link WebSocketFrames} stage (every
 * frame from the client counts, pongs included), and plain HTTP connections between requests, by an
 * {@link RoutedRequests} stage (it stops watching a connection when it is upgraded).
 */
public final class IdleConnections implements Extension {

  /** {@code timeout}: silence that closes a connection; {@code sweepInterval}: how often the sweep looks (the timeout's precision). */
  public record Settings(Duration timeout, Duration sweepInterval) {
    public Settings {
      if (timeout.compareTo(Duration.ofSeconds(1)) < 0) throw new IllegalArgumentException("parley.gateway.idle-timeout must be at least 1s");
      if (sweepInterval.isNegative() || sweepInterval.isZero() || sweepInterval.compareTo(timeout) > 0) {
        throw new IllegalArgumentException("parley.gateway.idle-sweep-interval must be positive and at most idle-timeout");
      }
    }
  }

  private final ActorSystem<?> system;
  private final Set<Watched> watched = ConcurrentHashMap.newKeySet();
  private volatile long timeoutNanos = Long.MAX_VALUE;
  private Cancellable sweep;

  private IdleConnections(ActorSystem<?> system) {
    this.system = system;
  }

  public static IdleConnections get(ActorSystem<?> system) {
    return Id.INSTANCE.apply(system);
  }

  /** Starts the sweep (once, when the node binds its port); connections are only watched, never closed, before. */
  public synchronized void start(Settings settings) {
    if (sweep != null) return;
    timeoutNanos = settings.timeout().toNanos();
    sweep = system.scheduler().scheduleWithFixedDelay(
        settings.sweepInterval(), settings.sweepInterval(), this::sweep, system.executionContext());
  }

  /**
   * A connection's handler: {@code webSocket} ({@link WebSocketRoute#answer}) and then {@code routes}
   * answering its requests, with the idle timeout of plain HTTP connections ({@link RoutedRequests};
   * bind it with {@code bindFlow}).
   */
  public static Flow<HttpRequest, HttpResponse, NotUsed> aroundRoutes(
      Function<HttpRequest, Optional<HttpResponse>> webSocket, Route routes, ClassicActorSystemProvider system, IdleConnections connections) {
    return RoutedRequests.of(webSocket, routes, system, connections);
  }

  /** Connections being watched now: one per open websocket or idle HTTP connection (tests, metrics). */
  public int watchedCount() {
    return watched.size();
  }

  private void sweep() {
    long now = System.nanoTime();
    long timeout = timeoutNanos;
    for (Watched connection : watched) {
      if (now - connection.lastHeardNanos() >= timeout) connection.overdue();
    }
  }

  /** Watches {@code connection} until {@link #unwatch}: for stage logics that are not a {@link WatchedLogic}. */
  void watch(Watched connection) {
    watched.add(connection);
  }

  void unwatch(Watched connection) {
    watched.remove(connection);
  }

  /** Whether a connection last heard from at {@code lastHeardNanos} has been silent for the timeout at {@code now}. */
  boolean silentSince(long lastHeardNanos, long now) {
    return now - lastHeardNanos >= timeoutNanos;
  }

  /** What the sweep sees of a connection. */
  interface Watched {
    long lastHeardNanos();

    /** Called from the sweep's thread: the connection re-checks on its own thread. */
    void overdue();
  }

  /**
   * The stage logic of a watched connection: {@link #heard()} on each sign of life; {@link #closeIdle()}
   * runs on the stream's thread once the sweep found it silent for the timeout and it still is.
   */
  abstract static class WatchedLogic extends GraphStageLogic implements Watched {
    private final IdleConnections connections;
    private final AsyncCallback<Long> onOverdue = createAsyncCallback(this::recheck);
    private volatile long lastHeard = System.nanoTime();
    private boolean watching;

    WatchedLogic(Shape shape, IdleConnections connections) {
      super(shape);
      this.connections = connections;
    }

    /** Something came from (or, for some connections, went to) the client. */
    protected final void heard() {
      lastHeard = System.nanoTime();
    }

    /** Whether silence may close the connection now (e.g. no request in progress). */
    protected boolean mayClose() {
      return true;
    }

    protected abstract void closeIdle();

    protected final void watch() {
      if (!watching) {
        watching = true;
        connections.watched.add(this);
      }
    }

    protected final void unwatch() {
      if (watching) {
        watching = false;
        connections.watched.remove(this);
      }
    }

    @Override
    public final long lastHeardNanos() {
      return lastHeard;
    }

    @Override
    public final void overdue() {
      onOverdue.invoke(System.nanoTime());
    }

    private void recheck(Long now) {
      if (watching && mayClose() && now - lastHeard >= connections.timeoutNanos) {
        unwatch();
        closeIdle();
      }
    }

    @Override
    public void postStop() {
      unwatch();
    }
  }

  private static final class Id extends ExtensionId<IdleConnections> {
    static final Id INSTANCE = new Id();

    @Override
    public IdleConnections createExtension(ActorSystem<?> system) {
      return new IdleConnections(system);
    }
  }
}
