#!/usr/bin/env bash
# Offline notifications under load, one node on PostgreSQL (issue 21): the same HTTP-API send load
# with notifications off, then on with WINDOW [0s] (0s: every message notified to every offline
# member, the worst case; PHASES [off on] picks the phases), RATE [200] msgs/s to CONVERSATIONS [200] conversations of MEMBERS [5] members
# (MEMBERS-1 offline recipients per message), DURATION [60] s after WARMUP [10] s.
# Reports per phase: notifications/s, message -> notification latency (p50/p99), every message
# accounted for (covered == sent x recipients), node CPU (utime+stime) per message and per notification.
#
#   PARLEY_JAR=/tmp/build-i21/parley.jar /work/bin/quiet i21 8 bash src/site/bench/notifications.sh [OUT_DIR]
#
# Loopback only: receiver 18220, HTTP 18221, remoting 18222, management 18223. A fresh database per
# phase (dropped at the end); everything started is stopped on exit. One sender user: the per-user
# abuse limits (sends/s, conversations created/min) are off for the node under test.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
OUT="${1:-/tmp/parley-notifications/$(date +%Y%m%d-%H%M%S)}"
: "${PARLEY_JAR:?set PARLEY_JAR to the shaded jar}"
PHASES="${PHASES:-off on}" WINDOW="${WINDOW:-0s}"
RATE="${RATE:-200}" CONVERSATIONS="${CONVERSATIONS:-200}" MEMBERS="${MEMBERS:-5}" DURATION="${DURATION:-60}" WARMUP="${WARMUP:-10}"
mkdir -p "$OUT"
export PARLEY_JWT_SECRET='notification-bench-jwt-secret-0123456789'
SECRET='notification-bench-secret-0123456789'
NODE="" LOAD="" DB=""
cleanup() {
  [ -n "$LOAD" ] && kill "$LOAD" 2>/dev/null || true
  [ -n "$NODE" ] && kill "$NODE" 2>/dev/null || true
  wait 2>/dev/null || true
  [ -n "$DB" ] && psql -q -h 127.0.0.1 -U postgres -d postgres -c "DROP DATABASE IF EXISTS $DB" || true
}
trap cleanup EXIT INT TERM
cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; }
TOKEN=$(java -jar "$PARLEY_JAR" token sender)
TICKS=$(getconf CLK_TCK)

for phase in $PHASES; do
  DB="parley_i21_bench_${phase}_$(date +%s)"
  psql -q -h 127.0.0.1 -U postgres -d postgres -c "CREATE DATABASE $DB"
  url=""; [ "$phase" = on ] && url="http://127.0.0.1:18220/notify"
  PARLEY_NOTIFICATIONS_URL="$url" PARLEY_NOTIFICATIONS_SECRET="$SECRET" PARLEY_NOTIFICATIONS_WINDOW="$WINDOW" \
  PARLEY_DB_URL="jdbc:postgresql://127.0.0.1:5432/$DB" PARLEY_DB_USER=postgres PARLEY_DB_PASSWORD= \
  PARLEY_LIMIT_SENDS_PER_SECOND=0 PARLEY_LIMIT_CONVERSATIONS_PER_MINUTE=0 \
  PARLEY_HTTP_PORT=18221 PARLEY_CLUSTER_PORT=18222 PARLEY_MANAGEMENT_PORT=18223 \
    java -jar "$PARLEY_JAR" server > "$OUT/node-$phase.log" 2>&1 &
  NODE=$!
  for _ in $(seq 90); do curl -sf http://127.0.0.1:18223/ready >/dev/null && break; sleep 1; done
  before=$(cpu "$NODE")
  off=""; [ "$phase" = off ] && off="--off"
  python3 "$HERE/notifications-load.py" --api http://127.0.0.1:18221 --token "$TOKEN" --secret "$SECRET" --port 18220 \
    --conversations "$CONVERSATIONS" --members "$MEMBERS" --rate "$RATE" --duration "$DURATION" --warmup "$WARMUP" $off \
    > "$OUT/load-$phase.json" &
  LOAD=$!
  wait "$LOAD"; LOAD=""
  after=$(cpu "$NODE")
  curl -s http://127.0.0.1:18223/metrics | grep '^parley_notifications' > "$OUT/metrics-$phase.txt" || true
  python3 - "$OUT/load-$phase.json" "$before" "$after" "$TICKS" "$phase" <<'PY' | tee "$OUT/result-$phase.json"
import json, sys
r = json.load(open(sys.argv[1])); cpu = (float(sys.argv[3]) - float(sys.argv[2])) / float(sys.argv[4])
r["phase"] = sys.argv[5]; r["node_cpu_s"] = round(cpu, 2)
r["node_cpu_ms_per_message"] = round(cpu * 1000 / max(1, r["messages_sent"]), 3)
if r["messages_covered_total"]:
    r["node_cpu_ms_per_notified_pair"] = round(cpu * 1000 / r["messages_covered_total"], 3)
print(json.dumps(r))
PY
  kill "$NODE"; wait "$NODE" 2>/dev/null || true; NODE=""
  psql -q -h 127.0.0.1 -U postgres -d postgres -c "DROP DATABASE IF EXISTS $DB"; DB=""
done
echo "results in $OUT"
