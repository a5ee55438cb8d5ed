#!/usr/bin/env bash
# The rolling-restart test of issue 5: steady load from `parley bench` on the local 3-node cluster
# (cluster-config/local, PostgreSQL), every node restarted one after another, steady again; then a
# summary for before / during / after. See "Rolling restart under load" in benchmarks.md.
#
#   PARLEY_JAR=/tmp/build-rolling/parley.jar src/site/bench/rolling-restart.sh on|off [OUT_DIR]
#
#   on   the herd controls as shipped (application.conf defaults: admission 200 connections/s burst
#        400 and 1000 resumes/s burst 2000 per node, drain window 30 s (cluster-config/local) with a
#        4 s connection handover,
#        a draining node's shards moved a few per second during its window,
#        resubscribe spread 3 s, max-concurrent-recoveries 50,
#        rebalance limits 10 shards / 10% per round, a restarted node's recovery warm-up of 200)
#   off  every herd control that a setting can switch off, switched off:
#          PARLEY_ADMISSION_CONNECTIONS_PER_SECOND=0, PARLEY_ADMISSION_RESUMES_PER_SECOND=0 (0 = no bucket),
#          PARLEY_DRAIN_WINDOW=0s (every connection closed at once, reconnect hint jitter 0-1 s only,
#          hence no connection handover either: it is at most half the window),
#          PARLEY_DRAIN_MOVE_SHARDS_EARLY=off (a leaving node's shards all move at its handoff),
#          PARLEY_RESUBSCRIBE_SPREAD=0s (subscribers of moved conversations come back at once),
#          PARLEY_WARM_UP_CONVERSATIONS=0 (a restarted node is ready without warming its recovery code),
#          -Dpekko.persistence.max-concurrent-recoveries=100000,
#          -Dpekko.cluster.sharding.least-shard-allocation-strategy.rebalance-absolute-limit=1000,
#          -Dpekko.cluster.sharding.least-shard-allocation-strategy.rebalance-relative-limit=1.0
#        (what stays on because no setting removes it: remember-entities off, passivation, the recent
#        window that serves resumes from memory, bounded queues and ask deadlines)
#
# ROLLOUT [deploy]: deploy restarts each node with a newer pekko.cluster.app-version (the patch
# number of the running version plus one), as a release would: Cluster Sharding then allocates
# shards to the new nodes first and does not rebalance while versions differ, so a conversation
# moves once or twice instead of on every join. restart keeps the version (a plain restart: each
# node that comes back gets shards rebalanced to it while the next one is already leaving).
#
# ROLLOUT=scale (issue 20) instead: four nodes from the start (cluster.sh start, then add-node), the
# bench spread over all four; during: `cluster.sh remove-node` (4 -> 3 under load, node4 drains),
# SCALE_GAP [30] s, then `cluster.sh add-node` (3 -> 4); the after phase shows how the connections
# reach node4. connections-timeline.py prints connections per node over the run (any ROLLOUT).
#
# SCALE_STEPS [remove add]: the scale steps in order (e.g. "remove" alone). STARVE_NODE [none]: a
# fault injection for the leave under load (issue 20's split-brain-resolver DownAll): once the node
# that remove-node stops has closed its connections (its log says "draining: all connections
# closed", just before its shard handoff and cluster leave), that node is paused with SIGSTOP for
# STARVE_STOP [3] s, resumed for STARVE_RUN [1] s, over STARVE_SECONDS [25] s, as a JVM that gets
# no CPU on a saturated machine: the others' failure detectors flap on it and the leader has no
# convergence. It is always resumed (SIGCONT) at the end, also on Ctrl-C.
#
# ROLLOUT=drain (issue 20, target 4): the bench opens every connection to node3 (--first-url 3), and
# during: `cluster.sh remove-node` drains node3, whose window stretches with what it holds
# (parley.drain.handover-rate, max-window): its clients move to node1 and node2 as their reconnect
# hints come. E.g. 10,000 idle-ish clients: CONNECTIONS=10000 CONVERSATIONS=5000 RATE=20
# JAVA_OPTS="-Xmx1g -XX:TieredStopAtLevel=1" BENCH_JAVA_OPTS=-Xmx3g WARMUP=off ROLLOUT=drain
# JAVA_OPTS_NODE3=-Dparley.admission.connections-per-second=0 (node3's own admission off, so that the
# setup can open 10,000 connections to it in batches of 200; node1 and node2, which receive the
# drained clients, keep theirs: their new connections per second are what the drain is measured by).
#
# ROLLOUT=kill instead: node2 is killed with SIGKILL (no drain, no leave), left dead for
# KILL_DOWN_SECONDS [30] (failure detection and the split-brain resolver remove it meanwhile) and
# started again; the bot's reply gap is then bounded by failure detection + SBR + resume.
#
# BOT [echo]: every conversation has this bot as a member (enabled on every node through
# PARLEY_BOT_<NAME>=on; BOT=none for humans only). The bench books the bot's replies (bot-gaps.csv:
# each message, its server ts, its first reply's, and how many replies) and bot-gap-summary.py reports
# per phase the reply gap p50/p99/max and the messages without exactly one reply (issue 17).
# BENCH_JAR [PARLEY_JAR]: the jar whose `parley bench` drives the load (to measure an older
# server build with a bench client that knows --bot).
#
# The restart waits MIN_READY_SECONDS [15] after each restarted node is ready before stopping the
# next, as minReadySeconds in cluster-config/kubernetes/deployment.yaml (cluster.sh rolling-restart).
#
# Each run uses a fresh PostgreSQL database (dropped at the end), its own run directory, a random
# admin token and JWT secret; loopback only (HTTP 8081-8083, remoting 25521-25523, management
# 8561-8563). Everything it starts is stopped on exit, also on failure or Ctrl-C.
#
# WARMUP [on]: the unmeasured warm-up bench before the measured one (off saves ~40 s of a slot).
#
# Environment (defaults in brackets): CONNECTIONS [2000], CONVERSATIONS [1000], MEMBERS [2],
# RATE [100] sends/s, BOT [echo], BENCH_JAR [PARLEY_JAR], BEFORE [35] s steady before the restart, AFTER [40] s steady after it,
# MAX_DURATION [420] s (bench's --duration; the script ends the measured time after AFTER through
# the phase file), RESTART_TIMEOUT [480] s, PGHOST [127.0.0.1], PGPORT [5432], PGUSER [postgres],
# JAVA_OPTS [-Xmx512m -XX:TieredStopAtLevel=1, as cluster.sh] for the nodes, BENCH_JAVA_OPTS [-Xmx1g].
#
# Output in OUT_DIR (default /tmp/parley-rolling/MODE-TIMESTAMP): bench.json (report with the
# per-second timeline and per-phase totals), bench.log (progress), samples.jsonl (one line a second:
# phase, pg_stat_database transactions, pg_stat_activity recovery-shaped reads, the kernel's
# listen queue overflows, each node's /parley/status), cpu.jsonl (once a second: the machine's busy and
# idle time, each JVM's CPU by JIT, GC and application threads: cpu-sampler.py), restart.log,
# cluster/nodeN.log, summary.json and summary.txt.
set -euo pipefail

MODE="${1:-}"
[[ "$MODE" == "on" || "$MODE" == "off" ]] || { echo "usage: $0 on|off [OUT_DIR]" >&2; exit 2; }
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../../.." && pwd)"
CLUSTER="$ROOT/cluster-config/local/cluster.sh"
OUT="${2:-/tmp/parley-rolling/$MODE-$(date +%Y%m%d-%H%M%S)}"
: "${PARLEY_JAR:?set PARLEY_JAR to the shaded jar, e.g. /tmp/build-rolling/parley.jar}"
[[ -f "$PARLEY_JAR" ]] || { echo "no jar at $PARLEY_JAR" >&2; exit 2; }

CONNECTIONS="${CONNECTIONS:-2000}"
CONVERSATIONS="${CONVERSATIONS:-1000}"
MEMBERS="${MEMBERS:-2}"
RATE="${RATE:-100}"
BEFORE="${BEFORE:-35}"
AFTER="${AFTER:-40}"
MAX_DURATION="${MAX_DURATION:-420}"
RESTART_TIMEOUT="${RESTART_TIMEOUT:-480}"
ROLLOUT="${ROLLOUT:-deploy}"
[[ "$ROLLOUT" =~ ^(deploy|restart|kill|scale|drain)$ ]] || { echo "ROLLOUT must be deploy, restart, kill, scale or drain" >&2; exit 2; }
FIRST_URL=0
[[ "$ROLLOUT" == "drain" ]] && FIRST_URL=3
NODE_NUMBERS="1 2 3"
[[ "$ROLLOUT" == "scale" ]] && NODE_NUMBERS="1 2 3 4"
SCALE_GAP="${SCALE_GAP:-30}"
SCALE_STEPS="${SCALE_STEPS:-remove add}"
STARVE_NODE="${STARVE_NODE:-}"
STARVE_STOP="${STARVE_STOP:-3}"
STARVE_RUN="${STARVE_RUN:-1}"
STARVE_SECONDS="${STARVE_SECONDS:-25}"
WARMUP="${WARMUP:-on}"
KILL_DOWN_SECONDS="${KILL_DOWN_SECONDS:-30}"
BOT="${BOT:-echo}"
BENCH_JAR="${BENCH_JAR:-$PARLEY_JAR}"
BOT_ARGS=()
if [[ "$BOT" != "none" ]]; then
  export "PARLEY_BOT_$(echo "$BOT" | tr 'a-z-' 'A-Z_')=on"
  BOT_ARGS=(--bot "$BOT")
fi
export PGHOST="${PGHOST:-127.0.0.1}" PGPORT="${PGPORT:-5432}" PGUSER="${PGUSER:-postgres}"
BENCH_JAVA_OPTS="${BENCH_JAVA_OPTS:--Xmx1g}"

DB="parley_rolling_${MODE}_$(date +%s)_$$"
mkdir -p "$OUT/cluster"
OUT="$(cd "$OUT" && pwd)"
PHASE_FILE="$OUT/phase"
SAMPLES="$OUT/samples.jsonl"
: >"$PHASE_FILE"

export PARLEY_JAR
export PARLEY_RUN_DIR="$OUT/cluster"
export PARLEY_DB_URL="jdbc:postgresql://$PGHOST:$PGPORT/$DB"
export PARLEY_ADMIN_TOKEN="rolling-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
export PARLEY_JWT_SECRET="rolling-restart-secret-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
JAVA_OPTS="${JAVA_OPTS:--Xmx512m -XX:TieredStopAtLevel=1}"
if [[ "$MODE" == "off" ]]; then
  export PARLEY_ADMISSION_CONNECTIONS_PER_SECOND=0 PARLEY_ADMISSION_RESUMES_PER_SECOND=0 PARLEY_DRAIN_WINDOW=0s PARLEY_RESUBSCRIBE_SPREAD=0s PARLEY_DRAIN_MOVE_SHARDS_EARLY=off PARLEY_WARM_UP_CONVERSATIONS=0
  JAVA_OPTS="$JAVA_OPTS -Dpekko.persistence.max-concurrent-recoveries=100000"
  JAVA_OPTS="$JAVA_OPTS -Dpekko.cluster.sharding.least-shard-allocation-strategy.rebalance-absolute-limit=1000"
  JAVA_OPTS="$JAVA_OPTS -Dpekko.cluster.sharding.least-shard-allocation-strategy.rebalance-relative-limit=1.0"
fi
export JAVA_OPTS

log() { printf '%s %s\n' "$(date +%H:%M:%S)" "$*" | tee -a "$OUT/run.log" >&2; }
phase() { echo "$1" >"$PHASE_FILE"; log "phase: $1"; }

BENCH_PID="" SAMPLER_PID="" CPU_SAMPLER_PID="" RESTART_PID="" CLUSTER_STARTED="" STARVE_PID=""
cleanup() {
  local rc=$?
  set +e
  if [[ -n "$STARVE_PID" ]]; then
    kill "$STARVE_PID" 2>/dev/null && wait "$STARVE_PID" 2>/dev/null
    starved="$(cat "$PARLEY_RUN_DIR/node$STARVE_NODE.pid" 2>/dev/null)"
    [[ -n "$starved" ]] && kill -CONT "$starved" 2>/dev/null
  fi
  [[ -n "$RESTART_PID" ]] && kill "$RESTART_PID" 2>/dev/null && wait "$RESTART_PID" 2>/dev/null
  [[ -n "$BENCH_PID" ]] && kill "$BENCH_PID" 2>/dev/null && wait "$BENCH_PID" 2>/dev/null
  [[ -n "$SAMPLER_PID" ]] && kill "$SAMPLER_PID" 2>/dev/null && wait "$SAMPLER_PID" 2>/dev/null
  [[ -n "$CPU_SAMPLER_PID" ]] && kill "$CPU_SAMPLER_PID" 2>/dev/null && wait "$CPU_SAMPLER_PID" 2>/dev/null
  if [[ -n "$CLUSTER_STARTED" ]]; then
    # SIGKILL: the measurement is over and the database is dropped next; a graceful stop drains
    # the three nodes one after another (~90 s of a benchmark's machine time for nothing).
    log "stopping the cluster (SIGKILL)"
    for f in "$PARLEY_RUN_DIR"/node*.pid; do
      pid="$(cat "$f" 2>/dev/null)"
      # Only a node this run started (a pid file can outlive its process, and pids are reused).
      [[ -n "$pid" ]] && ps -p "$pid" -o args= 2>/dev/null | grep -qF -- "--config $ROOT/cluster-config/local/node" && kill -9 "$pid" 2>/dev/null
    done
  fi
  if [[ -n "${STATEMENTS_SQL:-}" ]]; then
    psql -d postgres -tAc "SELECT coalesce(json_object_agg(s.queryid, left(regexp_replace(s.query, '\s+', ' ', 'g'), 160)), '{}')
      FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid WHERE d.datname = '$DB'" >"$OUT/statement-texts.json" 2>/dev/null
    python3 "$HERE/statement-peaks.py" "$OUT" 2>/dev/null | tee -a "$OUT/summary.txt"
  fi
  log "dropping database $DB"
  psql -d postgres -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log "mode $MODE, rollout $ROLLOUT, bot $BOT, database $DB, out $OUT"
log "JAVA_OPTS=$JAVA_OPTS; admission=${PARLEY_ADMISSION_CONNECTIONS_PER_SECOND:-default}/${PARLEY_ADMISSION_RESUMES_PER_SECOND:-default}, drain window=${PARLEY_DRAIN_WINDOW:-default}, resubscribe spread=${PARLEY_RESUBSCRIBE_SPREAD:-default}"
{ date -u +%FT%TZ; nproc; uptime; java -version 2>&1 | head -1; psql -d postgres -tAc 'select version()'; } >"$OUT/machine.txt"

CLUSTER_STARTED=1
timeout 300 "$CLUSTER" start >>"$OUT/restart.log" 2>&1
if [[ "$ROLLOUT" == "scale" ]]; then timeout 300 "$CLUSTER" add-node >>"$OUT/restart.log" 2>&1; fi

# Statements executed, when PostgreSQL loads pg_stat_statements (shared_preload_libraries): its
# counters are updated as each statement ends, where pg_stat_database's transaction counters come
# from each backend's pending statistics, flushed at most once a second per backend (PostgreSQL 15+,
# PGSTAT_MIN_INTERVAL), so that a 1 s rate of transactions jitters between 0 and 2 flushes of each
# backend. Without the extension the column is null and the summary uses transactions alone.
STATEMENTS_SQL=""
if psql -d postgres -tAc "SELECT 1 FROM pg_extension WHERE extname = 'pg_stat_statements'" 2>/dev/null | grep -q 1 \
  && psql -d postgres -tAc "SELECT count(*) FROM pg_stat_statements" >/dev/null 2>&1; then
  STATEMENTS_SQL=",
          (SELECT coalesce(sum(s.calls), 0) FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid
             WHERE d.datname = '$DB' AND s.query !~* '^\\s*(begin|commit|rollback|set|show)')"
fi

# One line a second: what the database did, and what each node says about its connections.
sample() {
  local next status n s q overflows
  next=$(date +%s)
  while :; do
    q=$(psql -d postgres -tAF' ' -c "SELECT coalesce((SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = '$DB'), -1),
          (SELECT count(*) FROM pg_stat_activity WHERE datname = '$DB' AND state = 'active'
             AND query ~* '^\\s*select' AND query ~* '(event_journal|snapshot)'),
          (SELECT count(*) FROM pg_stat_activity WHERE datname = '$DB')$STATEMENTS_SQL" 2>/dev/null || echo "null null null null")
    # The database's figures belong to this moment, not to the end of the node polls below (a node
    # that answers its status slowly, e.g. while starting, would shift them by up to 2.4 s).
    db_ts=$(date +%s.%N)
    read -r xacts reads backends statements <<<"$q"
    # Per statement, to tell what a peak second was made of (statement-peaks.py).
    if [[ -n "$STATEMENTS_SQL" ]]; then
      printf '{"dbTs":%s,"phase":"%s","calls":%s}\n' "$db_ts" "$(head -c 40 "$PHASE_FILE" | tr -d '\n"')" \
        "$(psql -d postgres -tAc "SELECT coalesce(json_object_agg(s.queryid, s.calls), '{}') FROM pg_stat_statements s
             JOIN pg_database d ON d.oid = s.dbid WHERE d.datname = '$DB'" 2>/dev/null || echo '{}')" >>"$OUT/statements.jsonl"
    fi
    status=""
    for n in $NODE_NUMBERS; do
      s=$(curl -s --max-time 0.8 -H "Authorization: Bearer $PARLEY_ADMIN_TOKEN" "http://127.0.0.1:856$n/parley/status" | tr -d '\n' || true)
      [[ "$s" == \{* ]] || s=null
      status+="${status:+,}$s"
    done
    # The kernel's count of connections dropped because a listen queue was full (machine-wide).
    overflows=$(awk '/^TcpExt:/ { if (!h) { for (i = 1; i <= NF; i++) if ($i == "ListenOverflows") c = i; h = 1 } else print $c }' /proc/net/netstat 2>/dev/null)
    printf '{"ts":%s,"dbTs":%s,"phase":"%s","xacts":%s,"statements":%s,"recoveryReads":%s,"backends":%s,"listenOverflows":%s,"nodes":[%s]}\n' \
      "$(date +%s.%N)" "$db_ts" "$(head -c 40 "$PHASE_FILE" | tr -d '\n"')" "${xacts:-null}" "${statements:-null}" "${reads:-null}" "${backends:-null}" "${overflows:-null}" "$status" >>"$SAMPLES"
    next=$((next + 1))
    sleep "$(awk -v n="$next" -v now="$(date +%s.%N)" 'BEGIN { d = n - now; print (d > 0 ? d : 0) }')"
  done
}
sample &
SAMPLER_PID=$!
# Where the CPU goes, by JVM and by kind of thread (JIT, GC, application): cpu.jsonl.
python3 "$HERE/cpu-sampler.py" "$OUT/cpu.jsonl" &
CPU_SAMPLER_PID=$!

urls=()
for n in $NODE_NUMBERS; do urls+=(--url "ws://127.0.0.1:808$n/v1/ws"); done
# Unmeasured warm-up, as run-row.sh does: JIT-compiles the nodes' hot paths and allocates shards, so
# the measured run's setup (CONNECTIONS upgrades, CONVERSATIONS creates at once) does not meet
# three cold JVMs on two cores (it timed out with `unavailable` that way).
if [[ "$WARMUP" == "on" ]]; then
  log "warm-up bench (unmeasured)"
  # shellcheck disable=SC2086
  timeout 120 java $BENCH_JAVA_OPTS -jar "$BENCH_JAR" bench "${urls[@]}" -c 300 -m 150 -k 2 -r 100 --warmup 2s -d 10s \
    --drain-timeout 20s --setup-timeout 60s >"$OUT/warmup.txt" 2>"$OUT/warmup.log" || log "warm-up bench exit $? (ignored)"
fi
# shellcheck disable=SC2086 # BENCH_JAVA_OPTS is a list of options
java $BENCH_JAVA_OPTS -jar "$BENCH_JAR" bench "${urls[@]}" -c "$CONNECTIONS" -m "$CONVERSATIONS" -k "$MEMBERS" \
  -r "$RATE" -s 100 --warmup 5s -d "${MAX_DURATION}s" --drain-timeout 90s --setup-timeout 180s --first-url "$FIRST_URL" \
  "${BOT_ARGS[@]}" ${BOT_ARGS[0]:+--bot-gaps "$OUT/bot-gaps.csv"} \
  --phase-file "$PHASE_FILE" --json "$OUT/bench.json" >"$OUT/bench.txt" 2>"$OUT/bench.log" &
BENCH_PID=$!

# Wait for the measured window (after setup and warm-up).
deadline=$((SECONDS + 240))
until grep -q ' measure' "$OUT/bench.log" 2>/dev/null; do
  kill -0 "$BENCH_PID" 2>/dev/null || { log "bench ended during setup"; cat "$OUT/bench.log" >&2; exit 3; }
  ((SECONDS < deadline)) || { log "bench not measuring after 240 s"; exit 3; }
  sleep 0.5
done
phase before
sleep "$BEFORE"
phase during
restart_rc=0
RESTART_JAVA_OPTS="$JAVA_OPTS"
if [[ "$ROLLOUT" == "deploy" ]]; then
  running=$(curl -s --max-time 3 -H "Authorization: Bearer $PARLEY_ADMIN_TOKEN" http://127.0.0.1:8561/parley/status |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["appVersion"])')
  next=$(python3 -c 'import re,sys; m=re.match(r"(\d+)\.(\d+)\.(\d+)(.*)", sys.argv[1]); print(f"{m[1]}.{m[2]}.{int(m[3])+1}{m[4]}")' "$running")
  RESTART_JAVA_OPTS="$JAVA_OPTS -Dpekko.cluster.app-version=$next"
  log "deploy: app-version $running -> $next"
fi
# In the background and waited for, so that Ctrl-C/SIGTERM reach the trap at once.
# A JVM starved of CPU, as SIGSTOP/SIGCONT cycles of node STARVE_NODE, from the moment the node
# that remove-node stops (the highest-numbered) has closed its connections.
starve() {
  local leaving=4 pid until
  until grep -q "draining: all connections closed" "$PARLEY_RUN_DIR/node$leaving.log" 2>/dev/null; do sleep 0.2; done
  pid="$(cat "$PARLEY_RUN_DIR/node$STARVE_NODE.pid")"
  log "starving node$STARVE_NODE (pid $pid): SIGSTOP ${STARVE_STOP}s / SIGCONT ${STARVE_RUN}s for ${STARVE_SECONDS}s"
  trap 'kill -CONT "$pid" 2>/dev/null; exit 0' TERM INT
  until=$((SECONDS + STARVE_SECONDS))
  while ((SECONDS < until)); do
    kill -STOP "$pid"; sleep "$STARVE_STOP"; kill -CONT "$pid"; sleep "$STARVE_RUN"
  done
  log "node$STARVE_NODE no longer starved"
}
if [[ "$ROLLOUT" == "scale" ]]; then
  if [[ -n "$STARVE_NODE" ]]; then
    starve &
    STARVE_PID=$!
  fi
  (
    gap=""
    for step in $SCALE_STEPS; do
      [[ -n "$gap" ]] && sleep "$SCALE_GAP"
      gap=1
      timeout "$RESTART_TIMEOUT" "$CLUSTER" "$step-node" || exit $?
    done
  ) >>"$OUT/restart.log" 2>&1 &
elif [[ "$ROLLOUT" == "drain" ]]; then
  timeout "$RESTART_TIMEOUT" "$CLUSTER" remove-node >>"$OUT/restart.log" 2>&1 &
elif [[ "$ROLLOUT" == "kill" ]]; then
  victim=$(cat "$PARLEY_RUN_DIR/node2.pid")
  log "SIGKILL node2 (pid $victim); started again after $KILL_DOWN_SECONDS s"
  kill -9 "$victim"
  ( sleep "$KILL_DOWN_SECONDS"; timeout "$RESTART_TIMEOUT" "$CLUSTER" start ) >>"$OUT/restart.log" 2>&1 &
else
  JAVA_OPTS="$RESTART_JAVA_OPTS" timeout "$RESTART_TIMEOUT" "$CLUSTER" rolling-restart >>"$OUT/restart.log" 2>&1 &
fi
RESTART_PID=$!
wait "$RESTART_PID" || restart_rc=$?
RESTART_PID=""
log "rolling restart ended (exit $restart_rc)"
phase after
sleep "$AFTER"
phase end
bench_rc=0
wait "$BENCH_PID" || bench_rc=$?
BENCH_PID=""
log "bench ended (exit $bench_rc: 0 clean, 1 correctness violated)"
kill "$SAMPLER_PID" "$CPU_SAMPLER_PID" 2>/dev/null || true
wait "$SAMPLER_PID" "$CPU_SAMPLER_PID" 2>/dev/null || true
SAMPLER_PID="" CPU_SAMPLER_PID=""

ROLLOUT="$ROLLOUT" python3 "$HERE/rolling-summary.py" "$OUT" "$MODE" "$restart_rc" "$bench_rc" | tee "$OUT/summary.txt"
if [[ -f "$OUT/bot-gaps.csv" ]]; then python3 "$HERE/bot-gap-summary.py" "$OUT" | tee -a "$OUT/summary.txt"; fi
python3 "$HERE/connections-timeline.py" "$OUT" | tee -a "$OUT/summary.txt" || true
