#!/usr/bin/env python3
"""What the database's busiest seconds of a rolling-restart.sh run were made of.

usage: statement-peaks.py OUT_DIR [TOP]   (reads OUT_DIR/statements.jsonl and statement-texts.json,
written by rolling-restart.sh when PostgreSQL loads pg_stat_statements)

For the TOP [3] seconds with the most statements in the before/during/after phases, prints the
statements whose calls in that second exceed their median per-second rate of the 'before' phase
(steady load) the most: the extra work a restart step caused, by statement.
"""
import json
import statistics
import sys
import time

out = sys.argv[1]
top = int(sys.argv[2]) if len(sys.argv) > 2 else 3
rows = [json.loads(l) for l in open(f"{out}/statements.jsonl") if l.strip()]
texts = json.load(open(f"{out}/statement-texts.json"))

# Per-second deltas per statement over intervals of at least 0.9 s (as rolling-summary.py).
seconds, anchor = [], rows[0] if rows else None
for cur in rows[1:]:
    dt = cur["dbTs"] - anchor["dbTs"]
    if dt >= 0.9:
        delta = {q: (c - anchor["calls"].get(q, 0)) / dt for q, c in cur["calls"].items()}
        seconds.append((cur["dbTs"], cur["phase"], delta))
        anchor = cur

steady = {}
before = [d for _, p, d in seconds if p == "before"]
for q in texts:
    steady[q] = statistics.median([d.get(q, 0.0) for d in before]) if before else 0.0
steady_total = sum(steady.values())

measured = [s for s in seconds if s[1] in ("before", "during", "after")]
for ts, phase, delta in sorted(measured, key=lambda s: -sum(s[2].values()))[:top]:
    total = sum(delta.values())
    print(f"{time.strftime('%H:%M:%S', time.gmtime(ts))} ({phase}): {total:.0f} statements/s, steady {steady_total:.0f}/s "
          f"(x{total / steady_total:.2f})" if steady_total else f"{time.strftime('%H:%M:%S', time.gmtime(ts))} ({phase}): {total:.0f}/s")
    extra = sorted(((d - steady.get(q, 0.0), q, d) for q, d in delta.items()), reverse=True)[:6]
    for more, q, d in extra:
        if more < 1:
            break
        print(f"   +{more:6.0f}/s ({d:5.0f}/s, steady {steady.get(q, 0.0):4.0f}/s)  {texts.get(q, q)}")
