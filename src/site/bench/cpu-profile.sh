#!/usr/bin/env bash
# Where the time goes at one offered rate: starts a fresh node (H2 or a fresh PostgreSQL database),
# primes it, runs one long bench, and while it runs
#   1. measures CPU over CPU_SECONDS (20) from /proc: node per thread group, bench client, PostgreSQL
#      (cpu-split.py), so CPU per acknowledged send = cores / acked sends per second;
#   2. then records JFR_SECONDS (20) of JFR (settings=profile) in the node and aggregates the
#      execution samples per area (jfr-areas.py).
# The two windows do not overlap, so JFR's own cost is not in the CPU figure.
#
# Usage: cpu-profile.sh NAME h2|pg RATE [more bench arguments]
#   env: PARLEY_JAR, OUT, HTTP_PORT/CLUSTER_PORT/MANAGEMENT_PORT (18481-18483), PGHOST/PGUSER,
#        SETTLE (seconds of load before measuring, default 10), CPU_SECONDS, JFR_SECONDS, NODE_OPTS (node JVM options)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
name=$1 store=$2 rate=$3
shift 3
jar=${PARLEY_JAR:-target/parley.jar}
out=${OUT:-/tmp/parley-bench}/$name
http_port=${HTTP_PORT:-18481}
cpu_seconds=${CPU_SECONDS:-20} jfr_seconds=${JFR_SECONDS:-20}
export PGHOST=${PGHOST:-127.0.0.1} PGUSER=${PGUSER:-postgres}
rm -rf "$out" && mkdir -p "$out/data"
node_env=(PARLEY_HTTP_PORT="$http_port" PARLEY_CLUSTER_PORT="${CLUSTER_PORT:-18482}"
          PARLEY_MANAGEMENT_PORT="${MANAGEMENT_PORT:-18483}" PARLEY_HTTP_INTERFACE=127.0.0.1 PARLEY_DATA_DIR="$out/data")
db=""
if [[ $store == pg ]]; then
  db="parley_bench_$$_$(date +%s)"
  psql -qX -d postgres -c "CREATE DATABASE $db" >/dev/null
  node_env+=(PARLEY_DB_URL="jdbc:postgresql://$PGHOST:5432/$db" PARLEY_DB_USER="$PGUSER")
fi
env "${node_env[@]}" java -XX:FlightRecorderOptions:stackdepth=256 -Xlog:gc:file="$out/gc.log" ${NODE_OPTS:-} -jar "$jar" server >"$out/node.log" 2>&1 &
node=$!
bench=""
cleanup() {
  [[ -n $bench ]] && kill "$bench" 2>/dev/null || true
  kill "$node" 2>/dev/null && wait "$node" 2>/dev/null || true
  [[ -n $db ]] && psql -qX -d postgres -c "DROP DATABASE IF EXISTS $db" >/dev/null || true
}
trap cleanup EXIT
for _ in $(seq 1 120); do grep -qs "Parley node up" "$out/node.log" && break; sleep 1; done
grep -qs "Parley node up" "$out/node.log" || { echo "node did not start, see $out/node.log" >&2; exit 1; }
java -jar "$jar" bench --url "ws://127.0.0.1:$http_port/v1/ws" -c 50 -m 25 -k 2 -r 200 -d 5s --warmup 0s >"$out/prime.txt" 2>&1 || true

settle=${SETTLE:-10}
total=$((settle + cpu_seconds + jfr_seconds + 5))
java -jar "$jar" bench --url "ws://127.0.0.1:$http_port/v1/ws" -c 200 -m 100 -k 2 -r "$rate" -d "${total}s" --warmup 5s \
  "$@" --json "$out/run.json" >"$out/report.txt" 2>"$out/progress.log" &
bench=$!
sleep "$settle" # setup, warm-up and JIT
cut -d' ' -f1-3 /proc/loadavg >"$out/load.txt"
python3 "$here/cpu-split.py" "$cpu_seconds" "$node" "$bench" >"$out/cpu.json"
jcmd "$node" JFR.start name=bench settings=profile duration="${jfr_seconds}s" filename="$out/node.jfr" >/dev/null
sleep $((jfr_seconds + 2))
wait "$bench" || true
bench=""
python3 "$here/jfr-areas.py" "$out/node.jfr" >"$out/areas.md"
acked=$(jq .ackedSendsPerSecond "$out/run.json")
jq --argjson acked "$acked" '. + {ackedSendsPerSecond: $acked,
    nodeCpuMsPerAckedSend: (1000 * .nodeCores / $acked), benchCpuMsPerAckedSend: (1000 * .benchCores / $acked),
    postgresCpuMsPerAckedSend: (1000 * .postgresCores / $acked)}' "$out/cpu.json" | tee "$out/cpu-per-send.json"
grep -E 'send->ack|acked sends' "$out/report.txt"
cat "$out/areas.md"
# GC pauses during the whole run (G1 logs "... Pause Young (Normal) (G1 Evacuation Pause) 25M->5M(256M) 3.456ms").
awk '/Pause/ && $NF ~ /ms$/ { ms = $NF; sub("ms", "", ms); n++; sum += ms; if (ms + 0 > max) max = ms + 0 }
  END { printf "GC pauses: %d, total %.0f ms, max %.1f ms\n", n, sum, max }' "$out/gc.log"
