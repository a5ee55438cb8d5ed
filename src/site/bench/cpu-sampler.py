#!/usr/bin/env python3
"""Once a second, where this machine's CPU goes: one JSON line per sample, for rolling-restart.sh.

Usage: cpu-sampler.py OUT.jsonl
Each line: {"ts": epoch seconds, "busy": ticks, "idle": ticks (machine, /proc/stat),
            "processes": {"node1/PID": {"jit": ticks, "gc": ticks, "app": ticks}, ..., "bench/PID": {...},
                     "postgres/PID": {"app": ticks, ...}, ...}}
Ticks are cumulative (1/100 s, USER_HZ); rolling-summary.py takes differences. JVMs are the
processes running a Parley jar (server or bench, any file name), named by their node's config file (nodeN.conf) or "bench" and their
pid (a restarted node is a new process). Their threads are grouped by name: the JIT's compiler
threads; the garbage collector's threads with the VM thread that runs its pauses; everything else
(the application: dispatchers, Pekko IO, JDBC). Why: on a shared 2-core machine a JVM that has
just started competes with the others through its JIT and GC, and the rolling-restart test
restarts three of them in a few minutes. PostgreSQL's processes are listed too (all CPU as "app"); a
backend that exits between two samples takes its last second with it (the nodes' pools keep theirs).
"""
import json
import os
import re
import sys
import time


def kind(thread_name):
    if "CompilerThre" in thread_name:
        return "jit"
    if thread_name.startswith(("GC Thread", "G1 ", "VM Thread")):
        return "gc"
    return "app"


def stat_of(path):
    """(name, utime + stime in ticks) of a process or thread, None if it has gone."""
    try:
        with open(path) as f:
            stat = f.read()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()
    return stat[stat.index("(") + 1 : stat.rindex(")")], int(fields[11]) + int(fields[12])


def processes():
    found = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if cmd.startswith("postgres"):
            # A PostgreSQL process (backend, writer, WAL...): its own CPU, no threads to tell apart.
            process = stat_of(f"/proc/{pid}/stat")
            if process:
                found[f"postgres/{pid}"] = {"jit": 0, "gc": 0, "app": process[1]}
            continue
        # Any java -jar of a Parley build (benchmarks copy jars to /tmp under other names).
        if not re.search(r"-jar \S+\.jar (server|bench) ", cmd):
            continue
        node = re.search(r"(node\d+)\.conf", cmd)
        name = node.group(1) if node else ("bench" if " bench " in cmd else None)
        if name is None:
            continue
        ticks = {"jit": 0, "gc": 0, "app": 0}
        try:
            for tid in os.listdir(f"/proc/{pid}/task"):
                thread = stat_of(f"/proc/{pid}/task/{tid}/stat")
                if thread:
                    ticks[kind(thread[0])] += thread[1]
            process = stat_of(f"/proc/{pid}/stat")
        except OSError:
            continue
        if not process:
            continue
        # The process's own total also counts threads that have ended (the JIT's compiler threads
        # come and go): what is not JIT or GC now is the application.
        ticks["app"] = max(0, process[1] - ticks["jit"] - ticks["gc"])
        found[f"{name}/{pid}"] = ticks
    return found


def main():
    out = open(sys.argv[1], "a")
    next_at = time.time()
    while True:
        with open("/proc/stat") as f:
            cpu = [int(v) for v in f.readline().split()[1:]]
        busy = cpu[0] + cpu[1] + cpu[2] + cpu[5] + cpu[6] + (cpu[7] if len(cpu) > 7 else 0)
        idle = cpu[3] + cpu[4]
        out.write(json.dumps({"ts": time.time(), "busy": busy, "idle": idle, "processes": processes()}) + "\n")
        out.flush()
        next_at += 1
        time.sleep(max(0, next_at - time.time()))


if __name__ == "__main__":
    main()
