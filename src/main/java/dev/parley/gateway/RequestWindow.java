package dev.parley.gateway;

/**
 * The back-pressure of a connection's inbound side: the next client frame is pulled only while
 * fewer than {@code max-in-flight} requests are outstanding, so a client cannot queue unbounded work
 * in the node. A request counts from its frame until its reply is queued. The first frame is pulled
 * by the connection's stream when it starts the session (there is room for one then, max-in-flight
 * being at least 1), so a new session demands nothing until that frame has been handled. Confined
 * to the session's actor.
 */
final class RequestWindow {

  private final int maxInFlight;
  private final ClientOutbound outbound;
  private final ConnectionDrain drain;
  private int inFlight;
  /** The session wants the next client frame but has no room for it yet. */
  private boolean demandWaiting;

  RequestWindow(int maxInFlight, ClientOutbound outbound, ConnectionDrain drain) {
    this.maxInFlight = maxInFlight;
    this.outbound = outbound;
    this.drain = drain;
  }

  /** A frame was handled: pull the next one if there is room, else once a request finishes. */
  void acknowledge() {
    if (inFlight < maxInFlight && !drain.isClosing() && !outbound.isClosing()) outbound.demand();
    else demandWaiting = true;
  }

  void started() {
    inFlight++;
  }

  /** A request's reply is queued. A connection closing for a drain closes once none is left. */
  void done() {
    inFlight--;
    if (drain.isClosing()) {
      if (inFlight == 0) drain.closeWithReconnectHint();
      return;
    }
    if (demandWaiting && inFlight < maxInFlight) {
      demandWaiting = false;
      outbound.demand();
    }
  }

  int inFlight() {
    return inFlight;
  }
}
