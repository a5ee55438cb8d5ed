// The Parley browser client: sign-in, conversation list with unread counts, a conversation view
// with history paging and typing indicator. Protocol handling (resume, retries) is in connection.js.
import { Connection, RequestError } from './connection.js';

const HISTORY_PAGE = 30;
const TYPING_SEND_EVERY_MS = 2000;
const TYPING_SHOWN_MS = 4000;

const $ = (id) => document.getElementById(id);

const state = {
  user: null,
  connection: null,
  conversations: new Map(), // id -> conversation view model
  current: null,
  lastTypingSent: 0,
  typingTimer: null,
};

// ---- sign-in ---------------------------------------------------------------------------------

async function devLogin(user) {
  const response = await fetch('/v1/dev/token', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ user }),
  });
  if (response.status === 404) throw new Error('this node does not hand out tokens: paste one');
  const body = await response.json();
  if (!response.ok) throw new Error(body.message || `sign-in failed (${response.status})`);
  return body;
}

/** The user a token names (its `sub`); the node verifies the token itself when connecting. */
function subjectOf(token) {
  try {
    const payload = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    return JSON.parse(atob(payload)).sub || null;
  } catch {
    return null;
  }
}

function showLogin(message) {
  $('login').hidden = false;
  $('chat').hidden = true;
  $('me').hidden = true;
  // The connection badge means something only once signed in (no grey "offline" before).
  $('connection').hidden = true;
  $('sign-out').hidden = true;
  $('login-error').textContent = message || '';
}

function signedIn(user, token) {
  // Per tab: two tabs (or browser contexts) can be two users; a reload keeps the session.
  sessionStorage.setItem('parley.token', token);
  start(user, token);
}

$('dev-login').addEventListener('submit', async (e) => {
  e.preventDefault();
  try {
    const { user, token } = await devLogin($('login-user').value.trim());
    signedIn(user, token);
  } catch (err) {
    showLogin(err.message);
  }
});

$('token-login').addEventListener('submit', (e) => {
  e.preventDefault();
  const token = $('login-token').value.trim();
  const user = subjectOf(token);
  if (!user) return showLogin('that is not a token');
  signedIn(user, token);
});

$('sign-out').addEventListener('click', () => {
  sessionStorage.removeItem('parley.token');
  location.hash = '';
  location.reload();
});

// ---- connection ------------------------------------------------------------------------------

function start(user, token) {
  state.user = user;
  $('login').hidden = true;
  $('chat').hidden = false;
  $('me').hidden = false;
  $('me').textContent = user;
  $('connection').hidden = false;
  $('sign-out').hidden = false;
  const connection = new Connection(token);
  state.connection = connection;
  window.parley = { connection, state }; // for debugging in the console
  connection.addEventListener('state', (e) => {
    const { state: s, delayMs } = e.detail;
    $('connection').dataset.state = s;
    $('connection').textContent = s === 'reconnecting' && delayMs !== undefined ? `reconnecting in ${(delayMs / 1000).toFixed(1)} s` : s;
    if (s === 'connected') {
      loadConversationList();
      // After the connection has re-sent its subscribe frames (synchronously, right after this event).
      if (state.current && state.connection.subscriptions.has(state.current)) queueMicrotask(() => watchPresence(state.current));
    }
  });
  connection.addEventListener('frame', (e) => onFrame(e.detail));
  connection.addEventListener('ack', (e) => onAck(e.detail));
  connection.addEventListener('gap', (e) => reloadHistory(e.detail.conversation));
  connection.addEventListener('problem', (e) => problem(e.detail.message));
  connection.open();
  // A websocket refused before the upgrade (expired or forged token) never opens.
  fetch('/v1/inbox?limit=1', { headers: { Authorization: `Bearer ${token}` } }).then((r) => {
    if (r.status === 401) {
      connection.close();
      sessionStorage.removeItem('parley.token');
      showLogin('the token was refused: sign in again');
    }
  });
}

function problem(message) {
  $('problem').textContent = message;
}

// ---- the conversation list -------------------------------------------------------------------

function conversation(id) {
  let c = state.conversations.get(id);
  if (!c) {
    c = { id, title: id, lastSeq: 0, readSeq: 0, unread: 0, muted: false, preview: null, lastActivity: 0, events: new Map(), pendingSends: new Map(), receipts: new Map(), historyLoaded: false, noOlder: false };
    state.conversations.set(id, c);
  }
  return c;
}

const INBOX_PAGE = 50;
const INBOX_PAGES_AT_START = 4;

/**
 * The first pages of the inbox (most recent first); older conversations come back to the top, as
 * `inbox_update`, when something happens in them. Reloaded after a reconnect: counts may have
 * changed while the connection was down.
 */
async function loadConversationList() {
  try {
    let cursor = null;
    for (let page = 0; page < INBOX_PAGES_AT_START; page++) {
      const frame = { type: 'inbox', limit: INBOX_PAGE };
      if (cursor) frame.cursor = cursor;
      const reply = await state.connection.request(frame);
      for (const item of reply.items) applyInboxItem(item);
      cursor = reply.next;
      if (!cursor) break;
    }
  } catch (e) {
    problem(`inbox: ${e.message}`);
  }
  renderList();
  if (location.hash.startsWith('#c=')) openConversation(decodeURIComponent(location.hash.slice(3)));
}

function applyInboxItem(item) {
  if (item.removed) {
    state.conversations.delete(item.conversation);
    renderList();
    return;
  }
  const c = conversation(item.conversation);
  c.title = item.title || item.conversation;
  c.lastSeq = item.lastSeq;
  c.readSeq = item.readSeq;
  c.unread = item.unread;
  c.muted = Boolean(item.muted);
  c.preview = item.preview;
  c.lastActivity = item.lastActivity;
  if (state.current === c.id && c.unread > 0) markRead(c);
  if (state.current === c.id) renderMuteToggle(c);
}

function renderList() {
  const list = $('inbox');
  const sorted = [...state.conversations.values()].sort((a, b) => b.lastActivity - a.lastActivity);
  list.replaceChildren(
    ...sorted.map((c) => {
      const li = document.createElement('li');
      li.dataset.conversation = c.id;
      li.classList.toggle('open', c.id === state.current);
      const title = el('span', 'title', c.title);
      const unread = el('span', 'unread', String(c.id === state.current ? 0 : c.unread));
      unread.dataset.count = c.id === state.current ? '0' : String(c.unread);
      const preview = el('span', 'preview', previewText(c.preview));
      li.append(title, unread);
      // Muted: no offline notifications (protocol.md, "mute"); the unread count still shows.
      if (c.muted) li.append(el('span', 'muted', 'muted'));
      li.append(preview);
      li.addEventListener('click', () => openConversation(c.id));
      return li;
    }),
  );
}

function previewText(preview) {
  if (!preview) return '';
  return `${preview.sender}: ${preview.deleted ? 'message deleted' : preview.text}`;
}

function el(tag, className, text) {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text !== undefined) e.textContent = text;
  return e;
}

$('new-conversation').addEventListener('submit', async (e) => {
  e.preventDefault();
  const members = $('new-members').value.split(',').map((m) => m.trim()).filter(Boolean);
  const frame = { type: 'create', members };
  if ($('new-title').value.trim()) frame.title = $('new-title').value.trim();
  if ($('new-id').value.trim()) frame.conversation = $('new-id').value.trim();
  try {
    const reply = await state.connection.request(frame);
    const c = conversation(reply.conversation);
    c.title = frame.title || reply.conversation;
    c.lastActivity = Date.now();
    $('new-conversation').reset();
    openConversation(reply.conversation);
  } catch (err) {
    problem(`could not create: ${err.message}`);
  }
});

$('open-conversation').addEventListener('submit', (e) => {
  e.preventDefault();
  const id = $('open-id').value.trim();
  $('open-conversation').reset();
  openConversation(id);
});

// ---- one conversation ------------------------------------------------------------------------

async function openConversation(id) {
  const previous = state.current;
  state.current = id;
  location.hash = `c=${encodeURIComponent(id)}`;
  const c = conversation(id);
  // Only the open conversation is subscribed: the inbox keeps the others current.
  if (previous && previous !== id) state.connection.unsubscribe(previous);
  $('conversation-title').textContent = c.title;
  $('conversation-id').textContent = id;
  $('composer').hidden = false;
  renderMuteToggle(c);
  $('typing').textContent = '';
  $('members').replaceChildren();
  problem('');
  renderList();
  renderMessages(c);
  try {
    if (!c.historyLoaded) {
      const page = await state.connection.request({ type: 'history', conversation: id, limit: HISTORY_PAGE });
      for (const event of page.events) addEvent(c, event);
      c.historyLoaded = true;
      c.noOlder = page.events.length < HISTORY_PAGE || page.events[0].seq <= 1;
    }
    if (!state.connection.subscriptions.has(id)) await state.connection.subscribe(id, maxSeq(c));
    if (state.current === id) renderMessages(c);
    if (state.current === id) watchPresence(id);
    markRead(c);
  } catch (e) {
    if (e.code === 'forbidden' || e.code === 'not_found') {
      state.conversations.delete(id);
      renderList();
    }
    problem(`${id}: ${e.message}`);
  }
}

/** The open conversation's mute toggle shows the stored setting (an inbox_update changes it on every device). */
function renderMuteToggle(c) {
  const button = $('mute-toggle');
  button.hidden = false;
  button.setAttribute('aria-pressed', String(c.muted));
  button.textContent = c.muted ? 'Unmute' : 'Mute';
  button.title = c.muted ? 'Muted: no offline notifications for this conversation' : 'Stop offline notifications for this conversation';
}

$('mute-toggle').addEventListener('click', async () => {
  const c = state.current && state.conversations.get(state.current);
  if (!c) return;
  try {
    const reply = await state.connection.request({ type: 'mute', conversation: c.id, muted: !c.muted });
    c.muted = reply.muted;
    renderMuteToggle(c);
    renderList();
  } catch (e) {
    problem(`mute: ${e.message}`);
  }
});

function maxSeq(c) {
  let max = 0;
  for (const seq of c.events.keys()) max = Math.max(max, seq);
  return max;
}

function minSeq(c) {
  let min = Infinity;
  for (const seq of c.events.keys()) min = Math.min(min, seq);
  return min;
}

async function reloadHistory(id) {
  const c = conversation(id);
  c.historyLoaded = false;
  c.events.clear();
  if (state.current === id) openConversation(id);
}

$('load-older').addEventListener('click', async () => {
  const c = conversation(state.current);
  const before = minSeq(c);
  try {
    const page = await state.connection.request({ type: 'history', conversation: c.id, before, limit: HISTORY_PAGE });
    for (const event of page.events) addEvent(c, event);
    if (page.events.length < HISTORY_PAGE || page.events[0].seq <= 1) c.noOlder = true;
    const messages = $('messages');
    const keep = messages.scrollHeight - messages.scrollTop;
    renderMessages(c);
    messages.scrollTop = messages.scrollHeight - keep;
  } catch (e) {
    problem(e.message);
  }
});

function addEvent(c, event) {
  if (!c.events.has(event.seq)) c.events.set(event.seq, { ...event, conversation: c.id });
  c.lastSeq = Math.max(c.lastSeq, event.seq);
  if (event.type === 'conversation_created' && event.title) c.title = event.title;
  if (event.type === 'message' && event.sender === state.user) c.pendingSends.delete(event.clientMsgId);
}

function onFrame(frame) {
  if (frame.type === 'inbox_update') {
    applyInboxItem(frame);
    return renderList();
  }
  if (frame.type === 'typing') return showTyping(frame);
  if (frame.type === 'presence') return applyPresence(frame.users);
  if (frame.type === 'read_receipt') return showReceipt(frame);
  if (frame.type === 'error' && frame.conversation) return problem(`${frame.conversation}: ${frame.message}`);
  if (typeof frame.seq !== 'number' || !frame.conversation) return;
  const c = conversation(frame.conversation);
  addEvent(c, frame);
  if (frame.type === 'message') {
    c.preview = { seq: frame.seq, sender: frame.sender, text: frame.text };
    c.lastActivity = frame.ts;
    if (frame.sender === state.user) c.readSeq = Math.max(c.readSeq, frame.seq);
    if (state.typingFrom === frame.sender) $('typing').textContent = '';
  }
  if (frame.type === 'member_left' && frame.user === state.user) state.connection.unsubscribe(c.id);
  if (frame.type === 'member_left' && c.presence && c.presence.delete(frame.user) && state.current === c.id) renderMembers(c);
  if (state.current === c.id) {
    renderMessages(c, true);
    markRead(c);
  }
  renderList();
}

function onAck(ack) {
  const c = conversation(ack.conversation);
  c.pendingSends.delete(ack.clientMsgId);
  if (state.current === c.id) renderMessages(c);
}

function markRead(c) {
  if (document.visibilityState === 'hidden') return;
  const seq = c.lastSeq;
  c.unread = 0;
  if (seq > c.readSeq) {
    c.readSeq = seq;
    state.connection.request({ type: 'read', conversation: c.id, seq }).catch(() => {});
  }
  renderList();
}

document.addEventListener('visibilitychange', () => {
  if (state.current) markRead(conversation(state.current));
});

/** Renders the timeline: messages with edits and deletions applied, membership as notices. */
function renderMessages(c, scrollToEnd) {
  const messages = $('messages');
  const atEnd = messages.scrollHeight - messages.scrollTop - messages.clientHeight < 40;
  const byTarget = new Map();
  const items = [];
  for (const event of [...c.events.values()].sort((a, b) => a.seq - b.seq)) {
    if (event.type === 'message') {
      const li = el('li', 'message');
      li.dataset.seq = event.seq;
      li.classList.toggle('mine', event.sender === state.user);
      li.append(el('span', 'sender', event.sender), el('span', 'text', event.text));
      const time = el('time', null, new Date(event.ts).toLocaleTimeString());
      time.dateTime = new Date(event.ts).toISOString();
      li.append(time);
      byTarget.set(event.seq, li);
      items.push(li);
    } else if (event.type === 'message_edited' && byTarget.has(event.target)) {
      byTarget.get(event.target).querySelector('.text').textContent = event.text;
    } else if (event.type === 'message_deleted' && byTarget.has(event.target)) {
      const li = byTarget.get(event.target);
      li.classList.add('deleted');
      li.querySelector('.text').textContent = 'message deleted';
    } else {
      const notice = noticeFor(event);
      if (notice) {
        const li = el('li', 'notice', notice);
        li.dataset.seq = event.seq;
        items.push(li);
      }
    }
  }
  for (const [clientMsgId, text] of c.pendingSends) {
    const li = el('li', 'message mine pending');
    li.dataset.clientMsgId = clientMsgId;
    li.append(el('span', 'sender', state.user), el('span', 'text', text));
    items.push(li);
  }
  messages.replaceChildren(...items);
  renderReceipts(c);
  $('load-older').hidden = !c.historyLoaded || c.noOlder;
  if (scrollToEnd === undefined || atEnd || scrollToEnd) messages.scrollTop = messages.scrollHeight;
}

function noticeFor(event) {
  switch (event.type) {
    case 'conversation_created':
      return `${event.createdBy} created ${event.title || 'the conversation'} with ${event.members.join(', ')}`;
    case 'member_joined':
      return `${event.invitedBy} added ${event.user}`;
    case 'member_left':
      return `${event.user} left`;
    case 'handoff':
      return `${event.by} handed the conversation over to a person (${event.reason})`;
    default:
      return null;
  }
}

$('composer').addEventListener('submit', (e) => {
  e.preventDefault();
  const text = $('composer-text').value;
  if (!text.trim() || !state.current) return;
  const c = conversation(state.current);
  const clientMsgId = state.connection.send(c.id, text);
  c.pendingSends.set(clientMsgId, text);
  $('composer-text').value = '';
  renderMessages(c, true);
});

$('composer-text').addEventListener('input', () => {
  const now = Date.now();
  if (state.current && now - state.lastTypingSent > TYPING_SEND_EVERY_MS) {
    state.lastTypingSent = now;
    state.connection.typing(state.current);
  }
});

/** Read receipts of the other members: "seen by bob" under one's own latest message. */
function showReceipt(frame) {
  const c = conversation(frame.conversation);
  c.receipts.set(frame.user, Math.max(c.receipts.get(frame.user) || 0, frame.seq));
  if (state.current === c.id) renderReceipts(c);
}

function renderReceipts(c) {
  const events = [...c.events.values()].filter((e) => e.type === 'message');
  const mine = events.filter((e) => e.sender === state.user).map((e) => e.seq);
  if (!mine.length) return ($('receipts').textContent = '');
  const myLast = Math.max(...mine);
  // Whoever sent a message after it has seen it too.
  const seen = new Map(c.receipts);
  for (const e of events) if (e.sender !== state.user) seen.set(e.sender, Math.max(seen.get(e.sender) || 0, e.seq));
  const who = [...seen].filter(([user, seq]) => user !== state.user && seq >= myLast).map(([user]) => user);
  $('receipts').textContent = who.length ? `seen by ${who.sort().join(', ')}` : '';
}

function showTyping(frame) {
  if (frame.conversation !== state.current || frame.user === state.user) return;
  state.typingFrom = frame.user;
  $('typing').textContent = `${frame.user} is typing…`;
  clearTimeout(state.typingTimer);
  state.typingTimer = setTimeout(() => {
    $('typing').textContent = '';
  }, TYPING_SHOWN_MS);
}

// ---- start -----------------------------------------------------------------------------------

const saved = sessionStorage.getItem('parley.token');
if (saved && subjectOf(saved)) start(subjectOf(saved), saved);
else showLogin();

// ---- presence: online dots and "last seen" for the open conversation's members ----------------

/** Watches the open conversation's presence, then reads the members' current state (that order: no change is missed). */
async function watchPresence(id) {
  const c = conversation(id);
  try {
    await state.connection.request({ type: 'presence_subscribe', conversation: id });
    c.presence = new Map();
    let after = null;
    do {
      const page = await state.connection.request({ type: 'presence', conversation: id, after, limit: 200 });
      for (const m of page.members) c.presence.set(m.user, m);
      after = page.next;
    } while (after && c.presence.size < 1000); // a big room shows its first thousand members
    if (state.current === id) renderMembers(c);
  } catch (e) {
    problem(`${id}: presence: ${e.message}`);
  }
}

function applyPresence(users) {
  const c = state.current && conversation(state.current);
  if (!c || !c.presence) return;
  // Only the open conversation is watched, so every user in the frame is one of its members.
  for (const u of users) c.presence.set(u.user, u);
  renderMembers(c);
}

function renderMembers(c) {
  const items = [...c.presence.values()].sort((a, b) => a.user.localeCompare(b.user)).map((m) => {
    const li = el('li');
    li.dataset.user = m.user;
    li.dataset.status = m.status;
    li.append(el('span', 'dot'), el('span', 'name', m.user === state.user ? `${m.user} (you)` : m.user));
    if (m.status !== 'online') li.append(el('span', 'seen', seenText(m)));
    return li;
  });
  $('members').replaceChildren(...items);
}

function seenText(m) {
  if (m.lastSeen === null || m.lastSeen === undefined) return m.status === 'away' ? 'away' : 'offline';
  const at = new Date(m.lastSeen).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  return m.status === 'away' ? `away since ${at}` : `last seen ${at}`;
}

// A hidden tab is away; the server counts the user online while any of their connections is not.
document.addEventListener('visibilitychange', () => {
  if (!state.connection || !state.connection.connected) return;
  state.connection.request({ type: 'set_presence', status: document.hidden ? 'away' : 'online' }).catch(() => {});
});
