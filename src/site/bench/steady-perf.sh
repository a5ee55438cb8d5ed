#!/usr/bin/env bash
# A perf profile of a warm node at a steady rate (issue 18), every thread, kernel included: JFR with
# settings=profile tips a warm node at 1,000-2,000/s over on this box, perf does not.
# One node (frame pointers kept, its JIT's symbols dumped at exit), warmed WARM_SECONDS at WARM_RATE,
# one run at MID_RATE, then RATE for RUN_SECONDS with `perf record -F 999 -g` over PERF_SECONDS of it;
# the thread split (thread-split.py) and the journal's batches (the node's counters) of every run;
# at the end perf-sendpath.py, perf-actors.py and perf-areas.py of the recording, and perf-cost.py: the
# steady run's CPU per acked send in ms by thread group and area (cost.md).
# Usage: steady-perf.sh OUT JAR   env: WARM_RATE (500), WARM_SECONDS (90), MID_RATE (1000), RATE (2000),
#        RUN_SECONDS (35), PERF_SECONDS (20), BENCH_JAR (JAR), PORT (18960)
set -u
here=$(cd "$(dirname "$0")" && pwd)
out=$1 jar=$2
bench_jar=${BENCH_JAR:-$jar} port=${PORT:-18960}
rm -rf "$out"; mkdir -p "$out/data"
export PGHOST=${PGHOST:-127.0.0.1} PGUSER=${PGUSER:-postgres}
db="parley_perf_$$"
psql -qX -d postgres -c "CREATE DATABASE $db" >/dev/null
env PARLEY_HTTP_PORT=$port PARLEY_CLUSTER_PORT=$((port + 1)) PARLEY_MANAGEMENT_PORT=$((port + 2)) PARLEY_HTTP_INTERFACE=127.0.0.1 \
  PARLEY_DATA_DIR="$out/data" PARLEY_DB_URL="jdbc:postgresql://$PGHOST:5432/$db" PARLEY_DB_USER="$PGUSER" \
  java -XX:+UnlockDiagnosticVMOptions -XX:+DumpPerfMapAtExit -XX:+PreserveFramePointer ${NODE_OPTS:-} -jar "$jar" server >"$out/node.log" 2>&1 &
node=$!
trap 'kill $node 2>/dev/null; psql -qX -d postgres -c "DROP DATABASE IF EXISTS $db" >/dev/null' EXIT
for _ in $(seq 1 120); do grep -qs "Parley node up" "$out/node.log" && break; sleep 1; done
journal() { curl -s "http://127.0.0.1:$((port + 2))/metrics" | grep -E "^parley_journal_(batches|rows)"; }
run() { # NAME RATE SECONDS
  journal >"$out/$1.journal-before"
  cat /proc/$node/io >"$out/$1.io-before"
  python3 "$here/thread-split.py" snap $node >"$out/$1.split-before"
  java -jar "$bench_jar" bench --url "ws://127.0.0.1:$port/v1/ws" --node-metrics "http://127.0.0.1:$((port + 2))/metrics" \
    --db-url "jdbc:postgresql://$PGHOST:5432/$db?user=$PGUSER" -c 200 -m 100 -k 2 -r "$2" -d "${3}s" --warmup 3s \
    --json "$out/$1.json" >"$out/$1.txt" 2>"$out/$1.log"
  python3 "$here/thread-split.py" snap $node --names >"$out/$1.split-after"
  journal >"$out/$1.journal-after"
  cat /proc/$node/io >"$out/$1.io-after"
  python3 "$here/thread-split.py" diff "$out/$1.split-before" "$out/$1.split-after" "$(jq '.correctness.ackedMessages // 0' "$out/$1.json")" >"$out/$1.split.md" || true
  echo "$(date -u +%T) $1: $(grep -E '^(acked sends|send->ack|cost per)' "$out/$1.txt" | tr -s ' ' | tr '\n' ' ')"
}
run warm "${WARM_RATE:-500}" "${WARM_SECONDS:-90}"; sleep 5
run mid "${MID_RATE:-1000}" 20; sleep 3
perf_seconds=${PERF_SECONDS:-20}
( sleep 10; perf record -e cpu-clock -F 999 -g -p $node -o "$out/perf.data" >"$out/perf.log" 2>&1 & p=$!; sleep "$perf_seconds"; kill -INT $p; wait $p ) &
recorder=$!
run steady "${RATE:-2000}" "${RUN_SECONDS:-35}"
wait $recorder
kill $node; wait $node   # -XX:+DumpPerfMapAtExit writes /tmp/perf-PID.map, which perf script reads
python3 "$here/perf-sendpath.py" "$out/perf.data" >"$out/sendpath.md" 2>&1 || true
python3 "$here/perf-actors.py" "$out/perf.data" >"$out/actors.md" 2>&1 || true
python3 "$here/perf-areas.py" "$out/perf.data" >"$out/areas.md" 2>&1 || true
python3 "$here/perf-cost.py" "$out/perf.data" "$out/steady.split.md" "$out/steady.split-after" >"$out/cost.md" 2>&1 || true
