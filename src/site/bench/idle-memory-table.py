#!/usr/bin/env python3
"""Per-connection figures of idle-memory.sh runs, one row per run, medians per build (issue 19's tables).

Usage: idle-memory-table.py OUT_DIR...   (runs named BUILD-K, e.g. own-1 pio-1 own-2, each run
       `idle-memory.sh BUILD-K 10000 w10000 w10000 10000` with THREAD_SPLIT=1)
Cold = the node's first storm (step 10000), warm = its fourth (10000.2). Per connection, ms of node CPU:
open (= JIT + GC + other), the actor threads (the default dispatcher), the TCP selector (Parley's
own, or Pekko IO's pinned-dispatcher thread), closed, open + closed, the same without the JIT;
voluntary context switches per connection opened; heap and RSS KB per connection; connections
opened per second. With two builds, the ratio of the first build (alphabetically) to the second.
"""
import json, subprocess, sys, statistics, glob, os
here = os.path.dirname(os.path.abspath(__file__))
runs = []
for d in sys.argv[1:]:
    for r in sorted(glob.glob(d + "/*-[0-9]")):
        if os.path.isdir(r): runs.append(r)
def split(r, label):
    out = subprocess.run(["python3", os.path.join(here, "thread-split.py"), "diff", f"{r}/split-{label}-0.json", f"{r}/split-{label}-1.json", "10000", "--json"], capture_output=True, text=True).stdout
    return json.loads(out)
cols = ["open", "jit", "gc", "other", "actors", "selector", "closed", "open+closed", "noJit", "switches", "heapKB", "rssKB", "opened/s"]
rows = {"cold": {}, "warm": {}}
for r in runs:
    name = os.path.basename(r)
    for kind, label in (("cold", "10000"), ("warm", "10000.2")):
        try:
            p = json.load(open(f"{r}/per-connection-{label}.json"))
        except OSError:
            continue
        s = split(r, label)
        g = s["groups"]
        actors = g.get("parley-pekko.actor.default-dispatcher", {}).get("msPerSend", 0)
        sel = sum(v["msPerSend"] for k, v in g.items() if "tcp-selector" in k or "pekko.io.pinned" in k or k.startswith("parley-pekko.io"))
        o, c = p["openCpuMsPerConnection"], p["closeCpuMsPerConnection"]
        v = [o, p["openJitMsPerConnection"], p["openGcMsPerConnection"], p["openOtherMsPerConnection"], actors, sel, c, o + c, o + c - p["openJitMsPerConnection"],
             s["voluntaryPerSend"], p["heapPerConnectionKB"], p["rssPerConnectionKB"], p["openedPerSecond"]]
        rows[kind].setdefault(name.split("-")[0], []).append((name, v))
for kind in ("warm", "cold"):
    print(f"\n{kind}\n| run | " + " | ".join(cols) + " |\n|" + "---|" * (len(cols) + 1))
    for b, lst in sorted(rows[kind].items()):
        for name, v in lst:
            print(f"| {name} | " + " | ".join(f"{x:.3f}" if i < 10 else f"{x:.2f}" if i < 12 else f"{x:.0f}" for i, x in enumerate(v)) + " |")
    for b, lst in sorted(rows[kind].items()):
        med = [statistics.median(v[i] for _, v in lst) for i in range(len(cols))]
        print(f"| **median {b}** ({len(lst)}) | " + " | ".join(f"{x:.3f}" if i < 10 else f"{x:.2f}" if i < 12 else f"{x:.0f}" for i, x in enumerate(med)) + " |")
    bs = sorted(rows[kind])
    if len(bs) == 2:
        m = {b: [statistics.median(v[i] for _, v in rows[kind][b]) for i in range(len(cols))] for b in bs}
        a, b = bs
        print(f"ratio {a}/{b}: " + ", ".join(f"{cols[i]} {m[a][i] / m[b][i]:.2f}" for i in range(len(cols)) if m[b][i]))
