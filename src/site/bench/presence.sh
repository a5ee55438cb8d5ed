#!/usr/bin/env bash
# The presence benchmarks of issue 21 on the local 3-node cluster (cluster-config/local, PostgreSQL):
#   target 2: one room of MEMBERS [10000] members, WATCHERS [1000] of them connected (spread over
#             the 3 nodes) and watching its presence, CHURN [100] connects+disconnects per second
#             (a pool of 500 churning members: each stays connected ~10 s)
#             for DURATION [60] s (after 10 s unmeasured): presence frames per watcher per second
#             (the cap is one per parley.presence.batch-interval, 1 s) and change -> watcher latency;
#             RUNS [3] runs; CPU seconds of the three nodes per presence change.
#   target 3: VICTIMS [300] members connect to node3, then node3 is SIGKILLed: time from its
#             sockets closing to a watcher on node1 seeing each victim offline; node3 restarted;
#             KILLS [3] times.
#
#   target 1 (T1_RUNS [1] pairs, 0 skips): `parley bench` with T1_CONNECTIONS [5000] connections,
#             1:1 conversations, T1_RATE [500] sends/s for T1_DURATION [30] s, alone and then with
#             T1_CHURN [300] presence connects+disconnects per second (100 watchers of a
#             2,000-member room): p99 send -> ack of both, and change -> watcher latency.
#
#   PARLEY_JAR=/tmp/build-i21/parley.jar /work/bin/quiet bash src/site/bench/presence.sh [OUT_DIR]
#
# Loopback only: HTTP 8081-8083, remoting 25521-25523, management 8561-8563. A fresh database per
# run (dropped at the end); everything started is stopped on exit.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../../.." && pwd)"
CLUSTER="$ROOT/cluster-config/local/cluster.sh"
OUT="${1:-/tmp/parley-presence/$(date +%Y%m%d-%H%M%S)}"
: "${PARLEY_JAR:?set PARLEY_JAR to the shaded jar}"
MEMBERS="${MEMBERS:-10000}" WATCHERS="${WATCHERS:-1000}" CHURN="${CHURN:-100}" DURATION="${DURATION:-60}"
RUNS="${RUNS:-3}" VICTIMS="${VICTIMS:-300}" KILLS="${KILLS:-3}"
T1_RUNS="${T1_RUNS:-1}" T1_CONNECTIONS="${T1_CONNECTIONS:-5000}" T1_RATE="${T1_RATE:-500}" T1_DURATION="${T1_DURATION:-30}" T1_CHURN="${T1_CHURN:-300}"
export PGHOST="${PGHOST:-127.0.0.1}" PGPORT="${PGPORT:-5432}" PGUSER="${PGUSER:-postgres}"
BENCH_JAVA_OPTS="${BENCH_JAVA_OPTS:--Xmx1g}"

DB="parley_i21_$(date +%s)_$$"
mkdir -p "$OUT/cluster"
OUT="$(cd "$OUT" && pwd)"
export PARLEY_JAR PARLEY_RUN_DIR="$OUT/cluster"
export PARLEY_DB_URL="jdbc:postgresql://127.0.0.1:$PGPORT/$DB"
export PARLEY_JWT_SECRET="presence-secret-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
export PARLEY_ADMISSION_CONNECTIONS_PER_SECOND=0
export JAVA_OPTS="${JAVA_OPTS:--Xmx512m -XX:TieredStopAtLevel=1}"

log() { printf '%s %s\n' "$(date +%H:%M:%S)" "$*" | tee -a "$OUT/run.log" >&2; }
CLUSTER_STARTED="" BENCH_PID=""
cleanup() {
  local rc=$?
  set +e
  [[ -n "$BENCH_PID" ]] && kill "$BENCH_PID" 2>/dev/null
  [[ -n "$CLUSTER_STARTED" ]] && STOP_TIMEOUT=60 timeout 300 "$CLUSTER" stop >>"$OUT/cluster.log" 2>&1
  psql -d postgres -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

{ date -u +%FT%TZ; nproc; uptime; java -version 2>&1 | head -1; } >"$OUT/machine.txt"
psql -d postgres -qc "CREATE DATABASE $DB"
CLUSTER_STARTED=1
timeout 300 "$CLUSTER" start >>"$OUT/cluster.log" 2>&1

cpu_ticks() { # utime+stime of the three nodes, in clock ticks
  local total=0 pid
  for n in 1 2 3; do
    pid="$(cat "$OUT/cluster/node$n.pid")"
    total=$((total + $(awk '{print $14 + $15}' "/proc/$pid/stat")))
  done
  echo "$total"
}
changes() { curl -s http://127.0.0.1:8561/metrics | awk '/^parley_presence_changes_total/ {print int($2)}'; }

URLS="ws://127.0.0.1:8081/v1/ws,ws://127.0.0.1:8082/v1/ws,ws://127.0.0.1:8083/v1/ws"
for run in $(seq "$RUNS"); do
  log "target 2, run $run: $MEMBERS members, $WATCHERS watchers, churn $CHURN/s, ${DURATION}s"
  c0="$(changes)" t0="$(cpu_ticks)" l0="$(cut -d' ' -f1 /proc/loadavg)"
  # shellcheck disable=SC2086
  java $BENCH_JAVA_OPTS -jar "$PARLEY_JAR" bench presence --url "$URLS" --prefix pb --members "$MEMBERS" \
    --watchers "$WATCHERS" --churn "$CHURN" --warmup 10s --duration "${DURATION}s" >"$OUT/big-room-$run.txt" 2>"$OUT/big-room-$run.log"
  c1="$(changes)" t1="$(cpu_ticks)" l1="$(cut -d' ' -f1 /proc/loadavg)"
  echo "  node CPU: $(( (t1 - t0) ))/$(getconf CLK_TCK) s for $((c1 - c0)) presence changes (node1's counter, incl. seeding and set-up); load $l0 -> $l1" >>"$OUT/big-room-$run.txt"
  cat "$OUT/big-room-$run.txt" | tee -a "$OUT/run.log"
done

for kill in $(seq "$KILLS"); do
  log "target 3, kill $kill: $VICTIMS members on node3"
  rm -f "$OUT/ready-$kill"
  # shellcheck disable=SC2086
  java $BENCH_JAVA_OPTS -jar "$PARLEY_JAR" bench presence --url ws://127.0.0.1:8081/v1/ws --prefix pk --members 2000 \
    --watchers 10 --victims "$VICTIMS" --victim-url ws://127.0.0.1:8083/v1/ws --ready-file "$OUT/ready-$kill" \
    --victim-timeout 60s >"$OUT/kill-$kill.txt" 2>"$OUT/kill-$kill.log" &
  BENCH_PID=$!
  deadline=$((SECONDS + 300))
  until [[ -f "$OUT/ready-$kill" ]]; do
    kill -0 "$BENCH_PID" 2>/dev/null || { log "bench ended before READY"; exit 3; }
    ((SECONDS < deadline)) || { log "not READY after 300 s"; exit 3; }
    sleep 0.2
  done
  log "kill -9 node3"
  kill -KILL "$(cat "$OUT/cluster/node3.pid")"
  wait "$BENCH_PID" || log "bench exit $?"
  BENCH_PID=""
  cat "$OUT/kill-$kill.txt" | tee -a "$OUT/run.log"
  timeout 300 "$CLUSTER" start >>"$OUT/cluster.log" 2>&1
  log "node3 ready again"
done
for run in $(seq "$T1_RUNS"); do
  for variant in alone churn; do
    log "target 1, run $run, $variant: $T1_CONNECTIONS connections, $T1_RATE sends/s, ${T1_DURATION}s"
    if [[ "$variant" == churn ]]; then
      # shellcheck disable=SC2086
      java $BENCH_JAVA_OPTS -jar "$PARLEY_JAR" bench presence --url "$URLS" --prefix "pt$run" --members 2000 --watchers 100 \
        --churn "$T1_CHURN" --warmup 15s --duration 600s --stop-file "$OUT/t1-stop-$run" >"$OUT/t1-churn-$run.txt" 2>"$OUT/t1-churn-$run.log" &
      BENCH_PID=$!
      until grep -q measuring "$OUT/t1-churn-$run.log" 2>/dev/null; do
        kill -0 "$BENCH_PID" 2>/dev/null || { log "presence bench ended early"; exit 3; }
        sleep 0.5
      done
    fi
    # shellcheck disable=SC2086
    java $BENCH_JAVA_OPTS -jar "$PARLEY_JAR" bench --url ws://127.0.0.1:8081/v1/ws --url ws://127.0.0.1:8082/v1/ws --url ws://127.0.0.1:8083/v1/ws \
      -c "$T1_CONNECTIONS" -m "$((T1_CONNECTIONS / 2))" -k 2 -r "$T1_RATE" --warmup 5s -d "${T1_DURATION}s" --setup-timeout 180s \
      >"$OUT/t1-$variant-sends-$run.txt" 2>"$OUT/t1-$variant-sends-$run.log" || log "bench exit $?"
    if [[ "$variant" == churn ]]; then
      touch "$OUT/t1-stop-$run"
      wait "$BENCH_PID" || log "presence bench exit $?"
      BENCH_PID=""
      cat "$OUT/t1-churn-$run.txt" | tee -a "$OUT/run.log"
    fi
    grep -iE "p99|ack" "$OUT/t1-$variant-sends-$run.txt" | head -5 | tee -a "$OUT/run.log"
  done
done
log "done: $OUT"
