#!/usr/bin/env python3
"""Every INTERVAL seconds, the CPU so far of some processes and of the machine: one line per sample,
for finding bursts that a per-phase average hides (issue 21, target 1: presence-t1-why.py).

Usage: cpu-fine.py OUT INTERVAL NAME=PID [NAME=PID ...]   (runs until killed)
Line: epochMs ticks(NAME1) ticks(NAME2) ... machineIdle machineTotal  (utime+stime in clock ticks,
/proc/stat jiffies); the first line names the columns. A process that ended reads 0.
"""
import sys
import time


def ticks(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])
    except OSError:
        return 0


def machine():
    with open("/proc/stat") as f:
        cpu = [int(v) for v in f.readline().split()[1:9]]
    return cpu[3] + cpu[4], sum(cpu)


out, interval = sys.argv[1], float(sys.argv[2])
procs = [arg.split("=", 1) for arg in sys.argv[3:]]
with open(out, "a", buffering=1) as f:
    f.write("# epochMs " + " ".join(name for name, _ in procs) + " machineIdle machineTotal\n")
    next_at = time.monotonic()
    while True:
        idle, total = machine()
        f.write(f"{int(time.time() * 1000)} " + " ".join(str(ticks(pid)) for _, pid in procs) + f" {idle} {total}\n")
        next_at += interval
        time.sleep(max(0.0, next_at - time.monotonic()))
