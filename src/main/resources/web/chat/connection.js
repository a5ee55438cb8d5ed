// One websocket to the node, speaking protocol v1 (src/site/markdown/protocol.md), that survives
// drops: it reconnects with exponential backoff and full jitter (or after a `reconnect` frame's
// afterMs), resubscribes each conversation with `since` = the last seq it saw, and resends every
// send not yet acknowledged with its original clientMsgId (the server makes that idempotent).
// A send refused with `retryAfterMs` (an overloaded node, a rate limit) holds every send of the
// connection until the hint has passed (plus jitter); then the held sends go out one at a time,
// oldest first, each once the previous one is answered, until the outbox has caught up
// (protocol.md, "Overload and rate limits").

const REQUEST_TIMEOUT_MS = 10000;
const MAX_BACKOFF_MS = 30000;
const BASE_BACKOFF_MS = 250;

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
    this.catchingUp = null; // after a hold: the one send in flight, the rest waits for its answer
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
    // While catching up after a hold only that one send goes out; during a hold none does. A held
    // send stays in unacked and goes out in order once the hold ends.
    const held = this.catchingUp !== null ? this.catchingUp !== clientMsgId : Date.now() < this.holdUntil;
    if (held) return;
    this.request({ type: 'send', conversation: send.conversation, clientMsgId, text: send.text })
      .then((ack) => {
        this.unacked.delete(clientMsgId);
        this.emit('ack', ack);
        if (this.catchingUp === clientMsgId) this.sendNextHeld();
      })
      .catch((e) => {
        const retryAfterMs = e.frame && e.frame.retryAfterMs;
        if ((e.code === 'unavailable' || e.code === 'rate_limited') && retryAfterMs > 0 && this.unacked.has(clientMsgId)) {
          this.holdSends(retryAfterMs);
        } else if (e.code !== 'unavailable') {
          this.unacked.delete(clientMsgId);
          this.emit('problem', { message: `not sent: ${e.message}`, clientMsgId, conversation: send.conversation });
          if (this.catchingUp === clientMsgId) this.sendNextHeld();
        } else if (this.connected && this.unacked.has(clientMsgId)) {
          // The node answered unavailable (conversation moving): retry soon, same clientMsgId.
          setTimeout(() => this.connected && this.transmitSend(clientMsgId, send), 500 + Math.random() * 1000);
        } // not connected: resent by onOpen
      });
  }

  /** No send goes out before the hint has passed, plus up to half of it again (jitter). */
  holdSends(retryAfterMs) {
    const until = Math.ceil(Date.now() + retryAfterMs + Math.random() * (retryAfterMs / 2));
    if (until <= this.holdUntil) return;
    this.holdUntil = until;
    this.catchingUp = null;
    clearTimeout(this.holdTimer);
    this.holdTimer = setTimeout(() => this.sendNextHeld(), until - Date.now());
  }

  /** After a hold: the oldest unacknowledged send alone; none left: sends go out as they come. */
  sendNextHeld() {
    const early = this.holdUntil - Date.now();
    if (early > 0) {
      // A timer may fire a little before its time; the hold must not end unnoticed.
      this.holdTimer = setTimeout(() => this.sendNextHeld(), early);
      return;
    }
    const next = this.unacked.entries().next();
    if (next.done) {
      this.catchingUp = null;
      return;
    }
    const [clientMsgId, send] = next.value;
    this.catchingUp = clientMsgId;
    if (this.connected) this.transmitSend(clientMsgId, send); // not connected: onOpen resends it
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
