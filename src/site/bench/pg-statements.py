#!/usr/bin/env python3
"""What one database was asked in a window: pg_stat_statements and pg_stat_user_tables, before/after.

usage: pg-statements.py snap DB > FILE
       pg-statements.py diff BEFORE AFTER [OPS [SECONDS]] [--json]

snap: every pg_stat_statements row of database DB (calls, rows, total exec time, shared blocks hit and
read, the statement's text) and DB's tables' seq_scan / seq_tup_read / idx_scan / n_tup_ins, plus
pg_stat_database's xact_commit, as one JSON object. Needs the pg_stat_statements extension created in
some database of the server (PGDATABASE, default "test", is where the view is read; it shows every
database's statements) and PGHOST / PGUSER as psql takes them.

diff: the statements whose calls grew, most calls first, per OPS (e.g. acknowledged sends) and per
second when given; then the tables' scans. The markdown table is what benchmarks.md quotes.
"""
import json
import os
import subprocess
import sys


def psql(db, sql):
    out = subprocess.run(["psql", "-qAtX", "-d", db, "-c", sql], check=True, capture_output=True, text=True).stdout
    return out


def snap(db):
    import time
    stats_db = os.environ.get("PGDATABASE_STATEMENTS", "test")
    rows = psql(
        stats_db,
        "select coalesce(json_agg(json_build_object('id', queryid::text, 'calls', calls, 'rows', rows, "
        "'ms', total_exec_time, 'plan_ms', total_plan_time, 'hit', shared_blks_hit, 'read', shared_blks_read, 'q', query)), '[]') "
        f"from pg_stat_statements s join pg_database d on d.oid = s.dbid where d.datname = '{db}'",
    )
    tables = psql(
        db,
        "select coalesce(json_agg(json_build_object('t', relname, 'seq', seq_scan, 'seq_rows', seq_tup_read, "
        "'idx', coalesce(idx_scan, 0), 'ins', n_tup_ins, 'live', n_live_tup)), '[]') from pg_stat_user_tables",
    )
    commits = psql(db, f"select xact_commit from pg_stat_database where datname = '{db}'")
    return {"time": time.time(), "statements": json.loads(rows), "tables": json.loads(tables), "commits": int(commits.strip())}


def short(q, n=150):
    q = " ".join(q.split())
    return q if len(q) <= n else q[: n - 1] + "…"


def diff(before, after, ops, seconds, as_json):
    b = {s["id"]: s for s in before["statements"]}
    rows = []
    for s in after["statements"]:
        p = b.get(s["id"], {"calls": 0, "rows": 0, "ms": 0.0, "plan_ms": 0.0, "hit": 0, "read": 0})
        calls = s["calls"] - p["calls"]
        if calls <= 0:
            continue
        rows.append({"q": s["q"], "calls": calls, "rows": s["rows"] - p["rows"], "ms": s["ms"] - p["ms"],
                     "plan_ms": (s.get("plan_ms") or 0) - (p.get("plan_ms") or 0),
                     "blocks": (s["hit"] + s["read"]) - (p["hit"] + p["read"])})
    rows.sort(key=lambda r: -r["calls"])
    tb = {t["t"]: t for t in before["tables"]}
    tables = []
    for t in after["tables"]:
        p = tb.get(t["t"], {"seq": 0, "seq_rows": 0, "idx": 0, "ins": 0})
        d = {"t": t["t"], "seq": t["seq"] - p["seq"], "seq_rows": t["seq_rows"] - p["seq_rows"], "idx": t["idx"] - p["idx"],
             "ins": t["ins"] - p["ins"], "live": t["live"]}
        if d["seq"] or d["idx"] or d["ins"]:
            tables.append(d)
    commits = after["commits"] - before["commits"]
    total_calls = sum(r["calls"] for r in rows)
    total_ms = sum(r["ms"] for r in rows)
    if as_json:
        print(json.dumps({"ops": ops, "seconds": seconds, "commits": commits, "calls": total_calls, "ms": total_ms,
                          "statements": rows, "tables": tables}))
        return
    per = lambda x: f"{x / ops:.3f}" if ops else "–"
    rate = lambda x: f"{x / seconds:.2f}" if seconds else "–"
    print(f"window {seconds or '?'} s, ops {ops or '?'}: statements {total_calls} ({per(total_calls)} per op, {rate(total_calls)}/s), "
          f"commits {commits} ({per(commits)} per op, {rate(commits)}/s), execution time {total_ms:.0f} ms ({per(total_ms)} ms per op)")
    print()
    print("| statement | calls | per op | per s | rows per call | ms per call | blocks per call |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| `{short(r['q'])}` | {r['calls']} | {per(r['calls'])} | {rate(r['calls'])} | {r['rows'] / r['calls']:.1f} | "
              f"{r['ms'] / r['calls']:.3f} | {r['blocks'] / r['calls']:.1f} |")
    print()
    print("| table | seq scans | rows read by seq scans | index scans | rows inserted | live rows at the end |")
    print("|---|---|---|---|---|---|")
    for t in sorted(tables, key=lambda t: -t["seq"]):
        print(f"| {t['t']} | {t['seq']} | {t['seq_rows']} | {t['idx']} | {t['ins']} | {t['live']} |")


def main():
    args = [a for a in sys.argv[1:] if a != "--json"]
    if args and args[0] == "snap":
        print(json.dumps(snap(args[1])))
    elif args and args[0] == "diff":
        ops = float(args[3]) if len(args) > 3 else 0
        seconds = float(args[4]) if len(args) > 4 else 0
        diff(json.load(open(args[1])), json.load(open(args[2])), ops, seconds, "--json" in sys.argv)
    else:
        print(__doc__, file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
