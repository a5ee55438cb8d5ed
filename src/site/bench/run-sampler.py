#!/usr/bin/env python3
"""Every half second of a run, who was busy and how far behind the node was (issue 18, the hot
conversation's start backlog): one JSON line per sample, for start-timeline.py.

Usage: run-sampler.py OUT.jsonl NODE_PID METRICS_URL [SECONDS]
Each line: {"t": epoch ms,
            "node": {"jit": ticks, "gc": ticks, "app": ticks},    the node's threads by group (/proc)
            "bench": {"pid": .., "jit": .., "gc": .., "io": .., "other": ..} or null: the bench client
                     (the JVM whose command line has " bench " and "--url"), its selector loops apart
                     (bench-io-N: reading frames and pacing the sends),
            "pg": ticks of every postgres process, "busy"/"idle": the machine's ticks (/proc/stat),
            "metrics": the node's counters and histogram buckets that say where a send waited:
                       parley_send_ack_seconds (a send frame received -> its ack queued), parley_persist_seconds,
                       parley_conversation_write_batch (events per write), sends refused busy}
Ticks are cumulative (USER_HZ); start-timeline.py takes differences. Why /proc and a scrape rather
than a profiler: a profiler's own start would fall in the very seconds being looked at.
"""
import json
import os
import re
import sys
import time
import urllib.request

KEEP = re.compile(
    r"^(parley_send_ack_seconds_(bucket|count|sum)|parley_persist_seconds_(count|sum)"
    r"|parley_conversation_write_batch_events_(count|sum|max)|parley_conversation_sends_refused_busy_total"
    r"|parley_sends_total)"
)


def read(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return None


def ticks(stat):
    fields = stat[stat.rindex(")") + 2:].split()
    return int(fields[11]) + int(fields[12])


def groups(pid, group_of):
    out = {}
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return None
    for tid in tids:
        name = read(f"/proc/{pid}/task/{tid}/comm")
        stat = read(f"/proc/{pid}/task/{tid}/stat")
        if name is None or stat is None:
            continue
        g = group_of(name.strip())
        out[g] = out.get(g, 0) + ticks(stat)
    return out


def node_group(name):
    if "CompilerThre" in name:
        return "jit"
    if name.startswith(("GC Thread", "G1 ", "VM Thread")):
        return "gc"
    return "app"


def bench_group(name):
    if name.startswith("bench-io"):
        return "io"
    return node_group(name) if node_group(name) != "app" else "other"


def find_bench():
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        cmd = read(f"/proc/{pid}/cmdline")
        if cmd and "\0bench\0" in cmd and "--url" in cmd:
            return int(pid)
    return None


def postgres_ticks():
    total = 0
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        comm = read(f"/proc/{pid}/comm")
        if comm and comm.startswith("postgres"):
            stat = read(f"/proc/{pid}/stat")
            if stat:
                total += ticks(stat)
    return total


def metrics(url):
    try:
        text = urllib.request.urlopen(url, timeout=0.4).read().decode()
    except Exception:
        return None
    out = {}
    for line in text.splitlines():
        if KEEP.match(line):
            key, _, value = line.rpartition(" ")
            out[key] = float(value)
    return out


def main():
    out_path, node_pid, url = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    seconds = float(sys.argv[4]) if len(sys.argv) > 4 else 600
    bench = None
    end = time.time() + seconds
    with open(out_path, "w") as out:
        while time.time() < end:
            started = time.time()
            if bench is None or not os.path.exists(f"/proc/{bench}"):
                bench = find_bench()
            cpu = read("/proc/stat").splitlines()[0].split()[1:]
            line = {
                "t": int(started * 1000),
                "node": groups(node_pid, node_group),
                "bench": (dict(groups(bench, bench_group) or {}, pid=bench) if bench else None),
                "pg": postgres_ticks(),
                "busy": sum(int(x) for x in cpu[:8]) - int(cpu[3]) - int(cpu[4]),
                "idle": int(cpu[3]) + int(cpu[4]),
                "metrics": metrics(url),
            }
            out.write(json.dumps(line) + "\n")
            out.flush()
            time.sleep(max(0.0, 0.5 - (time.time() - started)))


if __name__ == "__main__":
    main()
