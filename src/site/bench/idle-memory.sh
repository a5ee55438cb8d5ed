#!/usr/bin/env bash
# Memory per idle connection: one fresh H2 node; heap used after a full GC (jcmd GC.run, then
# GC.heap_info) and RSS (VmRSS) at baseline, then while `parley bench --idle` holds N connections,
# for each N given. Prints one JSON line per step and (value - baseline) / N.
#
# Usage: idle-memory.sh NAME N... (e.g. idle-memory.sh idle 10000 19000)
#   env: PARLEY_JAR, OUT, HTTP_PORT/CLUSTER_PORT/MANAGEMENT_PORT (18481-18483), NODE_OPTS (extra JVM
#        options of the node), HOLD (seconds each step is held, default 60)
# Both JVMs need a file descriptor per connection: run under `ulimit -n` above the largest N.
# The node is started with pekko.http.server.max-connections raised (Pekko HTTP's default is 1,024)
# and the connection admission bucket off (PARLEY_ADMISSION_CONNECTIONS_PER_SECOND=0), so setup
# takes seconds instead of N / 200 s; neither changes what an idle connection holds.
set -euo pipefail
name=$1
shift
jar=${PARLEY_JAR:-target/parley.jar}
out=${OUT:-/tmp/parley-bench}/$name
http_port=${HTTP_PORT:-18481}
hold=${HOLD:-60}
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

measure() { # connections -> one JSON line: heap used after a full GC, RSS, established connections
  jcmd "$node" GC.run >/dev/null
  sleep 2
  local heap_kb rss_kb established
  heap_kb=$(jcmd "$node" GC.heap_info | awk '/garbage-first heap/ { for (i = 1; i <= NF; i++) if ($i == "used") { sub("K,?", "", $(i+1)); print $(i+1) } }')
  rss_kb=$(awk '/^VmRSS/ { print $2 }' "/proc/$node/status")
  established=$(ss -Htn state established "( sport = :$http_port )" | wc -l)
  printf '{"connections":%d,"established":%d,"heapUsedKB":%d,"rssKB":%d}\n' "$1" "$established" "$heap_kb" "$rss_kb"
}

sleep 10 # let start-up settle
measure 0 | tee "$out/baseline.json"
for n in "$@"; do
  java -jar "$jar" bench --url "ws://127.0.0.1:$http_port/v1/ws" --idle -c "$n" -d "${hold}s" --setup-timeout 300s \
    --json "$out/idle-$n.json" >"$out/idle-$n.txt" 2>"$out/idle-$n.log" &
  bench=$!
  for _ in $(seq 1 600); do grep -qs "holding for" "$out/idle-$n.log" && break; sleep 1; done
  sleep $((hold / 2))
  measure "$n" | tee "$out/step-$n.json"
  wait "$bench" || true
  bench=""
  cat "$out/idle-$n.txt"
  jq -s '.[0] as $b | .[1] | {connections, established,
      heapPerConnectionKB: ((.heapUsedKB - $b.heapUsedKB) / .connections), rssPerConnectionKB: ((.rssKB - $b.rssKB) / .connections)}' \
    "$out/baseline.json" "$out/step-$n.json" | tee "$out/per-connection-$n.json"
  sleep 5 # closed connections leave the node before the next step
done
