#!/usr/bin/env python3
"""Markdown tables for benchmarks.md from several rolling-restart.sh output directories.

  src/site/bench/rolling-table.py ON_DIR... -- OFF_DIR...

Each figure is the median over the runs of a mode (the runs are listed under the table); the
correctness counters (lost, duplicates, gaps, duplicate posts) are totals over the runs, since
any one of them above zero is a failure.
"""
import json
import statistics
import sys


def load(dirs):
    return [json.load(open(f"{d}/summary.json")) for d in dirs]


def med(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def fmt(v, digits=0):
    if v is None:
        return "-"
    return f"{v:,.{digits}f}"


def phase_rows(runs, phase):
    ps = [r["phases"][phase] for r in runs]
    steady = med([r["steadyTxPerSecondMedian"] for r in runs])
    return {
        "length": fmt(med([p["seconds"] for p in ps])) + " s",
        "acked": fmt(med([p["acked"] for p in ps])),
        "lost": str(sum(r["wholeRun"]["lost"] for r in runs)) + " (whole runs)",
        "dup": str(sum(p["duplicates"] for p in ps)),
        "gaps": str(sum(p["gapSeqs"] for p in ps)),
        "dupPosts": str(sum(p["duplicatePosts"] for p in ps)),
        "latency": " / ".join(fmt(med([p[k] for p in ps]), 1) for k in ("sendToAckP50", "sendToAckP99", "sendToAckMax")),
        "errors": fmt(med([p["errors"] for p in ps])),
        "reconnects": fmt(med([p["reconnects"] for p in ps])),
        "handovers": fmt(med([r["wholeRun"].get("handovers", 0) for r in runs])) + " (whole runs)",
        "connectFailed": fmt(med([r["wholeRun"]["errorsByCode"].get("connect_failed", 0) for r in runs])) + " (whole runs)",
        "newConn": fmt(med([max(p["newConnectionsPerSecondPeak"]) for p in ps])),
        "rejected": fmt(med([sum(p["connectionsRejected"]) for p in ps])),
        "tx": f"{fmt(steady)} / {fmt(med([p['txPerSecondPeak'] for p in ps]))} / {fmt(med([p['tx5sPeak'] for p in ps]))}",
        "txRatio": f"{fmt(med([p['txPeakOverSteady'] for p in ps]), 2)} / {fmt(med([p['tx5sPeakOverSteady'] for p in ps]), 2)}",
        "recoveries": fmt(med([max(p["concurrentRecoveriesPeakPerNode"]) for p in ps])),
        "overflows": fmt(med([p.get("listenQueueOverflows", 0) for p in ps])),
        # Runs before cpu-sampler.py have no CPU figures: "-".
        "busy": fmt(med([None if p.get("machineBusyMedian") is None else 100 * p["machineBusyMedian"] for p in ps])) + " %",
        "cpu": " / ".join(
            fmt(med([p["nodesCpuSeconds"][k] / p["seconds"] if p.get("nodesCpuSeconds") and p["seconds"] else None for p in ps]), 2)
            for k in ("app", "jit", "gc")),
        "pgCpu": fmt(med([p["postgresCpuSeconds"] / p["seconds"] if "postgresCpuSeconds" in p and p["seconds"] else None for p in ps]), 2),
    }


LABELS = [
    ("length", "length (median)"),
    ("acked", "acknowledged sends"),
    ("lost", "acknowledged messages some subscriber never received (total)"),
    ("dup", "duplicate deliveries (total)"),
    ("gaps", "seq gaps (total)"),
    ("dupPosts", "duplicate posts (total)"),
    ("latency", "send→ack ms p50 / p99 / max"),
    ("errors", "error frames and failed connection attempts (all retried)"),
    ("reconnects", "reconnects"),
    ("handovers", "of which made before the old connection closed (handover)"),
    ("connectFailed", "connection attempts that failed (retried)"),
    ("newConn", "peak new connections/s on one node (limit 200, burst 400 in ON)"),
    ("rejected", "connections refused by admission"),
    ("tx", "DB transactions/s: steady / peak 1 s / peak 5 s"),
    ("txRatio", "DB peak ÷ steady, 1 s / 5 s"),
    ("recoveries", "conversations recovering at once, peak on one node"),
    ("overflows", "connections the kernel dropped, listen queue full (machine)"),
    ("busy", "machine busy, median second (of 2 cores)"),
    ("cpu", "nodes' CPU in cores, application / JIT / GC (all three nodes)"),
    ("pgCpu", "PostgreSQL's CPU in cores"),
]


def main():
    args = sys.argv[1:]
    split = args.index("--")
    on, off = load(args[:split]), load(args[split + 1:])
    cols = [(on, "before"), (on, "during"), (on, "after"), (off, "before"), (off, "during"), (off, "after")]
    rows = [phase_rows(runs, phase) for runs, phase in cols]
    print(f"| median of {len(on)} ON / {len(off)} OFF runs | ON before | ON during | ON after | OFF before | OFF during | OFF after |")
    print("|---|---|---|---|---|---|---|")
    for key, label in LABELS:
        print(f"| {label} | " + " | ".join(r[key] for r in rows) + " |")
    print()
    for name, runs, dirs in (("ON", on, args[:split]), ("OFF", off, args[split + 1:])):
        per_run = ", ".join(
            f"{d.rstrip('/').split('/')[-1]}: p99 {fmt(r['phases']['during']['sendToAckP99'])} ms, DB {fmt(r['phases']['during']['txPeakOverSteady'], 2)}× / {fmt(r['phases']['during']['tx5sPeakOverSteady'], 2)}×"
            for d, r in zip(dirs, runs))
        print(f"- {name} runs (during): {per_run}")


if __name__ == "__main__":
    main()
