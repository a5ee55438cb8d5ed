#!/usr/bin/env bash
# A warm node's steady state at rising rates (issue 18): ONE node alone on the box (with PostgreSQL
# and the bench client), warmed at a rate a cold node sustains until the JIT has mostly finished,
# then one run per rate, each with the node's CPU and context switches per thread group over the
# bench's measured window (thread-split.py), then one more run at the last rate with a JFR recording
# (settings=profile: CPU samples and allocation samples), summarized by jfr-areas.py.
#
# Why: a fresh node's first minutes are the JIT's (C2 needs minutes on 2 cores), and a cold node
# offered 2,000/s collapses into a retry storm; two nodes side by side share the two cores.
#
# Usage: steady-profile.sh NAME JAR RATE...        e.g. steady-profile.sh main /tmp/main.jar 1000 2000
#   env: OUT (/tmp/parley-steady), WARM_RATE (500), WARM_SECONDS (300), DURATION (30: measured
#        seconds per run), WARMUP (5), JFR_SECONDS (30; 0 = no recording), NODE_OPTS, BENCH_JAR (JAR),
#        BASE_PORT (18900), EXTRA_RUNS (0: more runs at the last rate after the recording)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
name=$1 jar=$2
shift 2
rates=("$@")
out=${OUT:-/tmp/parley-steady}/$name
port=${BASE_PORT:-18900}
bench_jar=${BENCH_JAR:-$jar}
duration=${DURATION:-30} warmup=${WARMUP:-5} jfr_seconds=${JFR_SECONDS:-30}
export PGHOST=${PGHOST:-127.0.0.1} PGUSER=${PGUSER:-postgres}
rm -rf "$out" && mkdir -p "$out/data"
db="parley_steady_$$_$(date +%s)"
psql -qX -d postgres -c "CREATE DATABASE $db" >/dev/null
env PARLEY_HTTP_PORT="$port" PARLEY_CLUSTER_PORT="$((port + 1))" PARLEY_MANAGEMENT_PORT="$((port + 2))" \
  PARLEY_HTTP_INTERFACE=127.0.0.1 PARLEY_DATA_DIR="$out/data" \
  PARLEY_DB_URL="jdbc:postgresql://$PGHOST:5432/$db" PARLEY_DB_USER="$PGUSER" \
  java -XX:FlightRecorderOptions:stackdepth=256 -Xlog:gc:file="$out/gc.log" ${NODE_OPTS:-} -jar "$jar" server >"$out/node.log" 2>&1 &
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

# run LABEL RATE SECONDS WARMUP [JFR]: one bench; thread-split over its measured window
# (from WARMUP + setup to the end of the duration: the setup's length is read from the bench's log).
run() {
  local label=$1 rate=$2 seconds=$3 wu=$4 jfr=${5:-}
  java -jar "$bench_jar" bench --url "ws://127.0.0.1:$port/v1/ws" --node-metrics "http://127.0.0.1:$((port + 2))/metrics" \
    --db-url "jdbc:postgresql://$PGHOST:5432/$db?user=$PGUSER" -c 200 -m 100 -k 2 -r "$rate" -d "${seconds}s" --warmup "${wu}s" \
    --json "$out/$label.json" >"$out/$label.txt" 2>"$out/$label.log" &
  bench=$!
  python3 "$here/jvm-ticks.py" "$node" >"$out/$label.ticks-before"
  # the bench logs one line per second once its connections are set up; wait for the first, then the warm-up
  for _ in $(seq 1 60); do [[ -s $out/$label.log ]] && break; sleep 0.5; done
  sleep "$wu"; sleep 1
  python3 "$here/thread-split.py" snap "$node" "$bench" >"$out/$label.split-before"
  local t0; t0=$(date +%s.%N)
  if [[ -n $jfr ]]; then jcmd "$node" JFR.start name=p settings=profile duration="${jfr}s" filename="$out/$label.jfr" >/dev/null; fi
  sleep $((seconds - 3))
  python3 "$here/thread-split.py" snap "$node" "$bench" --names >"$out/$label.split-after"
  wait "$bench" || true
  bench=""
  python3 "$here/jvm-ticks.py" "$node" >"$out/$label.ticks-after"
  local acked; acked=$(jq .ackedSendsPerSecond "$out/$label.json")
  local window; window=$(python3 -c "import json;b=json.load(open('$out/$label.split-before'));a=json.load(open('$out/$label.split-after'));print(a['time']-b['time'])")
  python3 "$here/thread-split.py" diff "$out/$label.split-before" "$out/$label.split-after" "$(python3 -c "print($acked*$window)")" >"$out/$label.split.md"
  python3 "$here/thread-split.py" diff "$out/$label.split-before" "$out/$label.split-after" "$(python3 -c "print($acked*$window)")" --json >"$out/$label.split.json"
  echo "$(date -u +%T) $label: $(python3 "$here/cpu-per-send-summary.py" --run "$out" "$label")" | tee -a "$out/runs.txt" >&2
}

echo "$(date -u +%T) warming ${WARM_SECONDS:-300}s at ${WARM_RATE:-500}/s" >&2
run warm "${WARM_RATE:-500}" "${WARM_SECONDS:-300}" 0
sleep 10
for rate in "${rates[@]}"; do run "r$rate" "$rate" "$duration" "$warmup"; sleep 5; done
last=${rates[-1]}
if [[ $jfr_seconds -gt 0 ]]; then
  run "r$last-jfr" "$last" "$((jfr_seconds + 5))" "$warmup" "$jfr_seconds"
  sleep 5
  python3 "$here/jfr-areas.py" "$out/r$last-jfr.jfr" >"$out/r$last-jfr.areas.md" || true
fi
for i in $(seq 1 "${EXTRA_RUNS:-0}"); do run "r$last-$i" "$last" "$duration" "$warmup"; sleep 5; done
grep -h . "$out/runs.txt"
