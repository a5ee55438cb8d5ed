#!/usr/bin/env python3
"""The bench client's CPU per thread group over a window, from /proc (issue 18: what a load generator costs).

Usage: client-threads.py snap PID > BEFORE.json
       client-threads.py diff BEFORE.json AFTER.json SENDS   -> JSON: per group (thread name without its
         trailing number) CPU in cores and ms per send, voluntary context switches per send; "jit" = the
         C1/C2 compiler threads, "withoutJitMsPerSend" = the process's CPU per send without them.
"""
import json
import os
import re
import sys
import time

HZ = os.sysconf("SC_CLK_TCK")


def snap(pid):
    threads = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                stat = f.read()
            with open(f"/proc/{pid}/task/{tid}/status") as f:
                status = f.read()
        except OSError:
            continue
        name = stat[stat.index("(") + 1:stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2:].split()
        voluntary = int(re.search(r"^voluntary_ctxt_switches:\s+(\d+)", status, re.M).group(1))
        threads[tid] = [name, int(fields[11]) + int(fields[12]), voluntary]
    return {"time": time.time(), "threads": threads}


def diff(before, after, sends):
    seconds = after["time"] - before["time"]
    groups = {}
    for tid, (name, t1, v1) in after["threads"].items():
        _, t0, v0 = before["threads"].get(tid, [name, 0, 0])
        g = groups.setdefault(re.sub(r"[#\s]*\d+$", "", name), [0, 0])
        g[0] += t1 - t0
        g[1] += v1 - v0
    total = sum(g[0] for g in groups.values())
    jit = sum(g[0] for k, g in groups.items() if "CompilerThre" in k)
    per = (lambda x: x / sends) if sends else (lambda x: float("nan"))
    return {"seconds": round(seconds, 2), "sends": sends, "cores": total / HZ / seconds,
            "msPerSend": per(1000 * total / HZ), "jitShare": jit / total if total else 0,
            "withoutJitMsPerSend": per(1000 * (total - jit) / HZ),
            "groups": {k: {"cores": g[0] / HZ / seconds, "msPerSend": per(1000 * g[0] / HZ), "voluntaryPerSend": per(g[1])}
                       for k, g in sorted(groups.items(), key=lambda kv: -kv[1][0]) if g[0] or g[1]}}


if __name__ == "__main__":
    if sys.argv[1] == "snap":
        print(json.dumps(snap(sys.argv[2])))
    else:
        with open(sys.argv[2]) as f:
            b = json.load(f)
        with open(sys.argv[3]) as f:
            a = json.load(f)
        print(json.dumps(diff(b, a, float(sys.argv[4])), indent=1))
