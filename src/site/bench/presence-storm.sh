#!/usr/bin/env bash
# What a connect storm costs a node, presence included, and what the node still spends after it:
# one fresh H2 node per run; `parley bench --idle` opens N authenticated connections (N distinct
# users, each going online) as fast as it can, then holds them. Measured on the node (utime+stime of
# /proc/PID/stat, minus nothing: the baseline idle rate is printed beside):
#   - baseline: node CPU per second over BASE_WINDOW seconds with no connection;
#   - open: node CPU from the bench's start until all N are open, per connection;
#   - after-0-30 / after-30-60: node CPU per second in the two windows of AFTER_WINDOW (30) seconds
#     after the last connection opened (the connections are held meanwhile).
# Runs each jar in turn, ROUNDS times (interleaved), one JSON line per run in $OUT/results.jsonl.
#
# Usage: presence-storm.sh NAME=JAR [NAME=JAR...]
#   env: N (connections, default 10000), ROUNDS (default 1), OUT (default /tmp/presence-storm),
#        BENCH_JAR (the client, default the first JAR), BASE_WINDOW (default 15),
#        STARTUP_SETTLE (seconds after "node up" before the baseline, default 10)
# The bench's raw sockets never answer pings, so the node runs with PARLEY_IDLE_TIMEOUT=10m.
set -euo pipefail
n=${N:-10000}
rounds=${ROUNDS:-1}
out=${OUT:-/tmp/presence-storm}
base_window=${BASE_WINDOW:-15}
http_port=18491
tck=$(getconf CLK_TCK)
mkdir -p "$out"
first_jar=${1#*=}
bench_jar=${BENCH_JAR:-$first_jar}
node=""
bench=""
cleanup() {
  [[ -n $bench ]] && kill "$bench" 2>/dev/null || true
  [[ -n $node ]] && kill "$node" 2>/dev/null && wait "$node" 2>/dev/null || true
  bench=""
  node=""
}
trap cleanup EXIT
cpu_ms() { awk -v t="$tck" '{ print int(($14 + $15) * 1000 / t) }' "/proc/$node/stat"; }
now_ms() { date +%s%3N; }

run() { # name jar round
  local name=$1 jar=$2 round=$3 dir="$out/$1-$3"
  rm -rf "$dir" && mkdir -p "$dir/data"
  env PARLEY_HTTP_PORT=$http_port PARLEY_CLUSTER_PORT=18492 PARLEY_MANAGEMENT_PORT=18493 PARLEY_HTTP_INTERFACE=127.0.0.1 \
    PARLEY_DATA_DIR="$dir/data" PARLEY_ADMISSION_CONNECTIONS_PER_SECOND=0 PARLEY_IDLE_TIMEOUT=10m \
    java -Dpekko.http.server.max-connections=100000 -jar "$jar" server >"$dir/node.log" 2>&1 &
  node=$!
  for _ in $(seq 1 120); do grep -qs "Parley node up" "$dir/node.log" && break; sleep 1; done
  grep -qs "Parley node up" "$dir/node.log" || { echo "node did not start, see $dir/node.log" >&2; exit 1; }
  sleep "${STARTUP_SETTLE:-10}"
  local c0 t0 c1 t1 c2 t2 c3 t3 c4 t4
  c0=$(cpu_ms); t0=$(now_ms); sleep "$base_window"; c1=$(cpu_ms); t1=$(now_ms)
  java -jar "$bench_jar" bench --url "ws://127.0.0.1:$http_port/v1/ws" --idle -c "$n" -d "$(( 2 * ${AFTER_WINDOW:-30} + 30 ))s" --setup-timeout 300s \
    >"$dir/idle.txt" 2>"$dir/idle.log" &
  bench=$!
  for _ in $(seq 1 6000); do grep -qs "holding for" "$dir/idle.log" && break; sleep 0.1; done
  c2=$(cpu_ms); t2=$(now_ms)
  sleep "${AFTER_WINDOW:-30}"
  c3=$(cpu_ms); t3=$(now_ms)
  sleep "${AFTER_WINDOW:-30}"
  c4=$(cpu_ms); t4=$(now_ms)
  local established
  established=$(ss -Htn state established "( sport = :$http_port )" | wc -l)
  cleanup
  jq -cn --arg build "$name" --argjson round "$round" --argjson n "$n" --argjson established "$established" \
    --argjson base "$(( (c1 - c0) * 1000 / (t1 - t0) ))" \
    --argjson openCpu $((c2 - c1)) --argjson openWall $((t2 - t1)) \
    --argjson a030 "$(( (c3 - c2) * 1000 / (t3 - t2) ))" --argjson a3060 "$(( (c4 - c3) * 1000 / (t4 - t3) ))" \
    '{build: $build, round: $round, connections: $n, established: $established,
      baselineCpuMsPerS: $base, openCpuMs: $openCpu, openWallMs: $openWall,
      openCpuMsPerConnection: ($openCpu / $n), openedPerSecond: ($n * 1000 / $openWall),
      after0to30CpuMsPerS: $a030, after30to60CpuMsPerS: $a3060}' | tee -a "$out/results.jsonl"
}

for round in $(seq 1 "$rounds"); do
  for spec in "$@"; do run "${spec%%=*}" "${spec#*=}" "$round"; done
done
