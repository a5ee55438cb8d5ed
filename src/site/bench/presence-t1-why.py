#!/usr/bin/env python3
"""Issue 21, target 1: where the send -> ack tail under presence churn comes from, per phase of a
presence.sh target-1 run (off-N without churn, on-N with it). Written 2026-12-04 evening to test, on
the run's own data, the candidate causes one by one:

  client   the bench client is late: the sends bench's lateness in putting a send on the wire
           (sent - due, t1-acks.txt) against the round trip (ack - sent);
  node     the nodes' own send -> ack (from a send frame received to its ack queued) and persist
           histograms (t1-metrics/, Prometheus buckets at each phase edge, all nodes summed): if
           they stay flat while the client's round trip grows, the time is outside the node's
           actors (socket, stream, scheduling of the JVMs on the shared cores);
  pauses   GC and other safepoint pauses of every JVM (cluster/gc-PID.log, gc-bench-PID.log): how
           many slow sends overlap one, against how many of all sends do (a pause that hits a random
           send as often as a slow one does not explain the slow ones);
  cpu      the machine's busy share per T1_FINE interval (t1-cpu-fine.txt) during each slow send
           against the phase's mean, and which threads the churn adds CPU to (t1-threads.jsonl,
           named from the jcmd thread dumps threads-NAME.txt);
  database statements per phase (t1-db.txt, pg_stat_database of the run's database): per acked send
           and, for on-N, what the churn added per churn event.

Usage: presence-t1-why.py OUT_DIR [SLOW_MS]
SLOW_MS: a send is slow when due -> ack exceeds it (default: the off phase's p99 of its pair).
"""
import glob
import json
import math
import re
import statistics
import sys
from pathlib import Path

out = Path(sys.argv[1])
fixed_slow = float(sys.argv[2]) if len(sys.argv) > 2 else None
settings = dict(kv.split("=", 1) for kv in (out / "t1-settings.txt").read_text().split())
tck = float(settings["CLK_TCK"])


def pct(values, p):
    values = sorted(values)
    if not values:
        return float("nan")
    return values[max(0, min(len(values) - 1, math.ceil(p / 100.0 * len(values)) - 1))]


# ---- phases: label -> (start epoch ms, end epoch ms)
edges = {}
for line in (out / "t1-cpu.txt").read_text().splitlines():
    label, epoch = line.split()[:2]
    edges[label] = int(epoch)
names = sorted((k[:-4] for k in edges if k.endswith("-end")), key=lambda n: (int(n.split("-")[1]), n.split("-")[0] != "off", n))
phases = {n: (edges[n], edges[n + "-end"]) for n in names}

# ---- acks: (due, ack, sent) epoch ms
acks = []
for line in (out / "t1-acks.txt").read_text().splitlines()[1:]:
    parts = line.split()
    if len(parts) >= 4:
        acks.append((int(parts[1]), int(parts[2]), int(parts[3])))
acks.sort(key=lambda a: a[1])


def acks_in(name):
    a, b = phases[name]
    return [x for x in acks if a <= x[1] < b]


# ---- pauses: (process name, start ms, end ms, what)
pids = {}
for line in (out / "t1-threads.jsonl").read_text().splitlines():
    for name, pid in json.loads(line).get("pids", {}).items():
        pids[pid] = name
pauses = []
PAUSE = re.compile(r"^\[(\d+)ms\].*\[safepoint\s*\] Safepoint \"([^\"]+)\".*Total: (\d+) ns")
for path in glob.glob(str(out / "cluster" / "gc-*.log")) + glob.glob(str(out / "gc-bench-*.log")):
    pid = re.search(r"gc-(?:bench-)?(\d+)\.log", path).group(1)
    who = pids.get(pid, ("bench " if "bench" in path else "node ") + pid)
    for line in open(path, errors="replace"):
        m = PAUSE.match(line)
        if m:
            end, what, total_ns = int(m.group(1)), m.group(2), int(m.group(3))
            pauses.append((who, end - total_ns / 1e6, end, what))
pauses.sort(key=lambda p: p[1])


def overlapping(start, end, min_ms=0.0, who=None):
    return [p for p in pauses if p[1] < end and p[2] > start and p[2] - p[1] >= min_ms and (who is None or p[0].startswith(who))]


# ---- machine busy per fine interval
fine = []
fine_path = out / "t1-cpu-fine.txt"
if fine_path.exists():
    rows = [line.split() for line in fine_path.read_text().splitlines() if line and not line.startswith("#")]
    header = fine_path.read_text().splitlines()[0].split()[2:]
    for prev, cur in zip(rows, rows[1:]):
        dt_total = int(cur[-1]) - int(prev[-1])
        busy = 1 - (int(cur[-2]) - int(prev[-2])) / dt_total if dt_total > 0 else float("nan")
        seconds = (int(cur[0]) - int(prev[0])) / 1000.0
        procs = {h: (int(c) - int(p)) / tck / seconds for h, p, c in zip(header, prev[1:-2], cur[1:-2])} if seconds > 0 else {}
        fine.append((int(prev[0]), int(cur[0]), busy, procs))


def busy_during(start, end):
    bins = [f[2] for f in fine if f[0] < end and f[1] > start]
    return max(bins) if bins else float("nan")


# ---- churn events (connects and disconnects of the presence bench)
churn = []
events = out / "t1-events.txt"
if events.exists():
    for line in events.read_text().splitlines():
        parts = line.split()
        if parts and parts[0] == "E":
            churn.append(int(parts[1]))
churn.sort()


def histogram(label):
    buckets = {}
    for n in (1, 2, 3):
        path = out / "t1-metrics" / f"{label}-node{n}.txt"
        if not path.exists():
            continue
        for line in path.read_text().splitlines():
            m = re.match(r'^parley_(send_ack|persist)_seconds_bucket\{.*le="([^"]+)".*\}\s+(\S+)', line)
            if m:
                key = (m.group(1), n, float("inf") if m.group(2) == "+Inf" else float(m.group(2)))
                buckets[key] = buckets.get(key, 0) + float(m.group(3))
    return buckets


def node_percentiles(name, metric, node=None):
    """p50/p99 (upper bucket bounds, ms) and count of a node histogram between a phase's edges."""
    a, b = histogram(name), histogram(name + "-end")
    per_le = {}
    for (m, n, le), v in b.items():
        if m == metric and (node is None or n == node):
            per_le[le] = per_le.get(le, 0) + v - a.get((m, n, le), 0)
    if not per_le:
        return None
    les = sorted(per_le)
    total = per_le[les[-1]]
    def q(p):
        for le in les:
            if per_le[le] >= p * total:
                return le * 1000
        return float("inf")
    return q(0.5), q(0.99), int(total)


def thread_cpu():
    """label -> {role: {group: ticks}}: thread names from the jcmd dumps, digits removed; nodes summed."""
    names_by_tid = {}
    for path in glob.glob(str(out / "threads-*.txt")):
        role = re.search(r"threads-(.+)\.txt", path).group(1)
        for line in open(path, errors="replace"):
            m = re.match(r'^"(.+?)".* nid=0x([0-9a-f]+)', line)
            if m:
                names_by_tid[(role, str(int(m.group(2), 16)))] = m.group(1)
    result = {}
    for line in (out / "t1-threads.jsonl").read_text().splitlines():
        rec = json.loads(line)
        per_role = {}
        for role, threads in rec["ticks"].items():
            group_role = "nodes" if role.startswith("node") else role
            groups = per_role.setdefault(group_role, {})
            for tid, (comm, ticks) in threads.items():
                group = re.sub(r"\d+", "N", names_by_tid.get((role, tid), comm + "*"))
                groups[group] = groups.get(group, 0) + ticks
        result[rec["label"]] = per_role
    return result


def db_rows():
    rows = {}
    path = out / "t1-db.txt"
    if path.exists():
        for line in path.read_text().splitlines():
            parts = line.split()
            if len(parts) == 8:
                rows[parts[0]] = [int(v) for v in parts[1:]]
    return rows


print(f"where the send -> ack tail goes, per phase ({out})")
print()
print("| phase | sends | due -> ack p50 / p99 / max ms | of which client late (due -> sent) p99 | round trip (sent -> ack) p99 "
      "| nodes' own send -> ack p50 / p99 ms (count) | nodes' persist p50 / p99 ms | pauses >= 5 ms: count / sum / max ms (nodes; clients) "
      "| machine busy per 100 ms: mean / p90 / share >= 95 % |")
print("|---|---|---|---|---|---|---|---|---|")
summary = {}
for name in names:
    a, b = phases[name]
    mine = acks_in(name)
    total = [x[1] - x[0] for x in mine]
    late = [x[2] - x[0] for x in mine]
    trip = [x[1] - x[2] for x in mine]
    own = node_percentiles(name, "send_ack")
    persist = node_percentiles(name, "persist")
    node_p = [p for p in pauses if a <= p[2] < b and p[2] - p[1] >= 5 and p[0].startswith("node")]
    bench_p = [p for p in pauses if a <= p[2] < b and p[2] - p[1] >= 5 and not p[0].startswith("node")]
    busy = [f[2] for f in fine if a <= f[0] < b]
    summary[name] = dict(p99=pct(total, 99), busy=statistics.mean(busy) if busy else float("nan"))
    fmt = lambda t: "-" if t is None else f"{t[0]:.0f} / {t[1]:.0f} ({t[2]})"
    print(f"| {name} | {len(mine)} | {pct(total, 50):.0f} / {pct(total, 99):.0f} / {pct(total, 100):.0f} | {pct(late, 99):.0f} | {pct(trip, 99):.0f} "
          f"| {fmt(own)} | {'-' if persist is None else f'{persist[0]:.0f} / {persist[1]:.0f}'} "
          f"| {len(node_p)} / {sum(p[2] - p[1] for p in node_p):.0f} / {max([p[2] - p[1] for p in node_p], default=0):.0f}; "
          f"{len(bench_p)} / {sum(p[2] - p[1] for p in bench_p):.0f} / {max([p[2] - p[1] for p in bench_p], default=0):.0f} "
          f"| {100 * summary[name]['busy']:.0f} % / {100 * pct(busy, 90):.0f} % / {100 * sum(1 for x in busy if x >= 0.95) / max(len(busy), 1):.0f} % |")

print()
print("Slow sends and what they overlap (a slow send: due -> ack above SLOW; 'all' = every send of the phase, the base rate):")
print("| phase | SLOW ms | slow sends | in distinct seconds | overlap a node pause >= 5 ms: slow / all | a client pause >= 5 ms: slow / all "
      "| max busy 100 ms bin during the send: slow / all (mean) | churn events in [due - 0.5 s, ack]: slow / all (mean) |")
print("|---|---|---|---|---|---|---|---|")
for name in names:
    pair = name.split("-")[1]
    slow_ms = fixed_slow if fixed_slow is not None else summary.get("off-" + pair, {}).get("p99", float("nan"))
    mine = acks_in(name)
    slow = [x for x in mine if x[1] - x[0] > slow_ms]

    def share(xs, pred):
        return sum(1 for x in xs if pred(x)) / len(xs) if xs else float("nan")

    def mean(xs, fn):
        values = [fn(x) for x in xs]
        values = [v for v in values if not math.isnan(v)]
        return statistics.mean(values) if values else float("nan")

    def churn_near(x):
        lo, hi = x[0] - 500, x[1]
        import bisect
        return bisect.bisect_left(churn, hi) - bisect.bisect_left(churn, lo)

    node_overlap = lambda x: bool(overlapping(x[0], x[1], 5, "node"))
    client_overlap = lambda x: bool([p for p in overlapping(x[0], x[1], 5) if not p[0].startswith("node")])
    print(f"| {name} | {slow_ms:.0f} | {len(slow)} | {len({x[1] // 1000 for x in slow})} "
          f"| {100 * share(slow, node_overlap):.0f} % / {100 * share(mine, node_overlap):.0f} % "
          f"| {100 * share(slow, client_overlap):.0f} % / {100 * share(mine, client_overlap):.0f} % "
          f"| {100 * mean(slow, lambda x: busy_during(x[0], x[1])):.0f} % / {100 * mean(mine, lambda x: busy_during(x[0], x[1])):.0f} % "
          f"| {mean(slow, churn_near):.1f} / {mean(mine, churn_near):.1f} |")

print()
print("The worst seconds of each on phase (slow sends per second, and what happened in it):")
for name in [n for n in names if not n.startswith("off")]:
    pair = name.split("-")[1]
    slow_ms = fixed_slow if fixed_slow is not None else summary.get("off-" + pair, {}).get("p99", float("nan"))
    slow = [x for x in acks_in(name) if x[1] - x[0] > slow_ms]
    per_second = {}
    for x in slow:
        per_second.setdefault(x[0] // 1000, []).append(x)
    for second, xs in sorted(per_second.items(), key=lambda kv: -len(kv[1]))[:5]:
        lo, hi = second * 1000, second * 1000 + 1000 + max(x[1] - x[0] for x in xs)
        ps = sorted(overlapping(lo, hi, 2), key=lambda p: p[1])
        bins = [f for f in fine if lo <= f[0] < hi]
        top = {}
        for f in bins:
            for k, v in f[3].items():
                top[k] = max(top.get(k, 0), v)
        print(f"  {name} second {second}: {len(xs)} slow (worst {max(x[1] - x[0] for x in xs)} ms, client late up to {max(x[2] - x[0] for x in xs)} ms); "
              f"pauses: {', '.join(f'{p[0]} {p[3]} {p[2] - p[1]:.0f} ms at +{p[1] - lo:.0f}' for p in ps) or 'none'}; "
              f"peak cores per process: {', '.join(f'{k} {v:.2f}' for k, v in sorted(top.items()))}; "
              f"busiest 100 ms: {100 * max([f[2] for f in bins], default=float('nan')):.0f} %")

print()
print("CPU by thread group, ms per second of phase (nodes summed; on minus off of the same pair; top 12 by |difference|):")
threads = thread_cpu()
for name in [n for n in names if not n.startswith("off")]:
    off = "off-" + name.split("-")[1]
    if not all(k in threads for k in (name, name + "-end", off, off + "-end")):
        continue
    def rate(label, role, group):
        a, b = threads[label][role].get(group, 0), threads[label + "-end"][role].get(group, 0)
        return (b - a) / tck * 1000 / ((phases[label][1] - phases[label][0]) / 1000.0)
    diffs = []
    for role in threads[name + "-end"]:
        for group in set(threads[name + "-end"][role]) | set(threads[off + "-end"].get(role, {})):
            try:
                on_rate, off_rate = rate(name, role, group), rate(off, role, group)
            except KeyError:
                continue
            diffs.append((on_rate - off_rate, role, group, off_rate, on_rate))
    diffs.sort(key=lambda d: -abs(d[0]))
    total_by_role = {}
    for d in diffs:
        total_by_role[d[1]] = total_by_role.get(d[1], 0) + d[0]
    print(f"  {name} vs {off}: added ms/s by process: " + ", ".join(f"{k} {v:+.0f}" for k, v in sorted(total_by_role.items())))
    for d, role, group, off_rate, on_rate in diffs[:12]:
        print(f"    {role:9s} {group:60s} {off_rate:7.1f} -> {on_rate:7.1f} ({d:+.1f})")

print()
db = db_rows()
if db:
    print("Database (pg_stat_database of the run's database), per second of phase: commits / rows returned / fetched / inserted / updated / deleted")
    for name in names:
        if name in db and name + "-end" in db:
            seconds = (phases[name][1] - phases[name][0]) / 1000.0
            d = [(e - s) / seconds for s, e in zip(db[name], db[name + "-end"])]
            sends = len(acks_in(name)) / seconds
            print(f"  {name}: {d[0]:.0f} commits/s ({d[0] / sends if sends else float('nan'):.2f} per acked send), {d[2]:.0f} returned, {d[3]:.0f} fetched, "
                  f"{d[4]:.0f} inserted, {d[5]:.0f} updated, {d[6]:.0f} deleted /s")

# ---- the nodes' collections by kind (2026-12-06): how often each node collects, and what the
# churn adds. A node whose committed heap stays just above its live data (G1 grows the heap only
# when GC time exceeds its GCTimeRatio) collects its young generation every few seconds and starts
# a concurrent cycle (Remark, mixed collections) every ~20 s under churn; one with a larger heap
# once in 30 s. Every pause holds the sends that cross that node.
GC_LINE = re.compile(r"^\[(\d+)ms\].*\[gc\s*\] GC\(\d+\) Pause (Young|Remark|Cleanup|Full)(?: \(([^)]+)\))?.* (\d+)M->(\d+)M\((\d+)M\) ([\d.]+)ms")
collections = []  # (node, epoch ms, kind, before MB, after MB, committed MB, pause ms)
for path in glob.glob(str(out / "cluster" / "gc-*.log")):
    pid = re.search(r"gc-(\d+)\.log", path).group(1)
    who = pids.get(pid, "node " + pid)
    for line in open(path, errors="replace"):
        m = GC_LINE.match(line)
        if m:
            kind = m.group(2) if m.group(2) != "Young" else "Young " + (m.group(3) or "")
            kind = {"Young Normal": "young", "Young Concurrent Start": "young (cycle start)", "Young Prepare Mixed": "young",
                    "Young Mixed": "mixed"}.get(kind.strip(), kind.strip().lower())
            collections.append((who, int(m.group(1)), kind, int(m.group(4)), int(m.group(5)), int(m.group(6)), float(m.group(7))))
if collections:
    print()
    print("The nodes' collections per phase (all nodes): count / sum ms by kind; per node: collections, committed heap MB, allocated MB/s")
    for name in names:
        a, b = phases[name]
        inside = [c for c in collections if a <= c[1] < b]
        kinds = {}
        for c in inside:
            kinds.setdefault(c[2], []).append(c[6])
        per_node = []
        for node in sorted({c[0] for c in collections}):
            mine = [c for c in collections if c[0] == node]
            # Allocation rate: heap grown between two collections over the time between them, for
            # the collections that end in the phase (the first one's interval may start before it).
            allocated, elapsed, prev = 0, 0, None
            for c in mine:
                if prev is not None and a <= c[1] < b and c[3] >= prev[4]:
                    allocated += c[3] - prev[4]
                    elapsed += c[1] - prev[1]
                prev = c
            here = [c for c in mine if a <= c[1] < b]
            committed = here[-1][5] if here else "-"
            rate = f"{allocated / (elapsed / 1000.0):.1f}" if elapsed else "-"
            per_node.append(f"{node} {len(here)}, {committed} MB, {rate} MB/s")
        print(f"  {name}: " + ", ".join(f"{k} {len(v)} / {sum(v):.0f}" for k, v in sorted(kinds.items())) + "; " + "; ".join(per_node))

# ---- presence's own share by thread group: on-N minus anc-N (the same connects and disconnects,
# without presence changes), nodes summed, ms of CPU per churn event.
anchored = [n for n in names if n.startswith("anc-")]
if anchored and threads:
    churn_rate = float(settings.get("T1_CHURN", "0")) or float("nan")
    print()
    print("Presence's share by thread group (nodes): on-N minus anc-N, ms of CPU per churn event")
    groups = {
        "default dispatcher": r"default-dispatcher",
        "internal dispatcher": r"internal-dispatcher",
        "remoting": r"remote|artery|Artery",
        "Pekko IO (TCP)": r"pekko\.io\.",
        "GC": r"^(GC Thread|G1 )",
        "JIT": r"CompilerThre",
        "journal and JDBC": r"journal|slick|Hikari|pgjdbc",
    }
    for anc in anchored:
        on = "on-" + anc.split("-")[1]
        if not all(k in threads for k in (on, on + "-end", anc, anc + "-end")):
            continue
        def group_rate(label, pattern):
            total = 0.0
            for group, ticks in threads[label + "-end"].get("nodes", {}).items():
                if pattern is None or re.search(pattern, group):
                    total += ticks - threads[label]["nodes"].get(group, 0)
            return total / tck * 1000 / ((phases[label][1] - phases[label][0]) / 1000.0)
        parts = [f"{g} {(group_rate(on, p) - group_rate(anc, p)) / churn_rate:+.2f}" for g, p in groups.items()]
        print(f"  {on} - {anc}: all {(group_rate(on, None) - group_rate(anc, None)) / churn_rate:+.2f}; " + ", ".join(parts))
