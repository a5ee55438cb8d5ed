#!/usr/bin/env python3
"""What the JIT compiled during each storm of an idle-memory.sh run (issue 19).

Usage: jit-windows.py RUN_DIR [-v]
The node must have run with NODE_OPTS=-XX:+PrintCompilation (its lines go to node.log, stamped with
the JVM's uptime in ms); uptime.txt (wall clock ms and uptime s, written by idle-memory.sh) aligns them
with each storm's window, taken from the files idle-memory.sh writes at its edges (threads-LABEL-0/1
for a measured storm's open, -2/-3 for its close; warmup-K-0/1 for a warm-up storm's open).
Per window: compilations by tier (1-3 C1, 4 C2) and methods made not entrant (deoptimized). -v adds
the methods made not entrant most often and the packages C2 compiled. A storm still compiling at C2
is not the node's steady state: on 2 vCPU the JVM has one C2 thread and the connect path's methods
cross C2's thresholds only after thousands of connections.
"""
import collections, glob, os, re, sys

run = sys.argv[1]
wall_ms, uptime_s = open(os.path.join(run, "uptime.txt")).read().split()[:2]
jvm_start_ms = int(wall_ms) - float(uptime_s) * 1000
LINE = re.compile(r"^\s*(\d+)\s+\d+\s+[%sbn! ]{0,6}\s*(\d)\s+(\S+)(.*)$")
events = []  # (wall ms, tier, method, made not entrant)
for line in open(os.path.join(run, "node.log"), errors="replace"):
    m = LINE.match(line)
    if m:
        events.append((jvm_start_ms + int(m.group(1)), int(m.group(2)), m.group(3), "made not entrant" in m.group(4)))


def mtime(name):
    return os.path.getmtime(os.path.join(run, name)) * 1000


windows = []
for f in glob.glob(os.path.join(run, "threads-*-0.json")):
    label = re.match(r"threads-(.*)-0\.json", os.path.basename(f)).group(1)
    windows.append((mtime(f"threads-{label}-0.json"), mtime(f"threads-{label}-1.json"), f"{label} open"))
    if os.path.exists(os.path.join(run, f"threads-{label}-3.json")):
        windows.append((mtime(f"threads-{label}-2.json"), mtime(f"threads-{label}-3.json"), f"{label} close"))
for f in glob.glob(os.path.join(run, "warmup-*-0.json")):
    k = re.match(r"warmup-(\d+)-0\.json", os.path.basename(f)).group(1)
    windows.append((mtime(f"warmup-{k}-0.json"), mtime(f"warmup-{k}-1.json"), f"warm-up {k} open"))
for start, end, name in sorted(windows):
    inside = [e for e in events if start <= e[0] <= end]
    compiled = [e for e in inside if not e[3]]
    tiers = collections.Counter(e[1] for e in compiled)
    print(f"{name}: {(end - start) / 1000:.1f} s, {len(compiled)} compilations "
          f"(tier 1-3: {sum(n for t, n in tiers.items() if t < 4)}, C2: {tiers.get(4, 0)}), "
          f"made not entrant: {sum(1 for e in inside if e[3])}")
    if "-v" in sys.argv:
        print("  made not entrant most:", collections.Counter(e[2] for e in inside if e[3]).most_common(8))
        print("  C2 by package:", collections.Counter(e[2].split("::")[0].rsplit(".", 1)[0] for e in compiled if e[1] == 4).most_common(8))
recompiled = collections.Counter(e[2] for e in events if e[1] == 4 and not e[3])
print("compiled at C2 more than twice over the run:", [(m, n) for m, n in recompiled.most_common(12) if n > 2])
