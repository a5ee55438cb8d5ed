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
#   target 1 (T1_PAIRS [3], 0 skips): one steady `parley bench` of T1_CONNECTIONS [5000] connections
#             (1:1 conversations, T1_RATE [500] sends/s) for the whole target, beside one
#             `parley bench presence` of T1_WATCHERS [100] rooms of T1_CHURN_MEMBERS/T1_WATCHERS
#             [21] members each (one watcher per room, spread over the nodes, the others churning);
#             T1_PAIRS times: T1_PHASE [60] s without churn (off-N), then T1_PHASE s with T1_CHURN
#             [300] connects+disconnects per second (on-N), each phase after T1_SETTLE [5] s
#             unmeasured. Per phase: send -> ack p50/p99 (the sends bench's phase file), change ->
#             watcher latency of every churn event (changes never seen count as late), CPU of the
#             nodes, the two clients and PostgreSQL and the machine's idle share (/proc), node CPU
#             per acked send and per churn event; medians over the pairs (presence-t1.py).
#             Without churn is the baseline, so both run under the same connections and clients.
#             T1_LOW_CHURN [100] > 0: each pair also has a phase low-N at that churn (a second
#             presence bench of its own rooms and watchers, paused outside low-N), for the churn a
#             machine that saturates at T1_CHURN still serves; 0 leaves it out.
#             T1_BUDGET [0: none] seconds: pairs that would end later than T1_BUDGET_RESERVE [90] s
#             before it are skipped (a run inside a time limit, e.g. 12 min: T1_BUDGET=700).
#             T1_ANCHORED [0] > 0: each pair also has a phase anc-N with that churn from a third
#             presence bench run with --anchor (T1_ANCHORED_MEMBERS [1010] members in 10 rooms, each
#             churning member keeps one connection open all along): the same connects and
#             disconnects, no presence change, so anc-N minus off-N is the connect path's cost and
#             on-N minus anc-N presence's (its idle anchors are open in every phase).
#             T1_JFR [none]: phase labels (e.g. "on-2 anc-2") during which every node records JFR
#             (settings=profile, the phase's length; jfr-<label>-nodeN.jfr, summarized by
#             jfr-areas.py): where a churn event's node CPU goes. Those phases' latencies are lost:
#             on 2 cores, JFR on all three nodes at once took the send p99 to 4.2 s (benchmarks.md,
#             2026-12-04 evening); leave them out of ratios, or profile one node.
#             T1_PERF [none]: phase labels (e.g. "off-2 on-2 anc-2") during which `perf record -g` (499 Hz,
#             every thread, kernel included) samples node T1_PERF_NODE [1] only, the phase's length
#             (perf-<label>-nodeN.data; perf-areas.py or `perf report --sort comm,sym` read it once the
#             node has exited, which writes /tmp/perf-PID.map): one node at a low rate disturbs the
#             phase far less than JFR on all three. Start the nodes with JAVA_OPTS="-Xmx512m
#             -XX:TieredStopAtLevel=1 -XX:+PreserveFramePointer -XX:+UnlockDiagnosticVMOptions
#             -XX:+DumpPerfMapAtExit" so that Java frames have names.
#             T1_DRAIN [5] s after the last phase before the presence bench stops (its watchers
#             close): without it the last phase's final changes were counted never seen.
#             Diagnostics of where the churn's cost goes (presence-t1-why.py; 2026-12-04 evening):
#             every acked send with its due, sent and ack times (t1-acks.txt); the nodes' own
#             send -> ack and persist histograms at each phase edge (t1-metrics/); every thread's
#             CPU at each phase edge (t1-threads.jsonl, names from jcmd Thread.print at the end);
#             the CPU of each process every T1_FINE [0.1] s (t1-cpu-fine.txt); the run database's
#             pg_stat_database at each phase edge (t1-db.txt); with T1_GC_LOG=1 [1] every JVM's
#             GC pauses and safepoints (cluster/gc-PID.log, gc-bench-PID.log; epoch ms).
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
T1_PAIRS="${T1_PAIRS:-3}" T1_CONNECTIONS="${T1_CONNECTIONS:-5000}" T1_RATE="${T1_RATE:-500}" T1_PHASE="${T1_PHASE:-60}" T1_CHURN="${T1_CHURN:-300}"
T1_WATCHERS="${T1_WATCHERS:-100}" T1_CHURN_MEMBERS="${T1_CHURN_MEMBERS:-2100}" T1_SETTLE="${T1_SETTLE:-5}"
T1_LOW_CHURN="${T1_LOW_CHURN:-100}" # > 0: each pair also gets a phase at this churn (low-N), from a second presence bench
T1_BUDGET="${T1_BUDGET:-0}" # > 0: no further pair starts unless it ends T1_BUDGET_RESERVE [90] s before the script's T1_BUDGET-th second
T1_BUDGET_RESERVE="${T1_BUDGET_RESERVE:-90}"
T1_ANCHORED="${T1_ANCHORED:-0}" T1_ANCHORED_MEMBERS="${T1_ANCHORED_MEMBERS:-1010}"
T1_JFR="${T1_JFR:-}" T1_PERF="${T1_PERF:-}" T1_PERF_NODE="${T1_PERF_NODE:-1}" T1_DRAIN="${T1_DRAIN:-5}" T1_FINE="${T1_FINE:-0.1}" T1_GC_LOG="${T1_GC_LOG:-1}"
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
if ((T1_PAIRS > 0 && T1_GC_LOG == 1)); then
  # Pauses with epoch-ms stamps, to line them up with the slow sends (presence-t1-why.py).
  JAVA_OPTS="$JAVA_OPTS -Xlog:gc,safepoint:file=$OUT/cluster/gc-%p.log:timemillis,uptimemillis,level,tags"
  BENCH_JAVA_OPTS="$BENCH_JAVA_OPTS -Xlog:gc,safepoint:file=$OUT/gc-bench-%p.log:timemillis,uptimemillis,level,tags"
fi

log() { printf '%s %s\n' "$(date +%H:%M:%S)" "$*" | tee -a "$OUT/run.log" >&2; }
CLUSTER_STARTED="" BENCH_PID="" SENDS_PID="" LOW_PID="" ANC_PID="" FINE_PID=""
cleanup() {
  local rc=$?
  set +e
  [[ -n "$FINE_PID" ]] && kill "$FINE_PID" 2>/dev/null
  [[ -n "$BENCH_PID" ]] && kill "$BENCH_PID" 2>/dev/null
  [[ -n "$SENDS_PID" ]] && kill "$SENDS_PID" 2>/dev/null
  [[ -n "$LOW_PID" ]] && kill "$LOW_PID" 2>/dev/null
  [[ -n "$ANC_PID" ]] && kill "$ANC_PID" 2>/dev/null
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
ticks_of() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
pg_ticks() { local total=0 pid; for pid in $(pgrep -x postgres); do total=$((total + $(ticks_of "$pid"))); done; echo "$total"; }
sample() { # label: epoch ms, node / sends-bench / presence-benches / PostgreSQL ticks, machine idle and total jiffies
  local presence_ticks low_ticks=0
  if [[ -n "$LOW_PID" ]]; then low_ticks=$(ticks_of "$LOW_PID"); fi
  if [[ -n "$ANC_PID" ]]; then low_ticks=$((low_ticks + $(ticks_of "$ANC_PID"))); fi
  presence_ticks=$(($(ticks_of "$BENCH_PID") + low_ticks))
  echo "$1 $(date +%s%3N) $(cpu_ticks) $(ticks_of "$SENDS_PID") $presence_ticks $(pg_ticks) $(awk '/^cpu / {print $5 + $6, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9}' /proc/stat)" >>"$OUT/t1-cpu.txt"
  python3 "$HERE/phase-threads.py" "$OUT/t1-threads.jsonl" "$1" $(jvms)
  local n
  for n in 1 2 3; do
    curl -s "http://127.0.0.1:856$n/metrics" | grep -E '^parley_(send_ack|persist)_seconds_(bucket|count|sum)' >"$OUT/t1-metrics/$1-node$n.txt" || true
  done
  echo "$1 $(psql -d "$DB" -Atc "SELECT xact_commit, xact_rollback, tup_returned, tup_fetched, tup_inserted, tup_updated, tup_deleted FROM pg_stat_database WHERE datname = current_database()" | tr '|' ' ')" >>"$OUT/t1-db.txt"
}
jvms() { # NAME=PID of the three nodes and the bench clients running
  local n
  for n in 1 2 3; do echo "node$n=$(cat "$OUT/cluster/node$n.pid")"; done
  [[ -n "$SENDS_PID" ]] && echo "sends=$SENDS_PID"
  [[ -n "$BENCH_PID" ]] && echo "presence=$BENCH_PID"
  [[ -n "$LOW_PID" ]] && echo "low=$LOW_PID"
  [[ -n "$ANC_PID" ]] && echo "anchored=$ANC_PID"
  return 0
}
wait_for() { # file pattern pid seconds
  local deadline=$((SECONDS + $4))
  until grep -q "$2" "$1" 2>/dev/null; do
    kill -0 "$3" 2>/dev/null || { log "$1: ended before '$2'"; exit 3; }
    ((SECONDS < deadline)) || { log "$1: no '$2' after $4 s"; exit 3; }
    sleep 0.5
  done
}
if ((T1_PAIRS > 0)); then
  churning="$OUT/t1-churning" phase_file="$OUT/t1-phase"
  # No phase file until the sends bench warms up: its progress lines show its own phases until then.
  rm -rf "$churning" "$churning-low" "$churning-anc" "$OUT/t1-stop" "$OUT/t1-cpu.txt" "$phase_file" "$OUT/t1-threads.jsonl" "$OUT/t1-metrics" "$OUT/t1-db.txt" "$OUT/t1-cpu-fine.txt"
  mkdir -p "$OUT/t1-metrics"
  log "target 1: $T1_CONNECTIONS connections at $T1_RATE sends/s; $T1_WATCHERS watched rooms, churn $T1_CHURN/s; $T1_PAIRS x (${T1_PHASE}s off, ${T1_PHASE}s on)"
  echo "T1_CONNECTIONS=$T1_CONNECTIONS T1_RATE=$T1_RATE T1_CHURN=$T1_CHURN T1_WATCHERS=$T1_WATCHERS T1_CHURN_MEMBERS=$T1_CHURN_MEMBERS T1_PHASE=$T1_PHASE T1_SETTLE=$T1_SETTLE T1_PAIRS=$T1_PAIRS T1_LOW_CHURN=$T1_LOW_CHURN T1_ANCHORED=$T1_ANCHORED CLK_TCK=$(getconf CLK_TCK)" >"$OUT/t1-settings.txt"
  # shellcheck disable=SC2086
  java $BENCH_JAVA_OPTS -jar "$PARLEY_JAR" bench presence --url "$URLS" --prefix "pt$$" --members "$T1_CHURN_MEMBERS" \
    --watchers "$T1_WATCHERS" --rooms "$T1_WATCHERS" --churn "$T1_CHURN" --warmup 0s --duration 7200s \
    --churn-file "$churning" --stop-file "$OUT/t1-stop" --events "$OUT/t1-events.txt" >"$OUT/t1-churn.txt" 2>"$OUT/t1-churn.log" &
  BENCH_PID=$!
  wait_for "$OUT/t1-churn.log" "watchers connected" "$BENCH_PID" 300
  variants="off on"
  if ((T1_LOW_CHURN > 0)); then
    variants="off on low"
    # shellcheck disable=SC2086
    java $BENCH_JAVA_OPTS -jar "$PARLEY_JAR" bench presence --url "$URLS" --prefix "pl$$" --members "$T1_CHURN_MEMBERS" \
      --watchers "$T1_WATCHERS" --rooms "$T1_WATCHERS" --churn "$T1_LOW_CHURN" --warmup 0s --duration 7200s \
      --churn-file "$churning-low" --stop-file "$OUT/t1-stop" --events "$OUT/t1-events-low.txt" >"$OUT/t1-churn-low.txt" 2>"$OUT/t1-churn-low.log" &
    LOW_PID=$!
    wait_for "$OUT/t1-churn-low.log" "watchers connected" "$LOW_PID" 300
  fi
  if ((T1_ANCHORED > 0)); then
    variants="$variants anc"
    # shellcheck disable=SC2086
    java $BENCH_JAVA_OPTS -jar "$PARLEY_JAR" bench presence --url "$URLS" --prefix "pa$$" --members "$T1_ANCHORED_MEMBERS" \
      --watchers 10 --rooms 10 --churn "$T1_ANCHORED" --warmup 0s --duration 7200s --anchor \
      --churn-file "$churning-anc" --stop-file "$OUT/t1-stop" --events "$OUT/t1-events-anc.txt" >"$OUT/t1-churn-anc.txt" 2>"$OUT/t1-churn-anc.log" &
    ANC_PID=$!
    wait_for "$OUT/t1-churn-anc.log" "anchors connected" "$ANC_PID" 300
  fi
  # shellcheck disable=SC2086
  java $BENCH_JAVA_OPTS -jar "$PARLEY_JAR" bench --url "$URLS" -c "$T1_CONNECTIONS" -m "$((T1_CONNECTIONS / 2))" -k 2 -r "$T1_RATE" \
    --warmup 10s -d 7200s --setup-timeout 300s --drain-timeout 20s --phase-file "$phase_file" --json "$OUT/t1-sends.json" \
    --ack-log "$OUT/t1-acks.txt" >"$OUT/t1-sends.txt" 2>"$OUT/t1-sends.log" &
  SENDS_PID=$!
  wait_for "$OUT/t1-sends.log" "warm-up" "$SENDS_PID" 300
  # shellcheck disable=SC2046
  python3 "$HERE/cpu-fine.py" "$OUT/t1-cpu-fine.txt" "$T1_FINE" $(jvms) &
  FINE_PID=$!
  sleep 10
  for pair in $(seq "$T1_PAIRS"); do
    if ((T1_BUDGET > 0 && SECONDS + $(wc -w <<<"$variants") * (T1_PHASE + T1_SETTLE) + T1_BUDGET_RESERVE > T1_BUDGET)); then
      log "target 1: no time for pair $pair within T1_BUDGET=$T1_BUDGET s"
      break
    fi
    for variant in $variants; do
      [[ "$variant" == on ]] && touch "$churning"
      [[ "$variant" == low ]] && touch "$churning-low"
      [[ "$variant" == anc ]] && touch "$churning-anc"
      echo settle >"$phase_file"
      sleep "$T1_SETTLE"
      echo "$variant-$pair" >"$phase_file"
      log "target 1: $variant-$pair"
      sample "$variant-$pair"
      if [[ " $T1_JFR " == *" $variant-$pair "* ]]; then
        for n in 1 2 3; do
          jcmd "$(cat "$OUT/cluster/node$n.pid")" JFR.start name="t1-$variant-$pair" settings=profile duration="${T1_PHASE}s" \
            filename="$OUT/jfr-$variant-$pair-node$n.jfr" >/dev/null 2>&1 &
        done
      fi
      perf_pid=""
      if [[ " $T1_PERF " == *" $variant-$pair "* ]]; then
        perf record -e cpu-clock -F 499 -g -p "$(cat "$OUT/cluster/node$T1_PERF_NODE.pid")" \
          -o "$OUT/perf-$variant-$pair-node$T1_PERF_NODE.data" >"$OUT/perf-$variant-$pair.log" 2>&1 &
        perf_pid=$!
      fi
      sleep "$T1_PHASE"
      [[ -n "$perf_pid" ]] && { kill -INT "$perf_pid"; wait "$perf_pid" || true; }
      sample "$variant-$pair-end"
      rm -f "$churning" "$churning-low" "$churning-anc"
    done
  done
  echo end >"$phase_file"
  for name_pid in $(jvms); do jcmd "${name_pid#*=}" Thread.print >"$OUT/threads-${name_pid%%=*}.txt" 2>&1 || true; done
  kill "$FINE_PID" 2>/dev/null; FINE_PID=""
  sleep "$T1_DRAIN" # the last phase's final changes still reach the watchers
  touch "$OUT/t1-stop"
  wait "$SENDS_PID" || log "sends bench exit $?"
  SENDS_PID=""
  wait "$BENCH_PID" || log "presence bench exit $?"
  BENCH_PID=""
  if [[ -n "$LOW_PID" ]]; then wait "$LOW_PID" || log "low presence bench exit $?"; LOW_PID=""; fi
  if [[ -n "$ANC_PID" ]]; then wait "$ANC_PID" || log "anchored presence bench exit $?"; ANC_PID=""; fi
  python3 "$HERE/presence-t1.py" "$OUT" | tee "$OUT/t1-summary.txt" | tee -a "$OUT/run.log"
  python3 "$HERE/presence-t1-why.py" "$OUT" >"$OUT/t1-why.txt" 2>&1 || log "presence-t1-why.py failed (see t1-why.txt)"
  if [[ "${T1_JFR_SUMMARY:-1}" == 1 ]]; then # 0: summarize later (it takes a minute per recording)
    for jfr in "$OUT"/jfr-*.jfr; do
      [[ -f "$jfr" ]] && { python3 "$HERE/jfr-areas.py" "$jfr" >"${jfr%.jfr}-areas.md" 2>&1 || true; }
    done
  fi
fi
log "done: $OUT"
