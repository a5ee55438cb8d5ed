#!/usr/bin/env python3
"""The journal's figures of a cpu-per-send.sh run (issue 18): per run and medians per build.

usage: journal-summary.py OUT/NAME [WORKLOAD_PREFIX]

Per run: acked sends/s, send->ack p99, node CPU per acked send (the bench's reading of the node's
process CPU meter), the journal's JDBC threads per acked send (thread-split.py groups starting with
"parley-journal": the plugin's Slick pool, which also runs the read journal's queries, and Parley's
journal writer threads) with their voluntary context switches, PostgreSQL's CPU per acked send
(every postgres process, thread-split.py), and from pg_stat_statements (pg-statements.py) the
statements and commits per acked send, the journal's write statements per acked send, and the
journal's whole-table scans (seq_scan of event_journal) per second.
"""
import json
import os
import statistics
import sys

out = sys.argv[1]
prefix = sys.argv[2] if len(sys.argv) > 2 else ""
builds = open(os.path.join(out, "builds")).read().split()


def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def figures(build, run):
    d = os.path.join(out, build)
    report, split, pg = load(f"{d}/{run}.json"), load(f"{d}/{run}.split.json"), load(f"{d}/{run}.pg.json")
    if not report or not split:
        return None
    acked_total = split["ackedSends"] or 0
    journal = [g for k, g in split["groups"].items() if k.startswith("parley-journal")]
    r = {
        "acked": report["ackedSendsPerSecond"],
        "p99": report["sendToAck"]["p99"],
        "node": (report.get("cost") or {}).get("nodeCpuMsPerAckedSend"),
        "journalMs": sum(g["msPerSend"] for g in journal),
        "journalSwitches": sum(g["voluntaryPerSend"] for g in journal),
        "switches": split["voluntaryPerSend"],
        "pgMs": 1000 * split["postgresCores"] * split["seconds"] / acked_total if acked_total else None,
        "clean": all(report["correctness"][k] == 0 for k in ("lostMessages", "duplicateDeliveries", "gapSeqs", "duplicatePosts")),
    }
    if pg and acked_total:
        writes = sum(s["calls"] for s in pg["statements"]
                     if s["q"].lstrip().lower().startswith(("insert into \"event_journal\"", "insert into \"event_tag\"", "with input as")))
        seq = sum(t["seq"] for t in pg["tables"] if t["t"] == "event_journal")
        r.update({"statements": pg["calls"] / acked_total, "commits": pg["commits"] / acked_total,
                  "journalWrites": writes / acked_total, "journalSeqScansPerS": seq / split["seconds"],
                  "pgExecMs": pg["ms"] / acked_total})
    return r


runs = {}
for b in builds:
    for f in sorted(os.listdir(os.path.join(out, b))):
        if f.endswith(".json") and not f.endswith((".split.json", ".pg.json")) and f.startswith(prefix) and not f.startswith("warm"):
            run = f[: -len(".json")]
            r = figures(b, run)
            if r:
                runs.setdefault(run.rsplit("-", 1)[0] if run[-1].isdigit() else run, {}).setdefault(b, []).append((run, r))

cols = [("acked", "acked/s", "%.0f"), ("p99", "p99 ms", "%.0f"), ("node", "node CPU ms/send", "%.3f"),
        ("journalMs", "journal JDBC threads ms/send", "%.4f"), ("journalSwitches", "their vol. switches/send", "%.2f"),
        ("switches", "node vol. switches/send", "%.1f"), ("pgMs", "PostgreSQL CPU ms/send", "%.3f"),
        ("statements", "statements/send", "%.2f"), ("journalWrites", "journal write statements/send", "%.3f"),
        ("commits", "commits/send", "%.3f"), ("pgExecMs", "PostgreSQL exec ms/send", "%.3f"),
        ("journalSeqScansPerS", "event_journal seq scans/s", "%.2f")]


def fmt(v, p):
    return "n/a" if v is None else p % v


for workload, per_build in runs.items():
    print(f"\n### {workload}\n")
    print("| build | runs | " + " | ".join(c[1] for c in cols) + " | correct |")
    print("|---|---|" + "---|" * len(cols) + "---|")
    medians = {}
    for b in builds:
        rs = [r for _, r in per_build.get(b, [])]
        if not rs:
            continue
        med = {k: statistics.median([r[k] for r in rs if r.get(k) is not None]) if any(r.get(k) is not None for r in rs) else None
               for k, _, _ in cols}
        medians[b] = med
        each = "; ".join(f"{run}: node {fmt(r['node'], '%.3f')}, pg {fmt(r['pgMs'], '%.3f')}, p99 {r['p99']:.0f}" for run, r in per_build[b])
        print(f"| {b} | {len(rs)} | " + " | ".join(fmt(med[k], p) for k, _, p in cols) + f" | {'yes' if all(r['clean'] for r in rs) else 'NO'} |")
        print(f"|   ({each}) |" + " |" * (len(cols) + 1))
    if len(medians) > 1:
        base = medians[builds[0]]
        for b in builds[1:]:
            if b in medians:
                ratio = lambda k: fmt(medians[b][k] / base[k], "%.2f") if medians[b].get(k) is not None and base.get(k) else "n/a"
                print(f"| ratio {b}/{builds[0]} | | " + " | ".join(ratio(k) for k, _, _ in cols) + " | |")
