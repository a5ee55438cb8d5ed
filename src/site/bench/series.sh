#!/usr/bin/env bash
# Issue 18's figures for one build on one storage, on ONE node (started once): the idle node (CPU
# and database statements with no client), then one `parley bench` per workload, each with the
# node's CPU and the database's commits per acked send (bench --node-metrics / --db-url), and the
# PostgreSQL ceiling measured once between them. Cheaper than one run-row.sh per row when the
# benchmark lock is shared with others; the rows are then not independent node starts.
#
# Usage: series.sh NAME JAR h2|pg RUNS WORKLOAD...   (WORKLOAD: "label:bench args", e.g.
#        "1to1-2000:-c 200 -m 100 -k 2 -r 2000")
#   env: BENCH_JAR (load generator, default JAR), OUT (/tmp/parley-series), IDLE_SECONDS (30),
#        IDLE_SETTLE (10: seconds between the prime and the idle window; the JIT compiler is still
#        busy 10 s after the prime, ~0.2 cores of the idle figure, so steady-state idle wants ~60),
#        DURATION (10s), WARMUP (3s), ports HTTP_PORT/CLUSTER_PORT/MANAGEMENT_PORT (18781..3)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
name=$1 jar=$2 store=$3 runs=$4
shift 4
bench_jar=${BENCH_JAR:-$jar}
out=${OUT:-/tmp/parley-series}/$name
http_port=${HTTP_PORT:-18781} cluster_port=${CLUSTER_PORT:-18782} management_port=${MANAGEMENT_PORT:-18783}
export PGHOST=${PGHOST:-127.0.0.1} PGUSER=${PGUSER:-postgres}
rm -rf "$out" && mkdir -p "$out/data"
node_env=(PARLEY_HTTP_PORT="$http_port" PARLEY_CLUSTER_PORT="$cluster_port" PARLEY_MANAGEMENT_PORT="$management_port"
          PARLEY_HTTP_INTERFACE=127.0.0.1 PARLEY_DATA_DIR="$out/data")
cost_args=(--node-metrics "http://127.0.0.1:$management_port/metrics")
db=""
if [[ $store == pg ]]; then
  db="parley_series_$$_$(date +%s)"
  psql -qX -d postgres -c "CREATE DATABASE $db" >/dev/null
  node_env+=(PARLEY_DB_URL="jdbc:postgresql://$PGHOST:5432/$db" PARLEY_DB_USER="$PGUSER")
  cost_args+=(--db-url "jdbc:postgresql://$PGHOST:5432/$db?user=$PGUSER")
fi
env "${node_env[@]}" java ${NODE_OPTS:-} -jar "$jar" server >"$out/node.log" 2>&1 &
node=$!
sampler=""
cleanup() {
  if [[ -n $sampler ]]; then kill "$sampler" 2>/dev/null || true; fi
  kill "$node" 2>/dev/null && wait "$node" 2>/dev/null || true
  [[ -n $db ]] && psql -qX -d postgres -c "DROP DATABASE IF EXISTS $db" >/dev/null || true
}
trap cleanup EXIT
trap "exit 143" TERM INT
for _ in $(seq 1 120); do grep -qs "Parley node up" "$out/node.log" && break; sleep 1; done
grep -qs "Parley node up" "$out/node.log" || { echo "node did not start, see $out/node.log" >&2; exit 1; }
java -jar "$bench_jar" bench --url "ws://127.0.0.1:$http_port/v1/ws" -c 50 -m 25 -k 2 -r 200 -d 5s --warmup 0s >"$out/prime.txt" 2>&1 || true

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$node/stat"; }
commits() { [[ -n $db ]] && psql -qXAt -d "$db" -c "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()" || echo 0; }
# Idle: no client connected (the prime's connections are closed); let the node settle first.
sleep "${IDLE_SETTLE:-10}"
idle=${IDLE_SECONDS:-30}
c0=$(cpu_ticks); s0=$(commits); sleep "$idle"; c1=$(cpu_ticks); s1=$(commits)
threads=$(ls /proc/$node/task | wc -l)
hz=$(getconf CLK_TCK)
printf '{"idleSeconds":%d,"idleCorePercent":%s,"idleCommitsPerSecond":%s,"threads":%d}\n' "$idle" \
  "$(echo "scale=2; 100 * ($c1 - $c0) / $hz / $idle" | bc)" "$(echo "scale=2; ($s1 - $s0 - 2) / $idle" | bc)" "$threads" \
  | tee "$out/idle.json" >&2

[[ $store == pg ]] && "$here/postgres-ceiling.sh" "${CEILING_SECONDS:-8}" | tee "$out/ceiling.json" >&2
for workload in "$@"; do
  label=${workload%%:*} args=${workload#*:}
  for i in $(seq 1 "$runs"); do
    # The inbox projection's lag (parley_inbox_lag_seconds: the oldest event of the last batch of
    # each tag, written -> applied) sampled twice a second while the run lasts.
    ( while :; do curl -fs "http://127.0.0.1:$management_port/metrics" | awk '/^parley_inbox_lag_seconds/ { print $2 }'; sleep 0.5; done ) \
      >"$out/$label-$i.lag" 2>/dev/null &
    sampler=$!
    # shellcheck disable=SC2086
    java -jar "$bench_jar" bench --url "ws://127.0.0.1:$http_port/v1/ws" "${cost_args[@]}" $args \
      -d "${DURATION:-10s}" --warmup "${WARMUP:-3s}" --json "$out/$label-$i.json" >"$out/$label-$i.txt" 2>"$out/$label-$i.log" || true
    kill "$sampler" 2>/dev/null; wait "$sampler" 2>/dev/null || true; sampler=""
    # The node's meters after the run (resends, refusals, sends in flight...), for whoever asks why.
    curl -fs "http://127.0.0.1:$management_port/metrics" >"$out/$label-$i.metrics" 2>/dev/null || true
    lag=$(sort -g "$out/$label-$i.lag" | awk '{ v[NR] = $1 } END { if (NR) printf "inbox lag s p50 %s max %s (%d samples)", v[int((NR + 1) / 2)], v[NR], NR }')
    echo "$name $label run $i: $(grep -E 'acked sends/s|send->ack|try->ack|cost per|errors ' "$out/$label-$i.txt" | tr -s ' ' | paste -sd' ') $lag" >&2
  done
done
