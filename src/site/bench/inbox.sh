#!/usr/bin/env bash
# The inbox benchmark of src/site/markdown/benchmarks.md ("Inbox (issue 4)"): starts a node on a
# PostgreSQL database that is KEPT between invocations (the 100,000-conversation seeding takes
# minutes, so later invocations reuse it; FRESH=1 drops it first), seeds through the protocol
# (`parley bench inbox --seed-only`: idempotent, seeds only what the inbox does not show yet),
# records EXPLAIN ANALYZE of the page query for the largest user, runs `parley bench inbox` RUNS
# times, stops the node and prints the medians as markdown rows (inbox-summary.sh).
#
# Usage: inbox.sh [RUNS] [bench inbox arguments...]
#   env: PARLEY_JAR (default target/parley.jar), OUT (default /tmp/parley-inbox-bench), DB (parley_bench_inbox),
#        FRESH (1: drop and recreate DB), HTTP_PORT (18591), CLUSTER_PORT (18592), MANAGEMENT_PORT (18593),
#        PARLEY_JWT_SECRET (default: a fixed bench secret), PGHOST/PGUSER (127.0.0.1/postgres), NODE_OPTS
# Example: inbox.sh 3
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
runs=${1:-3}
shift || true
jar=${PARLEY_JAR:-target/parley.jar}
out=${OUT:-/tmp/parley-inbox-bench}
db=${DB:-parley_bench_inbox}
http_port=${HTTP_PORT:-18591}
export PGHOST=${PGHOST:-127.0.0.1} PGUSER=${PGUSER:-postgres}
export PARLEY_JWT_SECRET=${PARLEY_JWT_SECRET:-inbox-bench-secret-of-at-least-32-bytes-xx}
url="ws://127.0.0.1:$http_port/v1/ws"
mkdir -p "$out/data"
rm -f "$out"/run-*.json "$out"/report-*.txt "$out"/progress-*.log

if [[ ${FRESH:-0} == 1 ]]; then psql -qX -d postgres -c "DROP DATABASE IF EXISTS $db" >/dev/null; fi
if [[ -z $(psql -qXtA -d postgres -c "SELECT 1 FROM pg_database WHERE datname = '$db'") ]]; then
  psql -qX -d postgres -c "CREATE DATABASE $db" >/dev/null
fi

# Per-user abuse limits (on main since the security work: 30 conversations created per user per
# minute, 20 sends/s per connection) would make seeding 100,000 conversations for one user take
# days; 0 switches them off for this node only. Nodes without these settings ignore the variables.
PARLEY_LIMIT_CONVERSATIONS_PER_MINUTE=0 PARLEY_LIMIT_SENDS_PER_SECOND=0 \
PARLEY_HTTP_PORT="$http_port" PARLEY_CLUSTER_PORT="${CLUSTER_PORT:-18592}" PARLEY_MANAGEMENT_PORT="${MANAGEMENT_PORT:-18593}" \
  PARLEY_HTTP_INTERFACE=127.0.0.1 PARLEY_DATA_DIR="$out/data" \
  PARLEY_DB_URL="jdbc:postgresql://$PGHOST:5432/$db" PARLEY_DB_USER="$PGUSER" \
  java ${NODE_OPTS:-} -jar "$jar" server >"$out/node.log" 2>&1 &
node=$!
trap 'kill "$node" 2>/dev/null && wait "$node" 2>/dev/null || true' EXIT
for _ in $(seq 1 120); do grep -qs "Parley node up" "$out/node.log" && break; sleep 1; done
grep -qs "Parley node up" "$out/node.log" || { echo "node did not start, see $out/node.log" >&2; exit 1; }

java -jar "$jar" bench inbox --url "$url" --seed-only --seed-timeout 60m "$@" >"$out/seed.txt" 2>"$out/seed.log"
cat "$out/seed.txt" >&2

# The page query as InboxStore runs it (a prepared statement, as the JDBC driver sends it), for the
# largest user: first page, and the page after row 4,950 (page 100 of 50, the bench's deep page with
# the defaults); before and after ANALYZE. The PostgreSQL of benchmarks.md runs with autovacuum off,
# so a freshly seeded read model has no statistics until this script analyzes it (see benchmarks.md).
big=$(psql -qXtA -d "$db" -c "SELECT user_id FROM inbox_entry WHERE user_id LIKE 'ibench-u%' GROUP BY user_id ORDER BY count(*) DESC LIMIT 1")
read -r deep_activity deep_conversation < <(psql -qXtA -F ' ' -d "$db" -c \
  "SELECT last_activity, conversation_id FROM inbox_entry WHERE user_id = '$big' ORDER BY last_activity DESC, conversation_id DESC OFFSET 4949 LIMIT 1")
explain() {
  psql -qX -d "$db" <<SQL
PREPARE first_page(varchar, int) AS SELECT e.conversation_id, e.last_activity, e.read_seq, e.unread, c.title, c.last_seq,
  c.last_activity, c.preview_seq, c.preview_sender, c.preview_text FROM inbox_entry e
  JOIN inbox_conversation c ON c.conversation_id = e.conversation_id WHERE e.user_id = \$1
  ORDER BY e.last_activity DESC, e.conversation_id DESC LIMIT \$2;
PREPARE next_page(varchar, bigint, varchar, int) AS SELECT e.conversation_id, e.last_activity, e.read_seq, e.unread, c.title,
  c.last_seq, c.last_activity, c.preview_seq, c.preview_sender, c.preview_text FROM inbox_entry e
  JOIN inbox_conversation c ON c.conversation_id = e.conversation_id WHERE e.user_id = \$1
  AND (e.last_activity, e.conversation_id) < (\$2, \$3) ORDER BY e.last_activity DESC, e.conversation_id DESC LIMIT \$4;
EXPLAIN (ANALYZE, BUFFERS) EXECUTE first_page('$big', 51);
EXPLAIN (ANALYZE, BUFFERS) EXECUTE next_page('$big', $deep_activity, '$deep_conversation', 51);
SQL
}
explain >"$out/explain-before-analyze.txt" 2>&1
psql -qX -d "$db" -c "ANALYZE inbox_entry" -c "ANALYZE inbox_conversation" -c "ANALYZE inbox_message"
explain >"$out/explain.txt" 2>&1

for i in $(seq 1 "$runs"); do
  cut -d' ' -f1-3 /proc/loadavg >"$out/load-before-$i.txt"
  java -jar "$jar" bench inbox --url "$url" "$@" --json "$out/run-$i.json" >"$out/report-$i.txt" 2>"$out/progress-$i.log" || true
  cut -d' ' -f1-3 /proc/loadavg >"$out/load-after-$i.txt"
  echo "run $i: load $(cat "$out/load-before-$i.txt") -> $(cat "$out/load-after-$i.txt")" >&2
  cat "$out/report-$i.txt" >&2
done
"$here/inbox-summary.sh" "$out"
