// One websocket to the node, speaking protocol v1 (src/site/markdown/protocol.md), that survives
// drops: it reconnects with exponential backoff and full jitter (or after a `reconnect` frame's
// afterMs), resubscribes each conversation with `since` = the last seq it saw, and resends every
// send not yet acknowledged with its original clientMsgId (the server makes that idempotent).
// Sends go out through a window, as TCP's do: at most `window` unanswered at a time (starting at
// one), one more for each answered promptly (it doubles every round trip while the node keeps up),
// halved (once per round trip) by an answer slower than SLOW_MS, never above MAX_WINDOW; the rest
// waits in the outbox, oldest first. A send refused with
// `retryAfterMs` (an overloaded node, a rate limit) holds every send of the connection until the
// hint has passed (plus jitter) and halves the window (protocol.md, "Overload and rate limits").

const REQUEST_TIMEOUT_MS = 10000;
const MAX_BACKOFF_MS = 30000;
const BASE_BACKOFF_MS = 250;
// The window (protocol.md, "Overload and rate limits"): a node processes at most 32 requests of a
// connection at once (parley.gateway.max-in-flight); an answer at most 250 ms slower than the
// quickest this connection has had (half the wait past which a node refuses sends) widens it, one
// more than 500 ms slower (the wait a node allows an accepted send) halves it.
const MAX_WINDOW = 32;
const PROMPT_MS = 250;
const SLOW_MS = 500;

export class Connection extends EventTarget {
  constructor(token) {
    super();
    this.token = token;
    this.nextId = 1;
    this.pending = new Map(); // request id -> {resolve, reject, timer}
    this.subscriptions = new Map(); // conversation -> last seq seen (null: live only)
    this.unacked = new Map(); // clientMsgId -> {conversation, text}
    this.attempt = 0;
    this.closedByUser = false;
    this.socket = null;
    this.reconnectTimer = null;
    this.nextDelayMs = null;
    this.holdUntil = 0; // Date.now() before which no send goes out (a retry hint)
    this.holdTimer = null;
    this.window = 1; // sends that may be unanswered at once; halved by each hold
    this.inFlight = new Map(); // clientMsgId -> performance.now() when it went out
    this.quickestMs = Infinity; // the quickest answer to a send on this connection
    this.cutAt = -Infinity; // performance.now() when a slow answer last halved the window
  }

  get connected() {
    return this.socket !== null && this.socket.readyState === WebSocket.OPEN;
  }

  open() {
    const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
    const socket = new WebSocket(`${scheme}://${location.host}/v1/ws?token=${encodeURIComponent(this.token)}`);
    this.socket = socket;
    this.emit('state', { state: this.attempt === 0 ? 'connecting' : 'reconnecting' });
    socket.onopen = () => this.onOpen();
    socket.onmessage = (e) => this.onFrame(JSON.parse(e.data));
    socket.onclose = () => {
      if (this.socket === socket) this.onDrop();
    };
  }

  close() {
    this.closedByUser = true;
    clearTimeout(this.reconnectTimer);
    if (this.socket) this.socket.close();
  }

  /** Closes the socket as a network failure would; the connection then resumes by itself. */
  drop() {
    if (this.socket) this.socket.close();
  }

  async onOpen() {
    this.attempt = 0;
    this.emit('state', { state: 'connected' });
    for (const [conversation, since] of this.subscriptions) {
      this.subscribe(conversation, since).catch((e) => this.emit('problem', { message: e.message }));
    }
    for (const [clientMsgId, send] of this.unacked) this.transmitSend(clientMsgId, send);
  }

  onDrop() {
    this.socket = null;
    for (const [, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(new RequestError('unavailable', 'connection lost'));
    }
    this.pending.clear();
    if (this.closedByUser) return;
    // Full jitter: random(0, min(30 s, 250 ms × 2^attempt)), unless the server said when.
    const delay =
      this.nextDelayMs ?? Math.random() * Math.min(MAX_BACKOFF_MS, BASE_BACKOFF_MS * 2 ** this.attempt);
    this.nextDelayMs = null;
    this.attempt += 1;
    this.emit('state', { state: 'reconnecting', delayMs: Math.round(delay) });
    this.reconnectTimer = setTimeout(() => this.open(), delay);
  }

  onFrame(frame) {
    if (frame.id !== undefined && this.pending.has(frame.id)) {
      const p = this.pending.get(frame.id);
      this.pending.delete(frame.id);
      clearTimeout(p.timer);
      if (frame.type === 'error') p.reject(new RequestError(frame.code, frame.message, frame));
      else p.resolve(frame);
      return;
    }
    if (frame.type === 'reconnect') {
      this.nextDelayMs = frame.afterMs;
      return;
    }
    if (typeof frame.seq === 'number' && frame.conversation && this.subscriptions.has(frame.conversation)) {
      const last = this.subscriptions.get(frame.conversation);
      if (last !== null && frame.seq <= last) return; // already seen (a resume may overlap)
      this.subscriptions.set(frame.conversation, frame.seq);
    }
    this.emit('frame', frame);
  }

  request(frame) {
    return new Promise((resolve, reject) => {
      if (!this.connected) {
        reject(new RequestError('unavailable', 'not connected'));
        return;
      }
      const id = this.nextId++;
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new RequestError('unavailable', 'no answer in time'));
      }, REQUEST_TIMEOUT_MS);
      this.pending.set(id, { resolve, reject, timer });
      this.socket.send(JSON.stringify({ ...frame, id }));
    });
  }

  /** Subscribes from `since` (null: live only) and remembers it, so a reconnect resumes from there. */
  async subscribe(conversation, since) {
    this.subscriptions.set(conversation, since);
    const frame = { type: 'subscribe', conversation };
    if (since !== null && since !== undefined) frame.since = since;
    try {
      const reply = await this.request(frame);
      if (this.subscriptions.get(conversation) === null) this.subscriptions.set(conversation, reply.lastSeq);
      if (reply.recovered === false) this.emit('gap', { conversation, lastSeq: reply.lastSeq });
      return reply;
    } catch (e) {
      if (e.code === 'rate_limited') {
        setTimeout(() => this.subscribe(conversation, this.subscriptions.get(conversation)), e.frame.retryAfterMs);
        return null;
      }
      if (e.code !== 'unavailable') this.subscriptions.delete(conversation);
      throw e;
    }
  }

  unsubscribe(conversation) {
    this.subscriptions.delete(conversation);
    if (this.connected) this.request({ type: 'unsubscribe', conversation }).catch(() => {});
  }

  /** Sends once durably: retried with the same clientMsgId until acknowledged or refused. */
  send(conversation, text) {
    const clientMsgId = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`;
    const send = { conversation, text };
    this.unacked.set(clientMsgId, send);
    if (this.connected) this.transmitSend(clientMsgId, send);
    return clientMsgId;
  }

  transmitSend(clientMsgId, send) {
    // During a hold no send goes out; otherwise only as many as the window has room for, oldest
    // first (sendHeld). A held send stays in unacked and goes out in order.
    if (Date.now() < this.holdUntil) return;
    if (!this.inFlight.has(clientMsgId)) {
      if (this.inFlight.size >= this.window || this.olderHeld(clientMsgId)) return;
      this.inFlight.set(clientMsgId, performance.now());
    }
    this.request({ type: 'send', conversation: send.conversation, clientMsgId, text: send.text })
      .then((ack) => {
        this.unacked.delete(clientMsgId);
        this.emit('ack', ack);
        this.settled(clientMsgId);
      })
      .catch((e) => {
        const retryAfterMs = e.frame && e.frame.retryAfterMs;
        if ((e.code === 'unavailable' || e.code === 'rate_limited') && retryAfterMs > 0 && this.unacked.has(clientMsgId)) {
          this.holdSends(clientMsgId, retryAfterMs);
        } else if (e.code !== 'unavailable') {
          this.unacked.delete(clientMsgId);
          this.emit('problem', { message: `not sent: ${e.message}`, clientMsgId, conversation: send.conversation });
          this.settled(clientMsgId);
        } else if (this.connected && this.unacked.has(clientMsgId)) {
          // The node answered unavailable (conversation moving): retry soon, same clientMsgId.
          setTimeout(() => this.connected && this.transmitSend(clientMsgId, send), 500 + Math.random() * 1000);
        } // not connected: resent by onOpen
      });
  }

  /**
   * No send goes out before the hint has passed, plus up to half of it again (jitter); the hold
   * halves the window once, however many of the sends in flight the node refuses.
   */
  holdSends(clientMsgId, retryAfterMs) {
    this.inFlight.delete(clientMsgId);
    const now = Date.now();
    if (now >= this.holdUntil) this.window = Math.max(1, Math.floor(this.window / 2));
    const until = Math.ceil(now + retryAfterMs + Math.random() * (retryAfterMs / 2));
    if (until <= this.holdUntil) return;
    this.holdUntil = until;
    clearTimeout(this.holdTimer);
    this.holdTimer = setTimeout(() => this.sendHeld(), until - now);
  }

  /**
   * A send answered for good: a prompt answer widens the window, a slow one halves it (once per
   * round trip: only answers to sends that went out after the last cut cut again), and held sends
   * take the room.
   */
  settled(clientMsgId) {
    const sentAt = this.inFlight.get(clientMsgId);
    this.inFlight.delete(clientMsgId);
    const holding = Date.now() < this.holdUntil;
    if (sentAt !== undefined) {
      const now = performance.now();
      this.quickestMs = Math.min(this.quickestMs, now - sentAt);
      const slower = now - sentAt - this.quickestMs;
      if (slower > SLOW_MS) {
        if (sentAt > this.cutAt) {
          this.window = Math.max(1, Math.floor(this.window / 2));
          this.cutAt = now;
        }
      } else if (!holding && slower <= PROMPT_MS) {
        this.window = Math.min(MAX_WINDOW, this.window + 1);
      }
    }
    if (!holding) this.sendHeld();
  }

  /** Whether a send older than this one is waiting (held sends go out oldest first). */
  olderHeld(clientMsgId) {
    for (const id of this.unacked.keys()) {
      if (id === clientMsgId) return false;
      if (!this.inFlight.has(id)) return true;
    }
    return false;
  }

  /** The oldest held sends the window has room for (after a hold, or as answers come). */
  sendHeld() {
    const early = this.holdUntil - Date.now();
    if (early > 0) {
      // A timer may fire a little before its time; the hold must not end unnoticed.
      clearTimeout(this.holdTimer);
      this.holdTimer = setTimeout(() => this.sendHeld(), early);
      return;
    }
    for (const [clientMsgId, send] of this.unacked) {
      if (this.inFlight.size >= this.window || !this.connected) break; // not connected: onOpen resends
      if (!this.inFlight.has(clientMsgId)) this.transmitSend(clientMsgId, send);
    }
  }

  typing(conversation) {
    if (this.connected) this.socket.send(JSON.stringify({ type: 'typing', conversation }));
  }

  emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }
}

export class RequestError extends Error {
  constructor(code, message, frame) {
    super(message);
    this.code = code;
    this.frame = frame;
  }
}
