#!/usr/bin/env python3
"""CPU used over a window (firecracker note: machineBusyCores from /proc/stat can read below the sum
of the processes; the per-process and per-thread figures are the ones to use), per thread group of a JVM and per process, from /proc.

Usage: cpu-split.py SECONDS NODE_PID BENCH_PID
Prints JSON: seconds, machine busy cores, node cores by thread group (thread name with digits
removed), bench client cores, PostgreSQL cores (every process named postgres), everything else.
"""
import json, os, re, sys, time

HZ = os.sysconf("SC_CLK_TCK")

def ticks(stat_path):
    with open(stat_path) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)

def threads(pid):
    out = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/comm") as f:
                name = f.read().strip()
            out[tid] = (name, ticks(f"/proc/{pid}/task/{tid}/stat"))
        except OSError:
            pass
    return out

def processes():
    out = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/comm") as f:
                name = f.read().strip()
            out[pid] = (name, ticks(f"/proc/{pid}/stat"))
        except OSError:
            pass
    return out

def machine():
    with open("/proc/stat") as f:
        cpu = [int(x) for x in f.readline().split()[1:]]
    cpu = cpu[:8]  # user nice system idle iowait irq softirq steal (guest time is already in user)
    return sum(cpu) - cpu[3] - cpu[4], sum(cpu)  # busy (all but idle, iowait), total

seconds, node, bench = float(sys.argv[1]), sys.argv[2], sys.argv[3]
t0, p0, m0 = threads(node), processes(), machine()
time.sleep(seconds)
t1, p1, m1 = threads(node), processes(), machine()

groups = {}
for tid, (name, after) in t1.items():
    before = t0.get(tid, (name, 0))[1]
    group = re.sub(r"[-#]?\d+$", "", name).strip() or name
    groups[group] = groups.get(group, 0) + (after - before)
def cores(t):
    return round(t / HZ / seconds, 3)
proc_delta = {pid: (name, after - p0.get(pid, (name, 0))[1]) for pid, (name, after) in p1.items()}
postgres = sum(d for name, d in proc_delta.values() if name.startswith("postgres"))
node_total = proc_delta.get(node, ("", 0))[1]
bench_total = proc_delta.get(bench, ("", 0))[1]
busy = (m1[0] - m0[0]) / HZ / seconds
others = sorted(((d, name) for pid, (name, d) in proc_delta.items()
                 if pid not in (node, bench) and not name.startswith("postgres") and d > 0), reverse=True)[:5]
print(json.dumps({
    "seconds": seconds,
    "machineBusyCores": round(busy, 3),
    "nodeCores": cores(node_total),
    "benchCores": cores(bench_total),
    "postgresCores": cores(postgres),
    "otherTopProcesses": {f"{name}": cores(d) for d, name in others},
    "nodeByThreadGroup": {g: cores(t) for g, t in sorted(groups.items(), key=lambda kv: -kv[1]) if t > 0},
    # threads that started and ended inside the window: in the process total, in no group above
    "nodeExitedThreadsCores": cores(node_total - sum(groups.values())),
}, indent=1))
