// The operator dashboard: polls this node's management routes (same origin) every couple of
// seconds and keeps a short history in the page for the charts. No library, no build step.

// Every 2 s by default; ?poll=MS (at least 250) for a denser chart.
const POLL_MS = Math.max(250, Number(new URLSearchParams(location.search).get('poll')) || 2000);
const POINTS = 150;

const $ = (id) => document.getElementById(id);

// Not part of readiness (one shared database would take every node out at once): shown here.
function databaseText(db) {
  if (!db) return '–';
  const writes = db.writes === 'unavailable' ? `writes refused for ${Math.round(db.writesStateForMs / 1000)} s` : 'writes reach it';
  const cut = db.cutOffFromCluster ? ', this node is cut off from the cluster (writes refused)' : '';
  return `${db.answers ? 'answers' : 'does not answer'}, ${writes}${cut}`;
}
const samples = []; // {at, connections, received, sent}
let token = sessionStorage.getItem('parley.admin-token') || '';
let selfAddress = null;

async function call(method, path) {
  const response = await fetch(path, { method, headers: token ? { Authorization: `Bearer ${token}` } : {} });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw Object.assign(new Error(body.message || `${path}: HTTP ${response.status}`), { status: response.status });
  return body;
}

$('token-form').addEventListener('submit', (e) => {
  e.preventDefault();
  token = $('admin-token').value.trim();
  sessionStorage.setItem('parley.admin-token', token);
  $('admin-token').value = '';
  poll();
});

$('drain').addEventListener('click', () => {
  $('drain-confirmation').hidden = false;
  $('drain').hidden = true;
});
$('drain-cancel').addEventListener('click', () => {
  $('drain-confirmation').hidden = true;
  $('drain').hidden = false;
});
$('drain-confirm').addEventListener('click', async () => {
  $('drain-confirmation').hidden = true;
  try {
    const answer = await call('POST', '/parley/drain');
    $('drain-result').textContent = `Drain started (${answer.status}): this node is leaving the cluster.`;
  } catch (e) {
    $('drain-result').textContent = `Drain refused: ${e.message}`;
    $('drain').hidden = false;
  }
});

async function pollStatus() {
  if (!token) {
    $('token-state').textContent = 'paste the admin token to see this node\'s status and to drain it';
    return;
  }
  try {
    const status = await call('GET', '/parley/status');
    $('token-state').textContent = '';
    selfAddress = status.address;
    $('node-address').textContent = status.address;
    $('node-status').textContent = status.status;
    $('node-version').textContent = status.appVersion;
    $('node-draining').textContent = status.draining ? 'yes' : 'no';
    $('node-database').textContent = databaseText(status.database);
    $('node-connections').textContent = status.connections;
    $('node-admission').textContent = `${status.admission.connections.admitted} / ${status.admission.connections.rejected}`;
    // Connection rebalancing (operations.md): state and reason, moves, the cluster's counts.
    const r = status.rebalance;
    $('node-rebalance').textContent = `${r.state} (${r.reason})${r.refusingNewConnections ? ', sending new connections elsewhere' : ''}`;
    $('node-moves').textContent = `${r.moves.requested} / ${r.moves.completed} (${r.moves.declined} declined)`;
    $('cluster-connections').textContent =
      Object.entries(r.connectionsPerNode).map(([node, count]) => `${node.replace(/^pekko:\/\/[^@]*@/, '')} ${count}`).join(', ') + ` (mean ${r.mean})`;
    samples.push({ at: Date.now(), connections: status.connections, received: status.frames.received, sent: status.frames.sent });
    if (samples.length > POINTS + 1) samples.shift();
    drawCharts();
  } catch (e) {
    $('token-state').textContent = e.status === 401 || e.status === 403 ? e.message : `status: ${e.message}`;
  }
}

async function pollMembers() {
  try {
    const cluster = await call('GET', '/cluster/members');
    selfAddress = selfAddress || cluster.selfNode;
    $('members').tBodies[0].replaceChildren(
      ...cluster.members.map((m) => row([m.node, m.status, (m.roles || []).join(', '), ''], m.node === cluster.selfNode)),
    );
    $('unreachable').textContent = cluster.unreachable.length
      ? `unreachable: ${cluster.unreachable.map((u) => u.node).join(', ')}`
      : '';
  } catch (e) {
    $('unreachable').textContent = `members: ${e.message}`;
  }
}

async function pollShards() {
  try {
    const shards = await call('GET', '/admin/shards');
    $('shards').tBodies[0].replaceChildren(
      ...shards.regions
        .sort((a, b) => a.address.localeCompare(b.address))
        .map((r) => row([r.address, r.shards, r.entities, r.failedShards ? `${r.failedShards} not answering` : ''], r.address === selfAddress)),
    );
  } catch (e) {
    $('shards').tBodies[0].replaceChildren(row([`shards: ${e.message}`, '', '', ''], false));
  }
}

function row(cells, self) {
  const tr = document.createElement('tr');
  cells.forEach((text, i) => {
    const td = document.createElement('td');
    td.textContent = text;
    if (self && i === cells.length - 1) td.className = 'self';
    tr.append(td);
  });
  return tr;
}

function drawCharts() {
  const connections = samples.map((s) => s.connections);
  const rates = (key) =>
    samples.slice(1).map((s, i) => ((s[key] - samples[i][key]) * 1000) / Math.max(1, s.at - samples[i].at));
  drawChart($('chart-connections'), $('chart-connections-label'), [connections]);
  drawChart($('chart-throughput'), $('chart-throughput-label'), [rates('received'), rates('sent')]);
}

/** Polylines scaled to the largest value, newest at the right, with the current value written. */
function drawChart(svg, caption, series) {
  const width = 600;
  const height = 160;
  const max = Math.max(1, ...series.flat());
  const ns = 'http://www.w3.org/2000/svg';
  const children = series.map((values, i) => {
    const line = document.createElementNS(ns, 'polyline');
    line.setAttribute('class', i === 0 ? 'line-a' : 'line-b');
    const step = width / POINTS;
    const offset = width - (values.length - 1) * step;
    line.setAttribute('points', values.map((v, j) => `${offset + j * step},${height - 8 - (v / max) * (height - 24)}`).join(' '));
    return line;
  });
  const round = (v) => (Number.isInteger(v) ? v : v.toFixed(1));
  const latest = series.map((values) => round(values.length ? values[values.length - 1] : 0));
  caption.textContent = `now ${latest.join(' / ')}, max ${round(max)} (last ${Math.round((POINTS * POLL_MS) / 1000)} s)`;
  svg.replaceChildren(...children);
}

async function poll() {
  await Promise.all([pollStatus(), pollMembers(), pollShards()]);
  $('updated').textContent = `updated ${new Date().toLocaleTimeString()}`;
}

poll();
setInterval(poll, POLL_MS);
