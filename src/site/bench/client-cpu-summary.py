#!/usr/bin/env python3
"""The figures of client-cpu.sh: per run, and medians per rate and client.

Usage: client-cpu-summary.py OUT/NAME              -> a Markdown table (medians over the rounds)
       client-cpu-summary.py --run OUT/NAME RUN    -> one line for one run
Client CPU per send: the bench's own process CPU over its measured window per acknowledged send (from
its JSON), and the same from /proc/PID/stat over the window thread-split.py read (a few seconds
shorter). Node CPU per acked send: the node's meter (bench JSON); PostgreSQL and the machine: /proc.
"""
import json
import os
import re
import statistics
import sys


def figures(out, run):
    with open(os.path.join(out, run + ".json")) as f:
        report = json.load(f)
    split = {}
    path = os.path.join(out, run + ".split.json")
    if os.path.exists(path):
        try:
            with open(path) as f:
                split = json.load(f)
        except ValueError:
            split = {}
    client = {}
    path = os.path.join(out, run + ".client.json")
    if os.path.exists(path):
        try:
            with open(path) as f:
                client = json.load(f)
        except ValueError:
            client = {}
    cost = report.get("cost") or {}
    acked = report["ackedSendsPerSecond"]
    bench_cores = split.get("benchCores")
    c = report["correctness"]
    return {
        "acked": acked,
        "p50": report["sendToAck"]["p50"],
        "p99": report["sendToAck"]["p99"],
        "clientMs": cost.get("benchCpuMsPerSend"),
        "clientProcMs": None if bench_cores is None or not acked else 1000 * bench_cores / acked,
        "clientCores": bench_cores,
        "clientNoJitMs": client.get("withoutJitMsPerSend"),
        "clientJit": client.get("jitShare"),
        "nodeMs": cost.get("nodeCpuMsPerAckedSend"),
        "nodeCores": cost.get("nodeCores"),
        "postgresCores": split.get("postgresCores"),
        "machineCores": split.get("machineBusyCores"),
        "commits": cost.get("commitsPerAckedSend"),
        "switches": split.get("voluntaryPerSend"),
        "errors": sum(report.get("errorsByCode", {}).values()),
        "clean": c["lostMessages"] == 0 and c["duplicateDeliveries"] == 0 and c["gapSeqs"] == 0 and c["duplicatePosts"] == 0,
    }


def fmt(value, pattern):
    return "n/a" if value is None else pattern % value


def line(r):
    return (f"acked/s {r['acked']:.0f}  p50 {r['p50']:.1f} ms  p99 {r['p99']:.1f} ms  client CPU/send {fmt(r['clientMs'], '%.4f')} ms"
            f" (/proc {fmt(r['clientProcMs'], '%.4f')}, {fmt(r['clientCores'], '%.2f')} cores; without its JIT {fmt(r['clientNoJitMs'], '%.4f')}, JIT {fmt(None if r['clientJit'] is None else 100 * r['clientJit'], '%.0f')} %)  node CPU/acked send {fmt(r['nodeMs'], '%.3f')} ms"
            f" ({fmt(r['nodeCores'], '%.2f')} cores)  PostgreSQL {fmt(r['postgresCores'], '%.2f')} cores  machine {fmt(r['machineCores'], '%.2f')} cores"
            f"  commits/send {fmt(r['commits'], '%.3f')}  node switches/send {fmt(r['switches'], '%.1f')}  errors {r['errors']}"
            f"  correctness {'OK' if r['clean'] else 'VIOLATED'}")


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def table(out):
    with open(os.path.join(out, "clients")) as f:
        labels = f.read().split()
    runs = {}
    for file in sorted(os.listdir(out)):
        m = re.fullmatch(r"r(\d+)-(.+)-(\d+)\.json", file)
        if m:
            runs.setdefault(int(m.group(1)), {}).setdefault(m.group(2), []).append(figures(out, file[: -len(".json")]))
    keys = ("acked", "p50", "p99", "clientMs", "clientProcMs", "clientCores", "clientNoJitMs", "clientJit", "nodeMs", "nodeCores", "postgresCores", "machineCores", "commits", "switches")
    print("| rate | client | runs | acked/s | send→ack p50 / p99 ms | client CPU per send (ms) | ratio | client /proc ms (cores) | client without its JIT ms (JIT share) | node CPU per acked send (ms) | ratio | node cores | PostgreSQL cores | machine busy cores | commits per send | node voluntary switches per send | correctness |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for rate in sorted(runs):
        base = None
        for label in labels:
            rs = runs[rate].get(label, [])
            if not rs:
                continue
            m = {k: median([r[k] for r in rs]) for k in keys}
            if base is None:
                base = m
            def ratio(k):
                return "n/a" if not base[k] or m[k] is None else f"{m[k] / base[k]:.2f}"
            each = ", ".join(fmt(r["clientMs"], "%.3f") for r in rs)
            node_each = ", ".join(fmt(r["nodeMs"], "%.3f") for r in rs)
            print(f"| {rate} | {label} | {len(rs)} | {m['acked']:.0f} | {m['p50']:.1f} / {m['p99']:.1f} | {fmt(m['clientMs'], '%.4f')} ({each}) | {ratio('clientMs')}"
                  f" | {fmt(m['clientProcMs'], '%.4f')} ({fmt(m['clientCores'], '%.2f')}) | {fmt(m['clientNoJitMs'], '%.4f')} ({fmt(None if m['clientJit'] is None else 100 * m['clientJit'], '%.0f')} %) | {fmt(m['nodeMs'], '%.3f')} ({node_each}) | {ratio('nodeMs')}"
                  f" | {fmt(m['nodeCores'], '%.2f')} | {fmt(m['postgresCores'], '%.2f')} | {fmt(m['machineCores'], '%.2f')} | {fmt(m['commits'], '%.3f')}"
                  f" | {fmt(m['switches'], '%.1f')} | {'OK' if all(r['clean'] for r in rs) else 'VIOLATED'} |")


if __name__ == "__main__":
    if sys.argv[1] == "--run":
        print(line(figures(sys.argv[2], sys.argv[3])))
    else:
        table(sys.argv[1])
