#!/usr/bin/env python3
"""One JVM's CPU so far, split as cpu-sampler.py splits it: the JIT's compiler threads, the garbage
collector's threads (with the VM thread that runs its pauses), and the rest (the application).

Usage: jvm-ticks.py PID   ->   {"jit": ticks, "gc": ticks, "app": ticks, "total": ticks, "hz": USER_HZ}
Two readings around a run give each part's CPU over it (cpu-per-send.sh). The JIT's compiler threads
come and go: a thread that ended between the two readings takes its ticks out of "jit" (they stay in
"total", so "app" = total - jit - gc may then read a little high).
"""
import importlib.util
import json
import os
import sys

here = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location("cpu_sampler", os.path.join(here, "cpu-sampler.py"))
sampler = importlib.util.module_from_spec(spec)
spec.loader.exec_module(sampler)

pid = sys.argv[1]
ticks = {"jit": 0, "gc": 0}
for tid in os.listdir(f"/proc/{pid}/task"):
    thread = sampler.stat_of(f"/proc/{pid}/task/{tid}/stat")
    if thread:
        part = sampler.kind(thread[0])
        if part != "app":
            ticks[part] += thread[1]
total = sampler.stat_of(f"/proc/{pid}/stat")[1]
print(json.dumps({**ticks, "app": total - ticks["jit"] - ticks["gc"], "total": total, "hz": os.sysconf("SC_CLK_TCK")}))
