#!/usr/bin/env python3
"""The hottest methods and the largest allocation sites of a JFR recording (settings=profile).

Usage: jfr-top.py RECORDING.jfr [TOP]
  1. CPU: jdk.ExecutionSample by innermost frame (self time) and by every frame (total time), so a
     reader sees both which loop burns and which call below it is expensive;
  2. thread states: samples per thread (JFR samples Java threads running Java code only: a thread
     parked in a futex, or in the kernel's poll, is not sampled);
  3. allocation: jdk.ObjectAllocationSample weight by object class and by the first frame outside
     the JDK and Scala libraries (where the program asked for it);
  4. the JIT: jdk.Compilation events inside the recording (if C2 still compiles, the profile is not
     the steady state's).
jfr-areas.py gives the same samples by area of the code.
"""
import collections
import json
import re
import subprocess
import sys

rec = sys.argv[1]
top = int(sys.argv[2]) if len(sys.argv) > 2 else 30
LIBRARY = ("java.", "javax.", "jdk.", "sun.", "com.sun.", "scala.")


def events(kind):
    out = subprocess.run(["jfr", "print", "--json", "--stack-depth", "256", "--events", kind, rec],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out)["recording"]["events"]


def frame_name(f):
    return f["method"]["type"]["name"].replace("/", ".") + "." + f["method"]["name"]


samples = events("jdk.ExecutionSample")
self_t, total_t, threads = collections.Counter(), collections.Counter(), collections.Counter()
for e in samples:
    frames = [frame_name(f) for f in e["values"]["stackTrace"]["frames"]]
    if frames:
        self_t[frames[0]] += 1
    for name in set(frames):
        total_t[name] += 1
    threads[e["values"]["sampledThread"]["javaName"]] += 1
n = len(samples) or 1
print(f"## CPU: {len(samples)} execution samples\n\n| self | method |\n|---|---|")
for name, c in self_t.most_common(top):
    print(f"| {100 * c / n:.1f} % | {name} |")
print("\n| total | method |\n|---|---|")
for name, c in total_t.most_common(top * 2):
    print(f"| {100 * c / n:.1f} % | {name} |")
print("\n| samples | thread |\n|---|---|")
for name, c in threads.most_common(20):
    print(f"| {100 * c / n:.1f} % | {name} |")

allocs = events("jdk.ObjectAllocationSample")
by_class, by_site = collections.Counter(), collections.Counter()
total_w = 0
for e in allocs:
    w = e["values"]["weight"]
    total_w += w
    by_class[e["values"]["objectClass"]["name"]] += w
    frames = [frame_name(f) for f in (e["values"]["stackTrace"] or {"frames": []})["frames"]]
    site = next((f for f in frames if not f.startswith(LIBRARY)), frames[0] if frames else "?")
    by_site[site] += w
print(f"\n## Allocation: {len(allocs)} samples, {total_w / 1e6:.0f} MB sampled weight\n\n| share | class |\n|---|---|")
for name, w in by_class.most_common(top):
    print(f"| {100 * w / total_w:.1f} % | {name} |")
print("\n| share | first frame outside the JDK |\n|---|---|")
for name, w in by_site.most_common(top):
    print(f"| {100 * w / total_w:.1f} % | {name} |")

def seconds(text):
    m = re.fullmatch(r"PT(?:(\d+)M)?([\d.]+)S", str(text or ""))
    return (60 * int(m.group(1) or 0) + float(m.group(2))) if m else 0.0


comp = events("jdk.Compilation")
c2 = [e for e in comp if e["values"].get("compileLevel") == 4]
print(f"\n## JIT: {len(comp)} compilations in the recording ({len(c2)} by C2), "
      f"{sum(seconds(e['values'].get('duration')) for e in comp):.2f} s of compiling")
