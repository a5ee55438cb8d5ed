#!/usr/bin/env python3
"""Projection lag of one node's database while a benchmark runs (issue 18, target 5).

Every INTERVAL seconds, for each projection tag of the inbox (inbox_offset) and of the bots
(bot_offset): how long the oldest event of that tag the projection has not applied yet has been in
the journal (now - its write_timestamp; 0 when the projection is at the journal's end). The lag of
a projection at a moment is its largest over the tags. Read from the database, so it sees every
node's consumers and needs no metric; the node's own gauge (parley_inbox_lag, per batch) is read
beside it when --metrics is given.

Usage: projection-lag.py sample DB SECONDS [--interval 0.5] [--metrics URL] > samples.jsonl
       projection-lag.py summary samples.jsonl [--from T0 --to T1]   (epoch seconds)
"""
import json
import subprocess
import sys
import time
import urllib.request

QUERY = """
SELECT 'inbox', max(coalesce((extract(epoch from clock_timestamp()) * 1000)::bigint - (
  SELECT min(j.write_timestamp) FROM event_tag t JOIN event_journal j ON j.ordering = t.event_id
  WHERE t.tag = o.tag AND t.event_id > o.journal_ordering), 0)) FROM inbox_offset o
UNION ALL
SELECT 'bots', max(coalesce((extract(epoch from clock_timestamp()) * 1000)::bigint - (
  SELECT min(j.write_timestamp) FROM event_tag t JOIN event_journal j ON j.ordering = t.event_id
  WHERE t.tag = substr(o.tag, 6) AND t.event_id > o.journal_ordering), 0)) FROM bot_offset o
"""


def sample(db, seconds, interval, metrics):
    end = time.time() + seconds
    p = subprocess.Popen(["psql", "-qAtX", "-h", "127.0.0.1", "-U", "postgres", "-d", db, "-F", " "],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
    while time.time() < end:
        t = time.time()
        p.stdin.write(QUERY.strip() + ";\n\\echo END\n")
        p.stdin.flush()
        row = {"t": round(t, 3)}
        while True:
            line = p.stdout.readline()
            if not line or line.strip() == "END":
                break
            parts = line.split()
            if len(parts) == 2:
                row[parts[0]] = int(parts[1]) if parts[1] not in ("", "None") else 0
        if metrics:
            try:
                text = urllib.request.urlopen(metrics, timeout=2).read().decode()
                for l in text.splitlines():
                    if l.startswith("parley_inbox_lag"):
                        row["gauge"] = int(float(l.split()[-1]) * 1000)
            except Exception:
                pass
        print(json.dumps(row), flush=True)
        time.sleep(max(0, interval - (time.time() - t)))
    p.stdin.close()
    p.wait()


def pct(values, q):
    if not values:
        return None
    v = sorted(values)
    return v[min(len(v) - 1, int(round(q * (len(v) - 1))))]


def summary(path, t0, t1):
    rows = [json.loads(l) for l in open(path) if l.strip()]
    rows = [r for r in rows if (t0 is None or r["t"] >= t0) and (t1 is None or r["t"] <= t1)]
    out = {"samples": len(rows)}
    for key in ("inbox", "bots", "gauge"):
        vals = [r[key] for r in rows if key in r]
        if vals:
            out[key] = {"p50_ms": pct(vals, 0.5), "p99_ms": pct(vals, 0.99), "max_ms": max(vals)}
    print(json.dumps(out))


if __name__ == "__main__":
    a = sys.argv[1:]
    def opt(name, default=None):
        return a[a.index(name) + 1] if name in a else default
    if a[0] == "sample":
        sample(a[1], float(a[2]), float(opt("--interval", 0.5)), opt("--metrics"))
    else:
        f, t = opt("--from"), opt("--to")
        summary(a[1], float(f) if f else None, float(t) if t else None)
