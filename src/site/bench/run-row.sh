#!/usr/bin/env bash
# One row of src/site/markdown/benchmarks.md: starts a fresh node (fresh H2 directory or fresh
# PostgreSQL database), then RUNS times: measures the PostgreSQL ceiling (postgres-ceiling.sh) and
# runs `parley bench` with the given arguments; stops the node and prints the medians.
#
# Usage: run-row.sh NAME h2|pg RUNS [bench arguments...]
#   env: PARLEY_JAR (default target/parley.jar), OUT (default /tmp/parley-bench), HTTP_PORT (18481),
#        CLUSTER_PORT (18482), MANAGEMENT_PORT (18483), CEILING_SECONDS (8), PGHOST/PGUSER (127.0.0.1/postgres),
#        NODE_OPTS (extra JVM options of the node, default none), BENCH_JAR (the load generator's jar,
#        default PARLEY_JAR: a baseline node measured with the current bench gets the same cost columns)
# Example: run-row.sh pg-1to1-1000 pg 3 -c 200 -m 100 -k 2 -r 1000 -d 10s --warmup 3s
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
name=$1 store=$2 runs=$3
shift 3
jar=${PARLEY_JAR:-target/parley.jar}
bench_jar=${BENCH_JAR:-$jar}
out=${OUT:-/tmp/parley-bench}/$name
http_port=${HTTP_PORT:-18481}
cluster_port=${CLUSTER_PORT:-18482}
management_port=${MANAGEMENT_PORT:-18483}
export PGHOST=${PGHOST:-127.0.0.1} PGUSER=${PGUSER:-postgres}
rm -rf "$out" && mkdir -p "$out/data"

node_env=(PARLEY_HTTP_PORT="$http_port" PARLEY_CLUSTER_PORT="$cluster_port" PARLEY_MANAGEMENT_PORT="$management_port"
          PARLEY_HTTP_INTERFACE=127.0.0.1
          PARLEY_DATA_DIR="$out/data")
db=""
# Node CPU per acked send (its process CPU meter) and, on PostgreSQL, commits per acked send.
cost_args=(--node-metrics "http://127.0.0.1:$management_port/metrics")
if [[ $store == pg ]]; then
  db="parley_bench_$$_$(date +%s)"
  psql -qX -d postgres -c "CREATE DATABASE $db" >/dev/null
  node_env+=(PARLEY_DB_URL="jdbc:postgresql://$PGHOST:5432/$db" PARLEY_DB_USER="$PGUSER")
  cost_args+=(--db-url "jdbc:postgresql://$PGHOST:5432/$db?user=$PGUSER")
fi

env "${node_env[@]}" java ${NODE_OPTS:-} -jar "$jar" server >"$out/node.log" 2>&1 &
node=$!
cleanup() {
  kill "$node" 2>/dev/null && wait "$node" 2>/dev/null || true
  [[ -n $db ]] && psql -qX -d postgres -c "DROP DATABASE IF EXISTS $db" >/dev/null || true
}
trap cleanup EXIT
for _ in $(seq 1 120); do grep -qs "Parley node up" "$out/node.log" && break; sleep 1; done
grep -qs "Parley node up" "$out/node.log" || { echo "node did not start, see $out/node.log" >&2; exit 1; }

# Not measured: lets the node's JIT compile the hot paths, so run 1 is not a cold-JVM outlier.
java -jar "$bench_jar" bench --url "ws://127.0.0.1:$http_port/v1/ws" -c 50 -m 25 -k 2 -r 200 -d 5s --warmup 0s \
  >"$out/prime.txt" 2>&1 || true

for i in $(seq 1 "$runs"); do
  "$here/postgres-ceiling.sh" "${CEILING_SECONDS:-8}" >"$out/ceiling-$i.json"
  cut -d' ' -f1 /proc/loadavg >"$out/load-$i.txt"
  java -jar "$bench_jar" bench --url "ws://127.0.0.1:$http_port/v1/ws" "${cost_args[@]}" "$@" --json "$out/run-$i.json" \
    >"$out/report-$i.txt" 2>"$out/progress-$i.log" || true
  echo "run $i: $(grep -E 'acked sends/s|send->ack|cost per' "$out/report-$i.txt" | tr -s ' ' | paste -sd' ')  pg $(cat "$out/ceiling-$i.json")  load $(cat "$out/load-$i.txt")" >&2
done
"$here/summarize.sh" "$out"
