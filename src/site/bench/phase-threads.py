#!/usr/bin/env python3
"""The CPU so far of every thread of some processes, one JSON line per call, for splitting a phase's
CPU by thread (issue 21, target 1: which threads of the nodes and of the bench clients the presence
churn adds work to; presence-t1-why.py takes differences between two labels).

Usage: phase-threads.py OUT LABEL NAME=PID [NAME=PID ...]
Line: {"label": LABEL, "epochMs": ..., "pids": {NAME: PID}, "ticks": {NAME: {TID: [comm, ticks]}}}. Linux keeps only 15
characters of a thread's name (comm), so every Pekko dispatcher reads "parley-pekko.ac": the script
that calls this saves a thread dump of each JVM at the end (jcmd PID Thread.print: nid = TID in hex),
which names the threads that lived until then; one /proc read per call costs the run nothing.
"""
import json
import os
import sys
import time


def threads(pid):
    out = {}
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return out
    for tid in tids:
        try:
            with open(f"/proc/{pid}/task/{tid}/comm") as f:
                name = f.read().strip()
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            out[tid] = [name, int(fields[11]) + int(fields[12])]
        except OSError:
            pass
    return out


out, label = sys.argv[1], sys.argv[2]
procs = dict(arg.split("=", 1) for arg in sys.argv[3:])
ticks = {name: threads(pid) for name, pid in procs.items()}
with open(out, "a") as f:
    f.write(json.dumps({"label": label, "epochMs": int(time.time() * 1000), "pids": procs, "ticks": ticks}) + "\n")
