#!/usr/bin/env bash
# Measures what PostgreSQL itself can do with journal-shaped rows, so an engine figure measured in
# the same run reads as a ratio: single-row commits/s and rows/s in 50-row transactions.
# Creates a fresh database with Parley's journal schema, runs pgbench, drops it; prints one JSON line.
# Usage: postgres-ceiling.sh [seconds per script, default 10]   (env: PGHOST, PGPORT, PGUSER; CLIENTS)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
schema="$here/../../main/resources/db/migration/postgresql/V1__journal_and_snapshots.sql"
seconds=${1:-10}
# The engine's default pool is 10 connections: give pgbench the same concurrency.
clients=${CLIENTS:-10}
export PGHOST=${PGHOST:-127.0.0.1} PGUSER=${PGUSER:-postgres}
db="pgbench_journal_$$_$(date +%s)"
psql -qX -d postgres -c "CREATE DATABASE $db" >/dev/null
trap 'psql -qX -d postgres -c "DROP DATABASE IF EXISTS $db" >/dev/null' EXIT
psql -qX -d "$db" -f "$schema" >/dev/null

tps() { # script -> transactions per second, excluding connection set-up
  pgbench -n -M prepared -c "$clients" -j 2 -T "$seconds" -f "$1" "$db" 2>/dev/null \
    | awk '/^tps = / { print int($3); exit }'
}
single=$(tps "$here/journal-insert-1.sql")
batched=$(tps "$here/journal-insert-50.sql")
printf '{"clients":%d,"seconds":%d,"singleRowCommitsPerSecond":%d,"rowsPerSecondIn50RowTransactions":%d}\n' \
  "$clients" "$seconds" "$single" "$((batched * 50))"
