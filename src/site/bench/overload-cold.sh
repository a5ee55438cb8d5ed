#!/usr/bin/env bash
# Overload from cold (issue 18, target 8): a fresh node, not warmed, offered more sends than it
# sustains from its first second; the same node jar each time, driven by each given bench client in
# turn (to compare client behaviours, e.g. the connection-wide hold after a retry hint, protocol.md
# "Overload and rate limits"), ROUNDS rounds interleaved, a fresh node and database per run.
#
# Usage: overload-cold.sh NAME NODE_JAR LABEL=CLIENT_JAR... -- BENCH_ARGS...
#   env: OUT (/tmp/parley-overload), ROUNDS (2), DRAIN (10s: the bench's --drain-timeout; the
#        backlog an open-loop overload leaves is not waited for), HTTP_PORT (18881, +1 cluster,
#        +2 management), PGHOST/PGUSER, NODE_OPTS (node JVM options, every run), NODE_OPTS_0,
#        NODE_OPTS_1... (more options for the i-th label's nodes only: the same client twice against
#        two node settings, e.g. NODE_OPTS_1=-Dparley.conversation.max-sends-in-flight=2500),
#        NODE_JAR_0, NODE_JAR_1... (another node jar for the i-th label's nodes: two node builds driven
#        by the same client, e.g. main=client.jar fix=client.jar with NODE_JAR_1=fix.jar),
#        SAMPLE (unset; 1: run-sampler.py every half second of each run, in LABEL-ROUND/run.samples:
#        the node's sends received, acked and refused, its CPU, the client's and PostgreSQL's)
# Example: overload-cold.sh cold2000 parley.jar before=main.jar after=parley.jar -- -c 200 -m 100 -k 2 -r 2000 -d 60s --warmup 0s
# Prints one line per run: acked/s, accepted attempt's p99 (last try->ack), refusals by code and per
# acked send, node CPU per acked send, the bench client's CPU per acked send.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
name=$1 node_jar=$2
shift 2
labels=() jars=()
while [[ $# -gt 0 && $1 != -- ]]; do labels+=("${1%%=*}"); jars+=("${1#*=}"); shift; done
[[ ${1:-} == -- ]] && shift
out=${OUT:-/tmp/parley-overload}/$name
port=${HTTP_PORT:-18881}
export PGHOST=${PGHOST:-127.0.0.1} PGUSER=${PGUSER:-postgres}
rm -rf "$out" && mkdir -p "$out"

node="" db=""
stop_node() {
  [[ -n $node ]] && { kill "$node" 2>/dev/null && wait "$node" 2>/dev/null || true; }
  [[ -n $db ]] && psql -qX -d postgres -c "DROP DATABASE IF EXISTS $db" >/dev/null || true
  node="" db=""
}
trap stop_node EXIT
trap "exit 143" TERM INT

for round in $(seq 1 "${ROUNDS:-2}"); do
  for i in "${!labels[@]}"; do
    run="${labels[$i]}-$round" dir="$out/${labels[$i]}-$round" own_opts=NODE_OPTS_$i own_jar=NODE_JAR_$i
    mkdir -p "$dir/data"
    db="parley_overload_$$_$(date +%s)"
    psql -qX -d postgres -c "CREATE DATABASE $db" >/dev/null
    env PARLEY_HTTP_PORT="$port" PARLEY_CLUSTER_PORT="$((port + 1))" PARLEY_MANAGEMENT_PORT="$((port + 2))" \
      PARLEY_HTTP_INTERFACE=127.0.0.1 PARLEY_DATA_DIR="$dir/data" \
      PARLEY_DB_URL="jdbc:postgresql://$PGHOST:5432/$db" PARLEY_DB_USER="$PGUSER" \
      java ${NODE_OPTS:-} ${!own_opts:-} -jar "${!own_jar:-$node_jar}" server >"$dir/node.log" 2>&1 &
    node=$!
    for _ in $(seq 1 120); do grep -qs "Parley node up" "$dir/node.log" && break; sleep 1; done
    grep -qs "Parley node up" "$dir/node.log" || { echo "node did not start, see $dir/node.log" >&2; exit 1; }
    python3 "$here/jvm-ticks.py" "$node" >"$dir/ticks-before"
    sampler=""
    if [[ -n ${SAMPLE:-} ]]; then
      python3 "$here/run-sampler.py" "$dir/run.samples" "$node" "http://127.0.0.1:$((port + 2))/metrics" 600 &
      sampler=$!
    fi
    java -jar "${jars[$i]}" bench --url "ws://127.0.0.1:$port/v1/ws" --node-metrics "http://127.0.0.1:$((port + 2))/metrics" \
      --db-url "jdbc:postgresql://$PGHOST:5432/$db?user=$PGUSER" --drain-timeout "${DRAIN:-10s}" "$@" \
      --json "$dir/run.json" >"$dir/report.txt" 2>"$dir/progress.log" || true
    if [[ -n $sampler ]]; then kill "$sampler" 2>/dev/null || true; wait "$sampler" 2>/dev/null || true; fi
    python3 "$here/jvm-ticks.py" "$node" >"$dir/ticks-after"
    stop_node
    jq -r --arg run "$run" '
      (.errorsByCode // {}) as $e | ([$e[]] | add // 0) as $refused |
      "\($run): acked/s \(.ackedSendsPerSecond | floor), last-try->ack p99 \(.lastTryToAck.p99) ms, send->ack p99 \(.sendToAck.p99) ms, "
      + "refusals \($refused) (\($e | to_entries | map("\(.key)=\(.value)") | join(" "))), per acked send \(if .correctness.ackedMessages > 0 then ($refused / .correctness.ackedMessages * 100 | floor) / 100 else "n/a" end), "
      + "retried \(.retriedSends), unacked at end \(.unackedSends), node CPU ms/acked \(.cost.nodeCpuMsPerAckedSend // "n/a"), bench CPU ms/send \(.cost.benchCpuMsPerSend // "n/a"), commits/acked \(.cost.commitsPerAckedSend // "n/a")"' \
      "$dir/run.json" | tee -a "$out/summary.txt"
  done
done
