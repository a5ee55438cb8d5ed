#!/usr/bin/env bash
# The bench client's own CPU per send, clients compared against ONE warm node (issue 18: "a load
# generator should cost <= 0.05 ms CPU per send"), interleaved, and the node's CPU per acked send
# beside it (a client that takes less of the 2 cores leaves more to the node and PostgreSQL).
#
# One node (and a fresh database) is started from NODE_JAR and warmed with WARM_SECONDS at WARM_RATE
# (by the last client given: the cheap one), then round after round every rate is run by every client,
# the clients' order reversed every other round so a drift of the machine falls on all alike. Per run:
# the bench's JSON (node CPU per acked send from the node's meter, the client's CPU per acked send
# from its own process CPU, commits per send) and /proc over the measured window (thread-split.py:
# node per thread group, the bench process's CPU from /proc/PID/stat, PostgreSQL, the machine).
# client-cpu-summary.py OUT/NAME prints medians per rate and client.
#
# Usage: client-cpu.sh NAME NODE_JAR ROUNDS LABEL=BENCH_JAR... -- RATE...
#   e.g. client-cpu.sh c /tmp/node.jar 3 jdk=/tmp/main.jar nio=/tmp/i18c.jar -- 1000 2000
#   env: OUT (/tmp/parley-client-cpu), WARM_RATE (500), WARM_SECONDS (120), DURATION (20: measured
#        seconds per run), WARMUP (4), RUN_SETTLE (5), NODE_OPTS, BASE_PORT (18950), BENCH_ARGS
#        ("-c 200 -m 100 -k 2"), BENCH_JAVA_OPTS (the clients' JVM options, every client alike; default
#        "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC": a fresh client JVM's C2 compiler took ~0.35 cores
#        of the 2 during its first 20 s, 2026-12-04 night; C1 alone compiles the client in seconds),
#        BY_RATE (0; 1: all rounds of the first rate, then of the next, instead of round after round)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
name=$1 node_jar=$2 rounds=$3
shift 3
labels=() jars=()
while [[ $# -gt 0 && $1 != -- ]]; do labels+=("${1%%=*}"); jars+=("${1#*=}"); shift; done
[[ ${1:-} == -- ]] && shift
rates=("$@")
[[ ${#labels[@]} -gt 0 && ${#rates[@]} -gt 0 ]] || { echo "usage: $0 NAME NODE_JAR ROUNDS LABEL=BENCH_JAR... -- RATE..." >&2; exit 2; }
out=${OUT:-/tmp/parley-client-cpu}/$name
port=${BASE_PORT:-18950}
duration=${DURATION:-20} warmup=${WARMUP:-4}
bench_args=${BENCH_ARGS:--c 200 -m 100 -k 2}
export PGHOST=${PGHOST:-127.0.0.1} PGUSER=${PGUSER:-postgres}
rm -rf "$out" && mkdir -p "$out/data"
echo "${labels[@]}" >"$out/clients"
db="parley_client_$$_$(date +%s)"
psql -qX -d postgres -c "CREATE DATABASE $db" >/dev/null
env PARLEY_HTTP_PORT="$port" PARLEY_CLUSTER_PORT="$((port + 1))" PARLEY_MANAGEMENT_PORT="$((port + 2))" \
  PARLEY_HTTP_INTERFACE=127.0.0.1 PARLEY_DATA_DIR="$out/data" \
  PARLEY_DB_URL="jdbc:postgresql://$PGHOST:5432/$db" PARLEY_DB_USER="$PGUSER" \
  java ${NODE_OPTS:-} -jar "$node_jar" server >"$out/node.log" 2>&1 &
node=$!
bench=""
cleanup() {
  [[ -n $bench ]] && kill "$bench" 2>/dev/null || true
  kill "$node" 2>/dev/null && wait "$node" 2>/dev/null || true
  psql -qX -d postgres -c "DROP DATABASE IF EXISTS $db" >/dev/null || true
}
trap cleanup EXIT
trap "exit 143" TERM INT
for _ in $(seq 1 120); do grep -qs "Parley node up" "$out/node.log" && break; sleep 1; done
grep -qs "Parley node up" "$out/node.log" || { echo "node did not start" >&2; exit 1; }

# run RUN JAR RATE SECONDS WARMUP: one bench; /proc of node, bench and PostgreSQL over its measured window
run() {
  local run=$1 jar=$2 rate=$3 seconds=$4 wu=$5
  # shellcheck disable=SC2086
  java ${BENCH_JAVA_OPTS--XX:TieredStopAtLevel=1 -XX:+UseSerialGC} -jar "$jar" bench --url "ws://127.0.0.1:$port/v1/ws" --node-metrics "http://127.0.0.1:$((port + 2))/metrics" \
    --db-url "jdbc:postgresql://$PGHOST:5432/$db?user=$PGUSER" $bench_args -r "$rate" -d "${seconds}s" --warmup "${wu}s" \
    --json "$out/$run.json" >"$out/$run.txt" 2>"$out/$run.log" &
  bench=$!
  # the bench logs one line per second once its connections are set up; wait for the first, then the warm-up
  for _ in $(seq 1 60); do [[ -s $out/$run.log ]] && break; sleep 0.5; done
  sleep "$wu"; sleep 1
  python3 "$here/thread-split.py" snap "$node" "$bench" >"$out/$run.split-before"
  python3 "$here/client-threads.py" snap "$bench" >"$out/$run.client-before"
  sleep $((seconds - 3))
  python3 "$here/thread-split.py" snap "$node" "$bench" >"$out/$run.split-after"
  python3 "$here/client-threads.py" snap "$bench" >"$out/$run.client-after"
  wait "$bench" || true
  bench=""
  local acked window
  acked=$(jq .ackedSendsPerSecond "$out/$run.json")
  window=$(python3 -c "import json;b=json.load(open('$out/$run.split-before'));a=json.load(open('$out/$run.split-after'));print(a['time']-b['time'])")
  python3 "$here/thread-split.py" diff "$out/$run.split-before" "$out/$run.split-after" "$(python3 -c "print($acked*$window)")" --json >"$out/$run.split.json"
  python3 "$here/client-threads.py" diff "$out/$run.client-before" "$out/$run.client-after" "$(python3 -c "print($acked*$window)")" >"$out/$run.client.json"
  echo "$(date -u +%T) $run: $(python3 "$here/client-cpu-summary.py" --run "$out" "$run")" | tee -a "$out/runs.txt" >&2
}

last=$((${#labels[@]} - 1))
echo "$(date -u +%T) warming ${WARM_SECONDS:-120}s at ${WARM_RATE:-500}/s with ${labels[$last]}" >&2
run warm "${jars[$last]}" "${WARM_RATE:-500}" "${WARM_SECONDS:-120}" 0
sleep "${RUN_SETTLE:-5}"
# one round: every client at RATE (the clients' order reversed every other round)
round_at() {
  local rate=$1 round=$2 order=("${!labels[@]}")
  if (( round % 2 == 0 )); then order=($(printf '%s\n' "${order[@]}" | tac)); fi
  for i in "${order[@]}"; do
    run "r$rate-${labels[$i]}-$round" "${jars[$i]}" "$rate" "$duration" "$warmup"
    sleep "${RUN_SETTLE:-5}"
  done
}
if [[ ${BY_RATE:-0} == 1 ]]; then
  # every round of a rate before the next rate: a rate that collapses the node (given last) cannot
  # leave its backlog to a lower rate's runs
  for rate in "${rates[@]}"; do for round in $(seq 1 "$rounds"); do round_at "$rate" "$round"; done; done
else
  for round in $(seq 1 "$rounds"); do for rate in "${rates[@]}"; do round_at "$rate" "$round"; done; done
fi
python3 "$here/client-cpu-summary.py" "$out" | tee "$out/summary.md"
