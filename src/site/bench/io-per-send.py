#!/usr/bin/env python3
"""Write and read system calls and journal commits per acked send, per run of cpu-per-send.sh (issue 18).

usage: io-per-send.py OUT/NAME
Per run: the node's /proc/PID/io syscw and syscr (write(2)/writev(2) and read(2)/readv(2) calls of
every thread: the websocket's TCP writes, the selector's wake-ups, PostgreSQL's sockets) over the
bench run, divided by the sends acknowledged in it (warm-up included, like thread-split.py), and the
journal's commits per acked send from the node's parley_journal_batches_total / _rows_total. Then
medians per build and workload.
"""
import json
import os
import re
import statistics
import sys

out = sys.argv[1]
labels = open(os.path.join(out, "builds")).read().split()


def io(path):
    return {k: int(v) for k, v in (line.split(":") for line in open(path) if ":" in line)}


def metric(path, name):
    total = 0.0
    for line in open(path):
        if line.startswith(name):
            total += float(line.split()[-1])
    return total


rows = {}
for label in labels:
    d = os.path.join(out, label)
    for f in sorted(os.listdir(d)):
        m = re.match(r"(.+)\.io-after$", f)
        if not m or m.group(1) == "warm":
            continue
        run = m.group(1)
        before, after = io(os.path.join(d, run + ".io-before")), io(os.path.join(d, run + ".io-after"))
        acked = json.load(open(os.path.join(d, run + ".json")))["correctness"]["ackedMessages"]
        jb, ja = os.path.join(d, run + ".journal-before"), os.path.join(d, run + ".journal-after")
        batches = metric(ja, "parley_journal_batches_total") - metric(jb, "parley_journal_batches_total") if os.path.exists(ja) else float("nan")
        w = (after["syscw"] - before["syscw"]) / acked
        r = (after["syscr"] - before["syscr"]) / acked
        c = batches / acked
        print(f"{label} {run}: writes {w:.2f} reads {r:.2f} journal commits {c:.3f} per acked send")
        workload = run.rsplit("-", 1)[0]
        rows.setdefault((workload, label), []).append((w, r, c))
print()
print("| workload | build | write calls per acked send | read calls per acked send | journal commits per acked send |")
print("|---|---|---|---|---|")
for (workload, label), v in rows.items():
    med = [statistics.median(x[i] for x in v) for i in range(3)]
    print(f"| {workload} | {label} | {med[0]:.2f} | {med[1]:.2f} | {med[2]:.3f} |")
