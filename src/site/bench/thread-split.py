#!/usr/bin/env python3
"""A JVM's CPU and thread wake-ups per thread group over a window, from /proc (issue 18).

Usage: thread-split.py snap PID [BENCH_PID] [--names] > BEFORE.json   (a reading: per thread, per process;
         --names: Java thread names from jcmd Thread.print, taken after the reading; give it to the second one)
       thread-split.py diff BEFORE.json AFTER.json [ACKED_SENDS]  -> Markdown table (+ JSON with --json)
Per thread group (the thread's name without its trailing number): CPU (utime + stime), voluntary
context switches (the thread blocked: parked on a futex, waited in poll/epoll, a socket read) and
involuntary ones (preempted). On 2 shared vCPU a park/unpark pair costs tens of microseconds of
both threads' time and the kernel's, so hand-offs per send are a cost of their own. With ACKED_SENDS
every figure is also given per acknowledged send. Processes beside the node: the bench client (when
its PID is given) and PostgreSQL (every process whose name starts with postgres), CPU only; plus the
machine's busy time from /proc/stat.
"""
import json
import os
import re
import sys
import time

HZ = os.sysconf("SC_CLK_TCK")


def read(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return None


def ticks(stat):
    fields = stat[stat.rindex(")") + 2:].split()
    return int(fields[11]) + int(fields[12])


def switches(status):
    v = n = 0
    for line in status.splitlines():
        if line.startswith("voluntary_ctxt_switches:"):
            v = int(line.split()[1])
        elif line.startswith("nonvoluntary_ctxt_switches:"):
            n = int(line.split()[1])
    return v, n


def java_names(pid):
    """Native thread id -> Java thread name (jcmd Thread.print), since /proc keeps only 15 characters
    (the default and the internal dispatcher both read "parley-pekko.ac")."""
    import subprocess
    try:
        dump = subprocess.run(["jcmd", str(pid), "Thread.print"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return {}
    names = {}
    for m in re.finditer(r'^"(.*?)".*? nid=(0x[0-9a-f]+)', dump, re.M):
        names[str(int(m.group(2), 16))] = m.group(1)
    return names


def snap(pid, bench, with_names=False):
    threads = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        stat, status = read(f"/proc/{pid}/task/{tid}/stat"), read(f"/proc/{pid}/task/{tid}/status")
        if stat and status:
            name = stat[stat.index("(") + 1:stat.rindex(")")]
            threads[tid] = [name, ticks(stat), *switches(status)]
    postgres = 0
    for p in filter(str.isdigit, os.listdir("/proc")):
        stat = read(f"/proc/{p}/stat")
        if stat and stat[stat.index("(") + 1:].startswith("postgres"):
            postgres += ticks(stat)
    with open("/proc/stat") as f:
        cpu = [int(x) for x in f.readline().split()[1:9]]
    if with_names:  # after the readings, so the dump's own cost falls outside the window
        for tid, name in java_names(pid).items():
            if tid in threads:
                threads[tid][0] = name
    node_stat = read(f"/proc/{pid}/stat")
    bench_stat = read(f"/proc/{bench}/stat") if bench else None
    return {"time": time.time(), "threads": threads, "node": ticks(node_stat),
            "bench": ticks(bench_stat) if bench_stat else None, "postgres": postgres,
            "machineBusy": sum(cpu) - cpu[3] - cpu[4]}


def group(name):
    if "CompilerThre" in name:
        return "JIT compiler"
    if name.startswith(("GC Thread", "G1 ", "VM Thread")):
        return "GC + VM thread"
    return re.sub(r"[-#]?\d+$", "", name).strip() or name


def diff(before, after, acked):
    seconds = after["time"] - before["time"]
    groups = {}
    for tid, (name, t1, v1, n1) in after["threads"].items():
        _, t0, v0, n0 = before["threads"].get(tid, [name, 0, 0, 0])
        name = re.sub(r"-[0-9a-f]{8}-\d+$", "", name)  # the journal pool's random id
        g = groups.setdefault(group(name), [0, 0, 0, 0])
        g[0] += t1 - t0
        g[1] += v1 - v0
        g[2] += n1 - n0
        g[3] += 1
    node = after["node"] - before["node"]
    rows = sorted(groups.items(), key=lambda kv: -kv[1][0])
    per = (lambda x: x / acked) if acked else (lambda x: float("nan"))
    out = {"seconds": round(seconds, 2), "ackedSends": acked,
           "nodeCores": node / HZ / seconds,
           "nodeMsPerSend": per(1000 * node / HZ),
           "benchCores": None if after["bench"] is None else (after["bench"] - before["bench"]) / HZ / seconds,
           "postgresCores": (after["postgres"] - before["postgres"]) / HZ / seconds,
           "machineBusyCores": (after["machineBusy"] - before["machineBusy"]) / HZ / seconds,
           "groups": {k: {"threads": g[3], "cores": g[0] / HZ / seconds, "share": g[0] / node if node else 0,
                          "msPerSend": per(1000 * g[0] / HZ), "voluntaryPerSend": per(g[1]),
                          "involuntaryPerSend": per(g[2]), "voluntaryPerSecond": g[1] / seconds}
                      for k, g in rows}}
    out["voluntaryPerSend"] = per(sum(g[1] for g in groups.values()))
    out["involuntaryPerSend"] = per(sum(g[2] for g in groups.values()))
    return out


def table(d):
    lines = [f"window {d['seconds']} s, acked sends {d['ackedSends']}: node {d['nodeCores']:.3f} cores "
             f"({d['nodeMsPerSend']:.3f} ms/send), bench {d['benchCores'] if d['benchCores'] is None else round(d['benchCores'], 3)} cores, "
             f"PostgreSQL {d['postgresCores']:.3f} cores, machine busy {d['machineBusyCores']:.3f} cores; "
             f"node context switches per send: voluntary {d['voluntaryPerSend']:.2f}, involuntary {d['involuntaryPerSend']:.2f}",
             "", "| thread group | threads | cores | share of node | ms per send | voluntary switches per send | involuntary per send | voluntary/s |",
             "|---|---|---|---|---|---|---|---|"]
    for k, g in d["groups"].items():
        if g["cores"] < 0.001 and g["voluntaryPerSecond"] < 1:
            continue
        lines.append(f"| {k} | {g['threads']} | {g['cores']:.3f} | {100 * g['share']:.1f} % | {g['msPerSend']:.4f} | "
                     f"{g['voluntaryPerSend']:.3f} | {g['involuntaryPerSend']:.3f} | {g['voluntaryPerSecond']:.0f} |")
    return "\n".join(lines)


if __name__ == "__main__":
    if sys.argv[1] == "snap":
        args = [a for a in sys.argv[2:] if a != "--names"]
        print(json.dumps(snap(args[0], args[1] if len(args) > 1 else None, "--names" in sys.argv)))
    else:
        args = [a for a in sys.argv[2:] if a != "--json"]
        with open(args[0]) as f:
            b = json.load(f)
        with open(args[1]) as f:
            a = json.load(f)
        d = diff(b, a, float(args[2]) if len(args) > 2 else None)
        print(json.dumps(d, indent=1) if "--json" in sys.argv else table(d))
