#!/usr/bin/env python3
"""A JVM's CPU split by who spent it: the JIT's compiler threads, the garbage collector's threads, and
everything else (the application, Pekko, NIO, the VM thread), from /proc/PID/task/*/stat.

A connect storm on a node that just started runs while the JIT compiles the connect path: the
compiler threads' CPU is part of the node's, but it is paid once, not per connection. This split
lets idle-memory.sh report it apart.

Usage: thread-ticks.py snap PID > FILE          one snapshot: process ticks and ticks per thread (JSON)
       thread-ticks.py diff FILE0 FILE1          milliseconds between two snapshots (JSON):
           totalMs (the process, exited threads included), jitMs, gcMs, otherMs (= total - jit - gc),
           sysMs (the process's time in the kernel, all threads: part of totalMs)
Threads that exited between the snapshots count in totalMs and otherMs only.
"""
import json, os, re, sys

HZ = os.sysconf("SC_CLK_TCK")
JIT = re.compile(r"^C[12] CompilerThre|^Compiler|^JVMCI")
GC = re.compile(r"^GC Thread|^G1 |^VM Periodic|^Gang worker|^ZGC|^Shenandoah|^Parallel GC")


def ticks(stat_path, part=None):
    with open(stat_path) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    if part == "sys":
        return int(fields[12])  # stime: in the kernel (sockets, epoll, futexes)
    return int(fields[11]) + int(fields[12])  # utime, stime


def snap(pid):
    threads = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/comm") as f:
                name = f.read().strip()
            threads[tid] = [name, ticks(f"/proc/{pid}/task/{tid}/stat")]
        except OSError:
            pass  # the thread ended meanwhile
    return {"process": ticks(f"/proc/{pid}/stat"), "processSys": ticks(f"/proc/{pid}/stat", "sys"), "threads": threads}


def diff(a, b):
    def ms(t):
        return round(t * 1000 / HZ)
    jit = gc = 0
    for tid, (name, after) in b["threads"].items():
        delta = after - a["threads"].get(tid, [name, 0])[1]
        if JIT.search(name):
            jit += delta
        elif GC.search(name):
            gc += delta
    total = b["process"] - a["process"]
    sys_ms = ms(b["processSys"] - a["processSys"]) if "processSys" in a and "processSys" in b else None
    return {"totalMs": ms(total), "jitMs": ms(jit), "gcMs": ms(gc), "otherMs": ms(total - jit - gc), "sysMs": sys_ms}


if __name__ == "__main__":
    if sys.argv[1] == "snap":
        print(json.dumps(snap(sys.argv[2])))
    else:
        with open(sys.argv[2]) as f0, open(sys.argv[3]) as f1:
            print(json.dumps(diff(json.load(f0), json.load(f1))))
