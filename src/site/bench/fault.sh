#!/usr/bin/env bash
# The fault benchmark of issue 23: steady load from `parley bench` on the local 3-node cluster
# (cluster-config/local, PostgreSQL behind a TCP proxy), then
#   1. SIGKILL of one node (KILL_NODE [1]: the oldest, host of the shard coordinators, the worst case), and
#      its restart RESTART_AFTER [30] s later;
#   2. a CUT_SECONDS [30] s cut of the database (the proxy resets every connection and refuses new
#      ones), SETTLE [30] s after the restarted node is ready;
#   3. AFTER [30] s of steady load;
#   4. (PARTITION_SECONDS [30], 0 to skip) a partition: PARTITION_NODE [3]'s remoting port is cut off
#      from the others (its canonical port 2552N is a TCP proxy in front of its real port 3552N,
#      through cluster.sh's JAVA_OPTS_NODEN; the proxy resets every connection and refuses new
#      ones), so each side finds the other unreachable while clients still reach every node over
#      HTTP; the split brain resolver keeps the two-node side and the cut-off node downs itself and
#      exits. Restored after PARTITION_SECONDS, the node is started again, AFTER [30] s more.
# Reports (fault-summary.py): per conversation of the killed node, how long after the kill it
# acknowledged a send again (p50/p99/max); the longest cluster-wide stretch without any
# acknowledged send around the cut; /ready of every node during the cut; lost/duplicate/gap counters.
# BOT [echo]: every conversation has this bot as a member (as rolling-restart.sh; BOT=none for
# humans only): bot-gap-summary.py then reports the bot's reply gap per phase (kill = from the
# SIGKILL until the restarted node is ready: issue 17's second target). cpu.jsonl: each JVM's CPU
# once a second (cpu-sampler.py).
#
#   PARLEY_JAR=/tmp/build-i23/parley.jar flock -o /tmp/parley-bench.lock src/site/bench/fault.sh [OUT_DIR]
#
# Load (as the issue's operator test): CONNECTIONS [300] clients, CONVERSATIONS [150] with MEMBERS
# [2], RATE [50] sends/s. Loopback only: HTTP 8081-8083, remoting 25521-25523, management
# 8561-8563, the database proxy on PROXY_PORT [15432] in front of PGHOST:PGPORT. Each run uses a
# fresh database (dropped at the end); everything it starts is stopped on exit.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../../.." && pwd)"
CLUSTER="$ROOT/cluster-config/local/cluster.sh"
OUT="${1:-/tmp/parley-fault/$(date +%Y%m%d-%H%M%S)}"
: "${PARLEY_JAR:?set PARLEY_JAR to the shaded jar}"
# The load generator may come from another build (a baseline's nodes driven by the same client,
# which has --ack-log): BENCH_JAR [PARLEY_JAR].
BENCH_JAR="${BENCH_JAR:-$PARLEY_JAR}"
CONNECTIONS="${CONNECTIONS:-300}" CONVERSATIONS="${CONVERSATIONS:-150}" MEMBERS="${MEMBERS:-2}" RATE="${RATE:-50}"
KILL_NODE="${KILL_NODE:-1}" RESTART_AFTER="${RESTART_AFTER:-30}" CUT_SECONDS="${CUT_SECONDS:-30}"
BEFORE="${BEFORE:-20}" SETTLE="${SETTLE:-30}" AFTER="${AFTER:-30}" PROXY_PORT="${PROXY_PORT:-15432}"
PARTITION_SECONDS="${PARTITION_SECONDS:-30}" PARTITION_NODE="${PARTITION_NODE:-3}"
[[ "$PARTITION_NODE" != "$KILL_NODE" || "$PARTITION_SECONDS" == 0 ]] || { echo "PARTITION_NODE must differ from KILL_NODE" >&2; exit 2; }
export PGHOST="${PGHOST:-127.0.0.1}" PGPORT="${PGPORT:-5432}" PGUSER="${PGUSER:-postgres}"
BENCH_JAVA_OPTS="${BENCH_JAVA_OPTS:--Xmx1g}"

DB="parley_fault_$(date +%s)_$$"
mkdir -p "$OUT/cluster"
OUT="$(cd "$OUT" && pwd)"
: >"$OUT/phase"
BOT="${BOT:-echo}"
BOT_ARGS=()
if [[ "$BOT" != "none" ]]; then
  export "PARLEY_BOT_$(echo "$BOT" | tr 'a-z-' 'A-Z_')=on"
  BOT_ARGS=(--bot "$BOT" --bot-gaps "$OUT/bot-gaps.csv")
fi
export PARLEY_JAR PARLEY_RUN_DIR="$OUT/cluster"
export PARLEY_DB_URL="jdbc:postgresql://127.0.0.1:$PROXY_PORT/$DB"
export PARLEY_ADMIN_TOKEN="fault-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
export PARLEY_JWT_SECRET="fault-secret-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
export JAVA_OPTS="${JAVA_OPTS:--Xmx512m -XX:TieredStopAtLevel=1}"

log() { printf '%s %s\n' "$(date +%H:%M:%S)" "$*" | tee -a "$OUT/run.log" >&2; }
event() { printf '%s %s\n' "$1" "$(date +%s%3N)" >>"$OUT/events.txt"; log "$1"; }
# The phase for the bench, and its start for bot-gap-summary.py (samples.jsonl: ts, phase).
phase() { echo "$1" >"$OUT/phase"; printf '{"ts":%s,"phase":"%s"}\n' "$(date +%s.%N)" "$1" >>"$OUT/samples.jsonl"; }

BENCH_PID="" PROXY_PID="" REMOTING_PROXY_PID="" READY_PID="" CPU_SAMPLER_PID="" CLUSTER_STARTED=""
cleanup() {
  local rc=$?
  set +e
  [[ -n "$READY_PID" ]] && kill "$READY_PID" 2>/dev/null
  [[ -n "$CPU_SAMPLER_PID" ]] && kill "$CPU_SAMPLER_PID" 2>/dev/null
  [[ -n "$BENCH_PID" ]] && kill "$BENCH_PID" 2>/dev/null && wait "$BENCH_PID" 2>/dev/null
  [[ -n "$PROXY_PID" ]] && kill -USR2 "$PROXY_PID" 2>/dev/null
  # SIGKILL: the measurement is over and the database is dropped next; a graceful stop drains
  # the three nodes one after another (~90 s of a benchmark's machine time for nothing).
  if [[ -n "$CLUSTER_STARTED" ]]; then
    for f in "$PARLEY_RUN_DIR"/node*.pid; do
      pid="$(cat "$f" 2>/dev/null)"
      # Only a node this run started (a pid file can outlive its process, and pids are reused).
      [[ -n "$pid" ]] && ps -p "$pid" -o args= 2>/dev/null | grep -qF -- "--config $ROOT/cluster-config/local/node" && kill -9 "$pid" 2>/dev/null
    done
  fi
  [[ -n "$PROXY_PID" ]] && kill "$PROXY_PID" 2>/dev/null
  [[ -n "$REMOTING_PROXY_PID" ]] && kill "$REMOTING_PROXY_PID" 2>/dev/null
  psql -d postgres -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

{ date -u +%FT%TZ; nproc; uptime; java -version 2>&1 | head -1; } >"$OUT/machine.txt"
psql -d postgres -qc "CREATE DATABASE $DB"
python3 "$HERE/tcp-proxy.py" "$PROXY_PORT" "$PGHOST" "$PGPORT" >"$OUT/proxy.log" 2>&1 &
PROXY_PID=$!
# The proxy must listen before the nodes (and cluster.sh's psql) connect through it.
for _ in $(seq 100); do grep -q '^listening' "$OUT/proxy.log" 2>/dev/null && break; sleep 0.2; done
grep -q '^listening' "$OUT/proxy.log" || { log "database proxy did not start"; exit 3; }
if [[ "$PARTITION_SECONDS" != 0 ]]; then
  # The others reach the node to be cut off through this proxy (its canonical remoting port); it
  # listens behind it.
  python3 "$HERE/tcp-proxy.py" "2552$PARTITION_NODE" 127.0.0.1 "3552$PARTITION_NODE" >"$OUT/remoting-proxy.log" 2>&1 &
  REMOTING_PROXY_PID=$!
  export "JAVA_OPTS_NODE$PARTITION_NODE=-Dpekko.remote.artery.bind.port=3552$PARTITION_NODE"
  for _ in $(seq 100); do grep -q '^listening' "$OUT/remoting-proxy.log" 2>/dev/null && break; sleep 0.2; done
  grep -q '^listening' "$OUT/remoting-proxy.log" || { log "remoting proxy did not start"; exit 3; }
fi
CLUSTER_STARTED=1
timeout 300 "$CLUSTER" start >>"$OUT/cluster.log" 2>&1

# /ready of every node, ten times a second: "epochMs code1 code2 code3".
( while :; do
    line="$(date +%s%3N)"
    for n in 1 2 3; do line+=" $(curl -s -o /dev/null -w '%{http_code}' --max-time 0.5 "http://127.0.0.1:856$n/ready" || true)"; done
    echo "$line"
    sleep 0.1
  done ) >"$OUT/ready.txt" 2>/dev/null &
READY_PID=$!
python3 "$HERE/cpu-sampler.py" "$OUT/cpu.jsonl" &
CPU_SAMPLER_PID=$!

urls=()
for n in 1 2 3; do urls+=(--url "ws://127.0.0.1:808$n/v1/ws"); done
log "warm-up bench (unmeasured)"
# shellcheck disable=SC2086
timeout 120 java $BENCH_JAVA_OPTS -jar "$BENCH_JAR" bench "${urls[@]}" -c 300 -m 150 -k 2 -r 100 --warmup 2s -d 10s \
  --drain-timeout 20s --setup-timeout 60s >"$OUT/warmup.txt" 2>"$OUT/warmup.log" || log "warm-up exit $? (ignored)"
# shellcheck disable=SC2086
java $BENCH_JAVA_OPTS -jar "$BENCH_JAR" bench "${urls[@]}" -c "$CONNECTIONS" -m "$CONVERSATIONS" -k "$MEMBERS" \
  -r "$RATE" --warmup 5s -d 600s --drain-timeout 120s --setup-timeout 180s \
  --phase-file "$OUT/phase" --json "$OUT/bench.json" --ack-log "$OUT/acks.txt" "${BOT_ARGS[@]}" >"$OUT/bench.txt" 2>"$OUT/bench.log" &
BENCH_PID=$!
deadline=$((SECONDS + 240))
until grep -q ' measure' "$OUT/bench.log" 2>/dev/null; do
  kill -0 "$BENCH_PID" 2>/dev/null || { log "bench ended during setup"; exit 3; }
  ((SECONDS < deadline)) || { log "bench not measuring after 240 s"; exit 3; }
  sleep 0.5
done
phase before
sleep "$BEFORE"

# Which shards the victim serves: its conversations are those whose shard is among them.
curl -s --max-time 10 -H "Authorization: Bearer $PARLEY_ADMIN_TOKEN" http://127.0.0.1:8562/parley/shards >"$OUT/shards-before-kill.json" || true
curl -s -H "Authorization: Bearer $PARLEY_ADMIN_TOKEN" http://127.0.0.1:8561/parley/members >"$OUT/members-before-kill.json" || true
victim_pid="$(cat "$OUT/cluster/node$KILL_NODE.pid")"
phase kill
event "kill node$KILL_NODE"
kill -KILL "$victim_pid"
sleep "$RESTART_AFTER"
event "restart node$KILL_NODE"
timeout 300 "$CLUSTER" start >>"$OUT/cluster.log" 2>&1
event "ready node$KILL_NODE"
phase settle
sleep "$SETTLE"
phase cut
event "cut database"
kill -USR1 "$PROXY_PID"
sleep "$CUT_SECONDS"
kill -USR2 "$PROXY_PID"
event "restore database"
phase after
sleep "$AFTER"
if [[ "$PARTITION_SECONDS" != 0 ]]; then
  curl -s --max-time 10 -H "Authorization: Bearer $PARLEY_ADMIN_TOKEN" "http://127.0.0.1:856$PARTITION_NODE/parley/shards" >"$OUT/shards-before-partition.json" || true
  cut_off_pid="$(cat "$OUT/cluster/node$PARTITION_NODE.pid")"
  phase partition
  event "partition node$PARTITION_NODE"
  kill -USR1 "$REMOTING_PROXY_PID"
  sleep "$PARTITION_SECONDS"
  kill -USR2 "$REMOTING_PROXY_PID"
  event "heal partition"
  # The cut-off node downed itself (split brain resolver) and leaves; then it is started again.
  for _ in $(seq 240); do kill -0 "$cut_off_pid" 2>/dev/null || break; sleep 0.5; done
  if kill -0 "$cut_off_pid" 2>/dev/null; then
    log "node$PARTITION_NODE still running 120 s after the partition: it was not downed"
    echo "node$PARTITION_NODE still running after the partition" >>"$OUT/events-notes.txt"
  else
    event "exited node$PARTITION_NODE"
    timeout 300 "$CLUSTER" start >>"$OUT/cluster.log" 2>&1
    event "ready node$PARTITION_NODE"
  fi
  phase after-partition
  sleep "$AFTER"
fi
phase end
bench_rc=0
wait "$BENCH_PID" || bench_rc=$?
BENCH_PID=""
kill "$READY_PID" "$CPU_SAMPLER_PID" 2>/dev/null || true
READY_PID="" CPU_SAMPLER_PID=""
log "bench ended (exit $bench_rc: 0 clean, 1 correctness violated)"
PARTITION_NODE="$PARTITION_NODE" python3 "$HERE/fault-summary.py" "$OUT" "$KILL_NODE" "$bench_rc" | tee "$OUT/summary.txt"
if [[ -f "$OUT/bot-gaps.csv" ]]; then python3 "$HERE/bot-gap-summary.py" "$OUT" | tee -a "$OUT/summary.txt"; fi
