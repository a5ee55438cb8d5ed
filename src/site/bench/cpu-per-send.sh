#!/usr/bin/env bash
# Node CPU per acknowledged send, steady state, builds compared interleaved (issue 18's protocol).
#
# Why: a node a few seconds old spends 27-43 % of its CPU in the JIT compiler (C2) while the bench
# runs, so a figure read then is the JIT's as much as the node's and a 5-10 % cut cannot be seen.
# Here every node is warmed first with WARM_SECONDS of load (not measured), then the
# builds take turns: round 1 runs each workload on build A then build B, round 2 again, and so on,
# so a drift of the machine falls on both builds alike. Each measured run also reads the node's
# threads from /proc before and after (jvm-ticks.py): the JIT's and the GC's share of the node's
# CPU over the run, so a reader sees whether the node was warm.
#
# Usage: cpu-per-send.sh NAME ROUNDS LABEL=JAR... -- WORKLOAD...
#        (WORKLOAD: "label:bench args", e.g. "1to1-2000:-c 200 -m 100 -k 2 -r 2000")
#   env: OUT (/tmp/parley-cpu), WARM_SECONDS (120), DURATION (20s), WARMUP (3s: the bench's own
#        unmeasured start of each run), BENCH_JAR (the first build's jar), NODE_OPTS (node JVM
#        options, every build), NODE_OPTS_0, NODE_OPTS_1... (more options for the i-th build only,
#        e.g. the same jar twice with two dispatcher sizes), BASE_PORT (18800: build i listens on BASE_PORT+10i..+2),
#        CEILING_SECONDS (8; 0 skips PostgreSQL's ceiling), PGHOST/PGUSER,
#        WARM_WORKLOAD ("label:bench args" of the warm-up; default the first workload: give a rate
#        a cold node sustains, e.g. half the measured one: a cold node offered 2,000/s for 100 s falls
#        into a retry storm it does not leave, 524 acked/s, p99 101 s), WARM_SETTLE (15: seconds
#        after each warm-up, for the node to finish what it still holds), RUN_SETTLE (5: the same
#        after each measured run, before the next build's),
#        PROFILE_SECONDS (0: none) and PROFILE_LABELS (default all): a JFR recording (settings=profile)
#        of each such node over the last PROFILE_SECONDS of its warm-up, i.e. a warm node under the
#        warm-up's load, outside every measured run; summarized by jfr-areas.py after the last run;
#        PROFILE_AFTER (see below): a recording of one more run after the rounds, at a measured rate.
#        LAG (unset; 1: the inbox's and the bots' projection lag sampled from the database twice a
#        second during each measured run, projection-lag.py, in LABEL/RUN.projection-lag), LAG_WORKLOADS (unset: every
#        workload; else the workload labels, space-separated, whose runs LAG samples: the sampler's query costs PostgreSQL
#        CPU, so a workload measured for its tail runs without it beside a twin measured for lag),
#        ACK_LOG (unset; 1: every acknowledged send of a measured run in LABEL/RUN.acks, the bench's --ack-log:
#        conversation, due, ack, sent, seq; ack-tail.py reads them), GC_LOG (unset; 1: each node logs its GC and
#        safepoint pauses with wall-clock times to LABEL/gc.log, for ack-tail.py --gc),
#        WARM_WORKLOAD_0, WARM_WORKLOAD_1...: another warm-up workload for the i-th build only; BENCH_OPTS_0...: the
#        bench client's JVM options for the i-th build's runs; BENCH_JAR_0, BENCH_JAR_1...: another bench client jar
#        for the i-th build's measured runs (warm-ups keep BENCH_JAR): two clients against the same node jar, e.g.
#        main=node.jar hold=node.jar BENCH_JAR_1=client.jar (issue 18, target 8: the hold after a retry hint); BENCH_ARGS (every build) and BENCH_ARGS_0...: more bench
#        arguments for the measured runs, e.g. "--client-warmup 10s": a fresh bench JVM compiles its delivery path
#        during its first 1-2 s (0.4-0.7 of a core on this box), which with 50 deliveries per send (the hot
#        conversation) delays the node's own start (issue 18, 2026-12-06 fourth session); SAMPLE (unset; 1: run-sampler.py every half second of each
#        measured run: LABEL/RUN.samples, start-timeline.py),
#        AFTER_WARMUP_SQL ("ANALYZE"; empty: nothing): run on each node's database after its warm-up.
#        This machine's PostgreSQL has autovacuum off, so without it no table would ever have
#        statistics and the planner would guess (an equality matching 0.5 % of any table); a
#        production database with autovacuum has analyzed them by then (issue 18, 2026-12-06 third
#        session). It does not vacuum: the measured runs still add dead row versions as before.
#        With LAG=1 on analyzed tables projection-lag.py's own query takes 0.6-0.9 s per call (about a
#        PostgreSQL core): set AFTER_WARMUP_SQL= for lag or PostgreSQL-CPU runs until that query is fixed.
#   FINAL_WORKLOAD, FINAL_DURATION: see below (one run per build after the rounds).
#   Per run, the node's CPU and context switches per thread group (thread-split.py) in LABEL/RUN.split.md.
#   Per run, the node's /proc/PID/io before and after (LABEL/RUN.io-before, .io-after): its write and read
#   system calls per acked send, with the journal's commits per send, come from io-per-send.py OUT/NAME.
# Prints one line per run; cpu-per-send-summary.py OUT/NAME prints the medians and ratios.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
name=$1 rounds=$2
shift 2
labels=() jars=()
while [[ $# -gt 0 && $1 != -- ]]; do labels+=("${1%%=*}"); jars+=("${1#*=}"); shift; done
[[ ${1:-} == -- ]] && shift
workloads=("$@")
[[ ${#labels[@]} -gt 0 && ${#workloads[@]} -gt 0 ]] || { echo "usage: $0 NAME ROUNDS LABEL=JAR... -- WORKLOAD..." >&2; exit 2; }
bench_jar=${BENCH_JAR:-${jars[0]}}
out=${OUT:-/tmp/parley-cpu}/$name
base_port=${BASE_PORT:-18800}
export PGHOST=${PGHOST:-127.0.0.1} PGUSER=${PGUSER:-postgres}
rm -rf "$out" && mkdir -p "$out"
echo "${labels[@]}" >"$out/builds"

pids=() dbs=() sampler=""
cleanup() {
  if [[ -n $sampler ]]; then kill "$sampler" 2>/dev/null || true; fi
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true; done
  for db in "${dbs[@]}"; do psql -qX -d postgres -c "DROP DATABASE IF EXISTS $db" >/dev/null || true; done
}
trap cleanup EXIT
trap "exit 143" TERM INT

# One node per build, each on its own ports and its own fresh database.
for i in "${!labels[@]}"; do
  label=${labels[$i]} port=$((base_port + 10 * i)) own_opts=NODE_OPTS_$i
  db="parley_cpu_${i}_$$_$(date +%s)"
  psql -qX -d postgres -c "CREATE DATABASE $db" >/dev/null
  dbs+=("$db")
  mkdir -p "$out/$label/data"
  env PARLEY_HTTP_PORT="$port" PARLEY_CLUSTER_PORT="$((port + 1))" PARLEY_MANAGEMENT_PORT="$((port + 2))" \
    PARLEY_HTTP_INTERFACE=127.0.0.1 PARLEY_DATA_DIR="$out/$label/data" \
    PARLEY_DB_URL="jdbc:postgresql://$PGHOST:5432/$db" PARLEY_DB_USER="$PGUSER" \
    java ${NODE_OPTS:-} ${!own_opts:-} ${GC_LOG:+-Xlog:gc,safepoint:file=$out/$label/gc.log:time,uptimemillis} \
      -jar "${jars[$i]}" server >"$out/$label/node.log" 2>&1 &
  pids+=($!)
done
for i in "${!labels[@]}"; do
  for _ in $(seq 1 120); do grep -qs "Parley node up" "$out/${labels[$i]}/node.log" && break; sleep 1; done
  grep -qs "Parley node up" "$out/${labels[$i]}/node.log" || { echo "node ${labels[$i]} did not start" >&2; exit 1; }
done
[[ ${CEILING_SECONDS:-8} -gt 0 ]] && "$here/postgres-ceiling.sh" "${CEILING_SECONDS:-8}" | tee "$out/ceiling.json" >&2

# bench LABEL_INDEX RUN_NAME DURATION WARMUP ARGS: one bench against one node, its /proc ticks around it.
bench() {
  local i=$1 run=$2 duration=$3 warmup=$4 args=$5 port=$((base_port + 10 * $1))
  local dir="$out/${labels[$i]}"
  python3 "$here/jvm-ticks.py" "${pids[$i]}" >"$dir/$run.ticks-before"
  curl -s "http://127.0.0.1:$((port + 2))/metrics" | grep -E "^parley_(journal_(batches|rows)|conversation_sends_refused)" >"$dir/$run.journal-before" || true
  python3 "$here/thread-split.py" snap "${pids[$i]}" >"$dir/$run.split-before"
  cat /proc/${pids[$i]}/io >"$dir/$run.io-before"
  python3 "$here/pg-statements.py" snap "${dbs[$i]}" >"$dir/$run.pg-before" 2>/dev/null || true
  # LAG=1: the projections' lag sampled from the database twice a second over the run (projection-lag.py)
  local lagger=""
  if [[ -n ${LAG:-} && $run != warm && ( -z ${LAG_WORKLOADS:-} || " $LAG_WORKLOADS " == *" ${run%-*} "* ) ]]; then
    python3 "$here/projection-lag.py" sample "${dbs[$i]}" 600 --interval 0.5 --metrics "http://127.0.0.1:$((port + 2))/metrics" >"$dir/$run.lag.jsonl" 2>/dev/null &
    lagger=$!
  fi
  # SAMPLE=1: every half second of the run, the node's and the bench client's CPU by thread group and the node's
  # send->ack histogram (run-sampler.py, in LABEL/RUN.samples; start-timeline.py reads them)
  sampler=""
  if [[ -n ${SAMPLE:-} && $run != warm ]]; then
    python3 "$here/run-sampler.py" "$dir/$run.samples" "${pids[$i]}" "http://127.0.0.1:$((port + 2))/metrics" 600 &
    sampler=$!
  fi
  local acklog=""
  if [[ -n ${ACK_LOG:-} && $run != warm ]]; then acklog="--ack-log $dir/$run.acks"; fi
  # shellcheck disable=SC2086
  local own_bench_opts=BENCH_OPTS_$i own_bench_args=BENCH_ARGS_$i own_bench_jar=BENCH_JAR_$i extra_args="" run_jar=$bench_jar
  if [[ $run != warm ]]; then extra_args="${BENCH_ARGS:-} ${!own_bench_args:-}" run_jar=${!own_bench_jar:-$bench_jar}; fi
  java ${!own_bench_opts:-} -jar "$run_jar" bench $acklog $extra_args --url "ws://127.0.0.1:$port/v1/ws" --node-metrics "http://127.0.0.1:$((port + 2))/metrics" \
    --db-url "jdbc:postgresql://$PGHOST:5432/${dbs[$i]}?user=$PGUSER" $args -d "$duration" --warmup "$warmup" \
    --json "$dir/$run.json" >"$dir/$run.txt" 2>"$dir/$run.log" || true
  if [[ -n $sampler ]]; then
    kill "$sampler" 2>/dev/null || true
    wait "$sampler" 2>/dev/null || true
    sampler=""
  fi
  if [[ -n $lagger ]]; then
    kill "$lagger" 2>/dev/null || true
    wait "$lagger" 2>/dev/null || true
    python3 "$here/projection-lag.py" summary "$dir/$run.lag.jsonl" >"$dir/$run.projection-lag" || true
  fi
  python3 "$here/jvm-ticks.py" "${pids[$i]}" >"$dir/$run.ticks-after"
  curl -s "http://127.0.0.1:$((port + 2))/metrics" | grep -E "^parley_(journal_(batches|rows)|conversation_sends_refused)" >"$dir/$run.journal-after" || true
  python3 "$here/thread-split.py" snap "${pids[$i]}" --names >"$dir/$run.split-after"
  cat /proc/${pids[$i]}/io >"$dir/$run.io-after"
  python3 "$here/pg-statements.py" snap "${dbs[$i]}" >"$dir/$run.pg-after" 2>/dev/null || true
  # per thread group over the whole run (setup and warm-up included), per acked send of the whole run
  local acked; acked=$(jq '.correctness.ackedMessages // 0' "$dir/$run.json" 2>/dev/null || echo 0)
  python3 "$here/thread-split.py" diff "$dir/$run.split-before" "$dir/$run.split-after" "$acked" >"$dir/$run.split.md" || true
  python3 "$here/thread-split.py" diff "$dir/$run.split-before" "$dir/$run.split-after" "$acked" --json >"$dir/$run.split.json" || true
  # the statements the node sent during the run (pg_stat_statements, where loaded), per acked send of the whole run
  if [[ -s $dir/$run.pg-before && -s $dir/$run.pg-after ]]; then
    python3 "$here/pg-statements.py" diff "$dir/$run.pg-before" "$dir/$run.pg-after" "$acked" >"$dir/$run.pg.md" || true
    python3 "$here/pg-statements.py" diff "$dir/$run.pg-before" "$dir/$run.pg-after" "$acked" --json >"$dir/$run.pg.json" || true
  fi
}

warm_seconds=${WARM_SECONDS:-120} profile_seconds=${PROFILE_SECONDS:-0}
profiled() { [[ $profile_seconds -gt 0 && " ${PROFILE_LABELS:-${labels[*]}} " == *" $1 "* ]]; }
for i in "${!labels[@]}"; do
  own_warm=WARM_WORKLOAD_$i
  warm_workload=${!own_warm:-${WARM_WORKLOAD:-${workloads[0]}}}
  first_args=${warm_workload#*:}
  echo "$(date -u +%T) warming ${labels[$i]}: ${warm_seconds}s of ${warm_workload%%:*}" >&2
  jfr=""
  if profiled "${labels[$i]}"; then
    ( sleep $((warm_seconds - profile_seconds))
      jcmd "${pids[$i]}" JFR.start name=warm settings=profile duration="${profile_seconds}s" filename="$out/${labels[$i]}/warm.jfr" >/dev/null ) &
    jfr=$!
  fi
  bench "$i" warm "${warm_seconds}s" 0s "$first_args"
  if [[ -n $jfr ]]; then wait "$jfr" || true; fi
  sleep "${WARM_SETTLE:-15}"
  if [[ -n ${AFTER_WARMUP_SQL-ANALYZE} ]]; then
    psql -qX -d "${dbs[$i]}" -c "${AFTER_WARMUP_SQL-ANALYZE}" >/dev/null
    echo "$(date -u +%T) ${labels[$i]}: ${AFTER_WARMUP_SQL-ANALYZE} after the warm-up" >&2
  fi
done
for round in $(seq 1 "$rounds"); do
  for workload in "${workloads[@]}"; do
    wl=${workload%%:*} args=${workload#*:}
    for i in "${!labels[@]}"; do
      bench "$i" "$wl-$round" "${DURATION:-20s}" "${WARMUP:-3s}" "$args"
      sleep "${RUN_SETTLE:-5}"
      echo "$(date -u +%T) ${labels[$i]} $wl run $round: $(python3 "$here/cpu-per-send-summary.py" --run "$out/${labels[$i]}" "$wl-$round")" >&2
    done
  done
done
# FINAL_WORKLOAD ("label:bench args"): after the rounds, one run of it per build, e.g. a rate a node only
# sustains alone (the other build's node idles meanwhile): 2,000/s on this machine kind.
if [[ -n ${FINAL_WORKLOAD:-} ]]; then
  for i in "${!labels[@]}"; do
    bench "$i" "${FINAL_WORKLOAD%%:*}-final" "${FINAL_DURATION:-${DURATION:-20s}}" "${WARMUP:-3s}" "${FINAL_WORKLOAD#*:}"
    sleep "${RUN_SETTLE:-5}"
    echo "$(date -u +%T) ${labels[$i]} ${FINAL_WORKLOAD%%:*} final run: $(python3 "$here/cpu-per-send-summary.py" --run "$out/${labels[$i]}" "${FINAL_WORKLOAD%%:*}-final")" >&2
  done
fi
# PROFILE_AFTER="LABEL:workload" (e.g. "base:1to1-1000:-c 200 -m 100 -k 2 -r 1000"): after the rounds, one more run of
# that build with a JFR recording (settings=profile) of PROFILE_AFTER_SECONDS (30) inside it: a warm node's steady state.
if [[ -n ${PROFILE_AFTER:-} ]]; then
  plabel=${PROFILE_AFTER%%:*} pwork=${PROFILE_AFTER#*:}
  for i in "${!labels[@]}"; do
    [[ ${labels[$i]} == "$plabel" ]] || continue
    psec=${PROFILE_AFTER_SECONDS:-30}
    ( sleep 8; jcmd "${pids[$i]}" JFR.start name=after settings=profile duration="${psec}s" filename="$out/$plabel/profile.jfr" >/dev/null ) &
    pjfr=$!
    bench "$i" "profile" "$((psec + 10))s" 3s "${pwork#*:}"
    wait "$pjfr" || true
    echo "$(date -u +%T) $plabel profile run: $(python3 "$here/cpu-per-send-summary.py" --run "$out/$plabel" profile)" >&2
  done
fi
python3 "$here/cpu-per-send-summary.py" "$out" | tee "$out/summary.md"
for label in "${labels[@]}"; do
  if [[ -f "$out/$label/warm.jfr" ]]; then python3 "$here/jfr-areas.py" "$out/$label/warm.jfr" >"$out/$label/warm-areas.md" || true; fi
  if [[ -f "$out/$label/profile.jfr" ]]; then
    python3 "$here/jfr-areas.py" "$out/$label/profile.jfr" >"$out/$label/profile-areas.md" || true
    python3 "$here/jfr-top.py" "$out/$label/profile.jfr" >"$out/$label/profile-top.md" || true
  fi
done
