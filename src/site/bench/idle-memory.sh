#!/usr/bin/env bash
# What idle connections cost a node: one fresh H2 node; for each N, `parley bench --idle` opens N
# authenticated connections as fast as it can (a connect storm), holds them, closes them.
# Measured on the node: heap used after a full GC (jcmd GC.run, then GC.heap_info), RSS (VmRSS),
# a class histogram (jcmd GC.class_histogram), and CPU (utime+stime of /proc/PID/stat):
#   - idle CPU: over IDLE_WINDOW seconds with no connection (baseline) and with N held;
#   - open CPU: from the bench's start until all N are open, minus the baseline idle rate over that time;
#   - close CPU: from the end of the hold until 5 s after the bench exits, likewise.
# Prints one JSON line per step and the per-connection figures.
#
# Usage: idle-memory.sh NAME N... (e.g. idle-memory.sh idle 10000 19500)
#   env: PARLEY_JAR (the node), BENCH_JAR (the client, default PARLEY_JAR), OUT,
#        HTTP_PORT/CLUSTER_PORT/MANAGEMENT_PORT (18481-18483), NODE_OPTS (extra JVM options of the
#        node), HOLD (seconds each step is held, default 60), IDLE_WINDOW (default 20, < HOLD - SETTLE - 15),
#        SETTLE (seconds from the last connection opened to the idle window, default 2),
#        JFR=1 (a JFR CPU profile of the connect storm, open-N.jfr; it adds to the open CPU figure),
#        JFR_IDLE=1 (one of the idle window, idle-N.jfr), HEAP_DUMP=1 (jcmd GC.heap_dump at N after
#        the figures, heap-N.hprof: heap-owners.py reads it)
# Both JVMs need a file descriptor per connection: run under `ulimit -n` above the largest N.
# The node is started with pekko.http.server.max-connections raised (Pekko HTTP's default is 1,024)
# and the connection admission bucket off (PARLEY_ADMISSION_CONNECTIONS_PER_SECOND=0), so setup
# takes seconds instead of N / 200 s; neither changes what an idle connection holds.
set -euo pipefail
name=$1
shift
jar=${PARLEY_JAR:-target/parley.jar}
bench_jar=${BENCH_JAR:-$jar}
out=${OUT:-/tmp/parley-bench}/$name
http_port=${HTTP_PORT:-18481}
hold=${HOLD:-60}
window=${IDLE_WINDOW:-20}
tck=$(getconf CLK_TCK)
rm -rf "$out" && mkdir -p "$out/data"
env PARLEY_HTTP_PORT="$http_port" PARLEY_CLUSTER_PORT="${CLUSTER_PORT:-18482}" PARLEY_MANAGEMENT_PORT="${MANAGEMENT_PORT:-18483}" \
    PARLEY_HTTP_INTERFACE=127.0.0.1 PARLEY_DATA_DIR="$out/data" PARLEY_ADMISSION_CONNECTIONS_PER_SECOND=0 \
    java -Dpekko.http.server.max-connections=100000 ${NODE_OPTS:-} -jar "$jar" server >"$out/node.log" 2>&1 &
node=$!
bench=""
cleanup() {
  [[ -n $bench ]] && kill "$bench" 2>/dev/null || true
  kill "$node" 2>/dev/null && wait "$node" 2>/dev/null || true
}
trap cleanup EXIT
for _ in $(seq 1 120); do grep -qs "Parley node up" "$out/node.log" && break; sleep 1; done
grep -qs "Parley node up" "$out/node.log" || { echo "node did not start, see $out/node.log" >&2; exit 1; }

cpu_ms() { awk -v t="$tck" '{ print int(($14 + $15) * 1000 / t) }' "/proc/$node/stat"; }
now_ms() { date +%s%3N; }
idle_cpu() { # seconds -> node CPU ms per second of wall time over that window
  local c0 t0 c1 t1
  c0=$(cpu_ms); t0=$(now_ms); sleep "$1"; c1=$(cpu_ms); t1=$(now_ms)
  echo "scale=3; ($c1 - $c0) * 1000 / ($t1 - $t0)" | bc
}
measure() { # connections -> one JSON line: heap used after a full GC, RSS, established connections
  jcmd "$node" GC.run >/dev/null
  sleep 2
  local heap_kb rss_kb established
  heap_kb=$(jcmd "$node" GC.heap_info | awk '/garbage-first heap/ { for (i = 1; i <= NF; i++) if ($i == "used") { sub("K,?", "", $(i+1)); print $(i+1) } }')
  rss_kb=$(awk '/^VmRSS/ { print $2 }' "/proc/$node/status")
  established=$(ss -Htn state established "( sport = :$http_port )" | wc -l)
  printf '{"connections":%d,"established":%d,"heapUsedKB":%d,"rssKB":%d}\n' "$1" "$established" "$heap_kb" "$rss_kb"
}

sleep "${STARTUP_SETTLE:-10}" # let start-up settle (JIT, cluster formation): the baseline is measured after it
base_idle=$(idle_cpu "$window")
measure 0 | jq -c --argjson idle "$base_idle" '. + {idleCpuMsPerS: $idle}' | tee "$out/baseline.json"
jcmd "$node" GC.class_histogram >"$out/histogram-0.txt"
for n in "$@"; do
  [[ ${JFR:-0} == 1 ]] && jcmd "$node" JFR.start name=open settings=profile filename="$out/open-$n.jfr" >/dev/null
  c0=$(cpu_ms); t0=$(now_ms)
  java -jar "$bench_jar" bench --url "ws://127.0.0.1:$http_port/v1/ws" --idle -c "$n" -d "${hold}s" --setup-timeout 300s \
    --json "$out/idle-$n.json" >"$out/idle-$n.txt" 2>"$out/idle-$n.log" &
  bench=$!
  for _ in $(seq 1 6000); do grep -qs "holding for" "$out/idle-$n.log" && break; sleep 0.1; done
  c1=$(cpu_ms); t1=$(now_ms)
  [[ ${JFR:-0} == 1 ]] && jcmd "$node" JFR.stop name=open >/dev/null
  sleep "${SETTLE:-2}" # work the storm left queued (presence writes) is not idle cost
  [[ ${JFR_IDLE:-0} == 1 ]] && jcmd "$node" JFR.start name=idle settings=profile filename="$out/idle-$n.jfr" >/dev/null
  held_idle=$(idle_cpu "$window")
  [[ ${JFR_IDLE:-0} == 1 ]] && jcmd "$node" JFR.stop name=idle >/dev/null
  measure "$n" | jq -c --argjson idle "$held_idle" --argjson openCpuMs $((c1 - c0)) --argjson openWallMs $((t1 - t0)) \
    '. + {idleCpuMsPerS: $idle, openCpuMs: $openCpuMs, openWallMs: $openWallMs}' | tee "$out/step-$n.json"
  jcmd "$node" GC.class_histogram >"$out/histogram-$n.txt"
  [[ ${HEAP_DUMP:-0} == 1 ]] && jcmd "$node" GC.heap_dump "$out/heap-$n.hprof" >/dev/null
  for _ in $(seq 1 6000); do grep -qs "holding:.* 0s left" "$out/idle-$n.log" && break; kill -0 "$bench" 2>/dev/null || break; sleep 0.1; done
  c2=$(cpu_ms); t2=$(now_ms)
  wait "$bench" || true
  bench=""
  sleep 5 # closed connections leave the node before the next step
  c3=$(cpu_ms); t3=$(now_ms)
  cat "$out/idle-$n.txt"
  jq -s --argjson closeCpuMs $((c3 - c2)) --argjson closeWallMs $((t3 - t2)) '.[0] as $b | .[1] | {connections, established,
      heapPerConnectionKB: ((.heapUsedKB - $b.heapUsedKB) / .connections), rssPerConnectionKB: ((.rssKB - $b.rssKB) / .connections),
      idleCpuPercentOfCore: ((.idleCpuMsPerS - $b.idleCpuMsPerS) / 10),
      openCpuMsPerConnection: ((.openCpuMs - $b.idleCpuMsPerS * .openWallMs / 1000) / .connections),
      closeCpuMsPerConnection: (($closeCpuMs - $b.idleCpuMsPerS * $closeWallMs / 1000) / .connections),
      baselineIdleCpuPercentOfCore: ($b.idleCpuMsPerS / 10), openedPerSecond: (.connections * 1000 / .openWallMs)}' \
    "$out/baseline.json" "$out/step-$n.json" | tee "$out/per-connection-$n.json"
done
