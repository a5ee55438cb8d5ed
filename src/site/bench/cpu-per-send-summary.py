#!/usr/bin/env python3
"""The figures of cpu-per-send.sh: per run, and medians per build and workload with ratios to the first build.

Usage: cpu-per-send-summary.py OUT/NAME            -> a Markdown table (medians over the rounds)
       cpu-per-send-summary.py --run OUT/NAME/LABEL RUN   -> one line for one run
Node CPU per acked send is the bench's (the node's process CPU meter over the measured window);
the JIT's and GC's shares are /proc's over the whole bench run (setup and warm-up included), so
"without JIT" = node CPU per send x (1 - JIT share) is an estimate of the warm figure.
"""
import json
import os
import statistics
import sys


def run_figures(build_dir, run):
    with open(os.path.join(build_dir, run + ".json")) as f:
        report = json.load(f)
    with open(os.path.join(build_dir, run + ".ticks-before")) as f:
        before = json.load(f)
    with open(os.path.join(build_dir, run + ".ticks-after")) as f:
        after = json.load(f)
    total = after["total"] - before["total"]
    jit = (after["jit"] - before["jit"]) / total if total > 0 else 0.0
    gc = (after["gc"] - before["gc"]) / total if total > 0 else 0.0
    cost = report.get("cost") or {}
    split = None
    split_path = os.path.join(build_dir, run + ".split.json")
    if os.path.exists(split_path):
        try:
            with open(split_path) as f:
                split = json.load(f)
        except ValueError:
            split = None
    node_ms = cost.get("nodeCpuMsPerAckedSend")
    return {
        "acked": report["ackedSendsPerSecond"],
        "p50": report["sendToAck"]["p50"],
        "p99": report["sendToAck"]["p99"],
        "nodeMs": node_ms,
        "nodeMsWithoutJit": None if node_ms is None else node_ms * (1 - jit),
        "commits": cost.get("commitsPerAckedSend"),
        "jitShare": jit,
        "gcShare": gc,
        "errors": sum(report.get("errorsByCode", {}).values()),
        # thread-split.py over the whole run: the node's voluntary context switches (a thread blocked:
        # parked, or waiting on a socket) per acked send; NaN without a reading
        "switches": split["voluntaryPerSend"] if split and split.get("voluntaryPerSend") == split.get("voluntaryPerSend") else None,
        "clean": report["correctness"]["lostMessages"] == 0 and report["correctness"]["duplicateDeliveries"] == 0
        and report["correctness"]["gapSeqs"] == 0 and report["correctness"]["duplicatePosts"] == 0,
    }


def fmt(value, pattern):
    return "n/a" if value is None else pattern % value


def line(r):
    return (f"acked/s {r['acked']:.0f}  p50 {r['p50']:.1f} ms  p99 {r['p99']:.1f} ms  node CPU/send {fmt(r['nodeMs'], '%.3f')} ms"
            f" (without JIT {fmt(r['nodeMsWithoutJit'], '%.3f')})  JIT {100 * r['jitShare']:.1f} %  GC {100 * r['gcShare']:.1f} %"
            f"  commits/send {fmt(r['commits'], '%.3f')}  switches/send {fmt(r['switches'], '%.1f')}  errors {r['errors']}  correctness {'OK' if r['clean'] else 'VIOLATED'}")


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def table(out):
    labels = [d for d in sorted(os.listdir(out)) if os.path.isdir(os.path.join(out, d))]
    order = os.path.join(out, "builds")
    if os.path.exists(order):
        with open(order) as f:
            labels = f.read().split()
    runs = {}
    for label in labels:
        for file in sorted(os.listdir(os.path.join(out, label))):
            if file.endswith(".json") and not file.startswith(("warm", "profile")) and ".split" not in file and ".pg." not in file:
                workload, _, _ = file[: -len(".json")].rpartition("-")
                runs.setdefault(workload, {}).setdefault(label, []).append(run_figures(os.path.join(out, label), file[: -len(".json")]))
    print("| workload | build | runs | acked/s | p50 / p99 ms | node CPU per acked send (ms) | ratio | without JIT (ms) | JIT share | GC share | commits per send | node voluntary switches per send | correctness |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for workload, by_label in runs.items():
        base = None
        for label in labels:
            rs = by_label.get(label, [])
            if not rs:
                continue
            m = {k: median([r[k] for r in rs]) for k in ("acked", "p50", "p99", "nodeMs", "nodeMsWithoutJit", "commits", "jitShare", "gcShare", "switches")}
            node = [r["nodeMs"] for r in rs if r["nodeMs"] is not None]
            spread = f" ({min(node):.3f}-{max(node):.3f})" if node else ""
            if base is None:
                base = m
            ratio = "1" if m is base or not base["nodeMs"] or m["nodeMs"] is None else f"{m['nodeMs'] / base['nodeMs']:.2f}"
            print(f"| {workload} | {label} | {len(rs)} | {m['acked']:.0f} | {m['p50']:.1f} / {m['p99']:.1f} | {fmt(m['nodeMs'], '%.3f')}{spread} | {ratio}"
                  f" | {fmt(m['nodeMsWithoutJit'], '%.3f')} | {100 * m['jitShare']:.1f} % | {100 * m['gcShare']:.1f} % | {fmt(m['commits'], '%.3f')}"
                  f" | {fmt(m['switches'], '%.1f')}"
                  f" | {'OK' if all(r['clean'] for r in rs) else 'VIOLATED'} |")


if __name__ == "__main__":
    if sys.argv[1] == "--run":
        print(line(run_figures(sys.argv[2], sys.argv[3])))
    else:
        table(sys.argv[1])
