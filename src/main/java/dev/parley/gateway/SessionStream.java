package dev.parley.gateway;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Optional;
import java.util.function.BiFunction;
import java.util.function.Function;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.stream.Attributes;
import org.apache.pekko.stream.FlowShape;
import org.apache.pekko.stream.Inlet;
import org.apache.pekko.stream.Outlet;
import org.apache.pekko.stream.stage.AbstractInHandler;
import org.apache.pekko.stream.stage.AbstractOutHandler;
import org.apache.pekko.stream.stage.AsyncCallback;
import org.apache.pekko.stream.stage.GraphStage;
import org.apache.pekko.stream.stage.GraphStageLogic;
import org.apache.pekko.stream.stage.TimerGraphStageLogic;

/**
 * The connection's end of a {@link Session}, one stage fused into the connection's own stream:
 * client frames go to the session one at a time, each only once the session asked for it (its
 * {@code max-in-flight} rule); frames from the session wait in one bounded queue until the
 * websocket takes them. It holds no other state: everything a connection knows lives in its
 * session. It replaces a pre-materialized {@code Source.queue} (a stream of its own per
 * connection), a {@code mapAsync} and an actor sink.
 *
 * <p>The session is started when the stream starts ({@code startSession}), and the stage pulls the
 * first client frame at once: a new session has room for one ({@code max-in-flight} is at least 1),
 * and asking it first cost a message to the session and its answer back, a thread woken each way, per
 * connection (benchmarks.md, issue 19, 2026-12-06). The session hears {@link Session.ClientGone} (or
 * {@link Session.ClientFailed}) when the stream ends, whichever side ended it. Frames queued for a
 * client whose session is gone wait at most {@code lingerTimeout} ({@code pekko.http.server.linger-timeout}):
 * a client that stops reading does not keep them, nor its connection, for good.
 */
final class SessionStream extends GraphStage<FlowShape<IncomingFrame, String>> {

  private final Inlet<IncomingFrame> in = Inlet.create("SessionStream.in");
  private final Outlet<String> out = Outlet.create("SessionStream.out");
  private final FlowShape<IncomingFrame, String> shape = FlowShape.of(in, out);
  private final BiFunction<Attributes, OutboundQueue, ActorRef<Session.Command>> startSession;
  private final Runnable frameReceived;
  private final Runnable frameSent;
  private final Optional<Duration> lingerTimeout;
  private static final String LINGER_TIMER = "linger";

  /**
   * @param startSession starts the session that owns this connection, given its side of the stream
   * @param frameReceived, frameSent node-wide counters (NodeLifecycle), called on the stream's thread
   * @param lingerTimeout how long frames queued for a client whose session is gone wait for it (empty: without end)
   */
  SessionStream(Function<OutboundQueue, ActorRef<Session.Command>> startSession, Runnable frameReceived, Runnable frameSent, Optional<Duration> lingerTimeout) {
    this((attributes, queue) -> startSession.apply(queue), frameReceived, frameSent, lingerTimeout);
  }

  /**
   * @param startSession starts the session given the stage's attributes: a stage shared by every
   *     connection finds the connection's own data there (see WebSocketRoute)
   */
  SessionStream(BiFunction<Attributes, OutboundQueue, ActorRef<Session.Command>> startSession, Runnable frameReceived, Runnable frameSent,
      Optional<Duration> lingerTimeout) {
    this.startSession = startSession;
    this.frameReceived = frameReceived;
    this.frameSent = frameSent;
    this.lingerTimeout = lingerTimeout;
  }

  @Override
  public FlowShape<IncomingFrame, String> shape() {
    return shape;
  }

  @Override
  public Attributes initialAttributes() {
    return Attributes.name("SessionStream");
  }

  @Override
  public GraphStageLogic createLogic(Attributes inheritedAttributes) {
    return new Logic(inheritedAttributes);
  }

  private final class Logic extends TimerGraphStageLogic implements OutboundQueue.Stream {
    private final OutboundQueue queue = new OutboundQueue();
    private final ArrayDeque<String> frames = new ArrayDeque<>();
    private final AsyncCallback<String> onOffer = createAsyncCallback(this::enqueue);
    private final AsyncCallback<Boolean> onComplete = createAsyncCallback(ignored -> completeAfterQueued());
    private final AsyncCallback<Boolean> onAbandon = createAsyncCallback(ignored -> sessionGone());
    private final AsyncCallback<Boolean> onDemand = createAsyncCallback(ignored -> pullClient());
    private ActorRef<Session.Command> session;
    private boolean completing;
    private Session.Command last = Session.ClientGone.INSTANCE;
    private final Attributes attributes;

    Logic(Attributes attributes) {
      super(shape);
      this.attributes = attributes;
      setHandler(in, new AbstractInHandler() {
        @Override
        public void onPush() {
          frameReceived.run();
          session.tell(new Session.Incoming(grab(in)));
        }

        @Override
        public void onUpstreamFinish() {
          // The client closed: what is still queued for it is dropped (it resumes with since).
          completeStage();
        }

        @Override
        public void onUpstreamFailure(Throwable ex) {
          last = new Session.ClientFailed(ex);
          completeStage();
        }
      });
      setHandler(out, new AbstractOutHandler() {
        @Override
        public void onPull() {
          pushQueued();
        }

        @Override
        public void onDownstreamFinish(Throwable cause) {
          completeStage();
        }
      });
    }

    @Override
    public void preStart() {
      queue.attach(this);
      session = startSession.apply(attributes, queue);
      pull(in);
    }

    @Override
    public void postStop() {
      queue.clientEnded();
      if (session != null) session.tell(last);
    }

    // OutboundQueue.Stream: called by the session, from its thread.

    @Override
    public void offer(String text) {
      onOffer.invoke(text);
    }

    @Override
    public void complete() {
      onComplete.invoke(Boolean.TRUE);
    }

    @Override
    public void abandon() {
      onAbandon.invoke(Boolean.TRUE);
    }

    @Override
    public void demand() {
      onDemand.invoke(Boolean.TRUE);
    }

    // On the stream's thread.

    private void enqueue(String text) {
      frames.add(text);
      if (isAvailable(out)) pushQueued();
    }

    private void pushQueued() {
      String next = frames.poll();
      if (next != null) {
        queue.taken();
        frameSent.run();
        push(out, next);
      }
      if (completing && frames.isEmpty()) completeStage();
    }

    private void completeAfterQueued() {
      completing = true;
      if (frames.isEmpty()) completeStage();
    }

    /** The session is gone: the stream ends after the queued frames, or when the linger timeout has passed. */
    private void sessionGone() {
      completeAfterQueued();
      if (!frames.isEmpty()) lingerTimeout.ifPresent(linger -> scheduleOnce(LINGER_TIMER, linger));
    }

    /** The client has not taken the last frames within the linger timeout: it is not reading. */
    @Override
    public void onTimer(Object key) {
      frames.clear();
      completeStage();
    }

    private void pullClient() {
      if (!hasBeenPulled(in) && !isClosed(in)) pull(in);
    }
  }
}
