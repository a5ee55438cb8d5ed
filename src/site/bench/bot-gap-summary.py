#!/usr/bin/env python3
"""The bot's side of one rolling-restart.sh run (issue 17): per phase, the reply gap and the
messages without exactly one reply.

usage: bot-gap-summary.py OUT_DIR   (writes OUT_DIR/bot-summary.json, prints text)

Sources: OUT_DIR/bot-gaps.csv (`parley bench --bot-gaps`: one line per message the bench sent,
with the server's ts of the message and of the bot's first reply, and the number of distinct
replies) and OUT_DIR/samples.jsonl (the phase each second: a message belongs to the phase that was
current at its server timestamp). The gap is reply ts - message ts, both the server's clocks (one
machine). A message without a reply has no gap and is counted under "noReply".
"""
import bisect
import csv
import json
import sys

out = sys.argv[1]
samples = [json.loads(l) for l in open(f"{out}/samples.jsonl") if l.strip()]
times = [s["ts"] for s in samples]
PHASES = ["before", "during", "after"]


def phase_at(ts_ms):
    i = bisect.bisect_right(times, ts_ms / 1000.0) - 1
    return samples[i]["phase"] if i >= 0 else "setup"


def pct(values, p):
    if not values:
        return None
    values = sorted(values)
    return values[min(len(values) - 1, max(0, int(round(p / 100.0 * len(values) + 0.5)) - 1))]


by_phase = {}
for row in csv.DictReader(open(f"{out}/bot-gaps.csv")):
    ts, first, replies = int(row["ts"]), int(row["first_reply_ts"]), int(row["replies"])
    b = by_phase.setdefault(phase_at(ts) or "warm-up", {"messages": 0, "notExactlyOne": 0, "noReply": 0, "duplicated": 0, "gaps": []})
    b["messages"] += 1
    if replies != 1:
        b["notExactlyOne"] += 1
    if replies == 0:
        b["noReply"] += 1
    if replies > 1:
        b["duplicated"] += 1
    if first >= 0:
        b["gaps"].append(first - ts)

summary = {}
print("bot reply gap (ms, server timestamps: reply - message) by the message's phase:")
for p in PHASES + sorted(set(by_phase) - set(PHASES)):
    if p not in by_phase:
        continue
    b = by_phase[p]
    g = b.pop("gaps")
    b.update({"p50": pct(g, 50), "p99": pct(g, 99), "max": max(g) if g else None})
    summary[p] = b
    print(f"  {p:7s} messages {b['messages']:6d}  without exactly one reply {b['notExactlyOne']} "
          f"(none {b['noReply']}, several {b['duplicated']})  gap p50 {b['p50']}  p99 {b['p99']}  max {b['max']}")
json.dump(summary, open(f"{out}/bot-summary.json", "w"), indent=1)
