#!/usr/bin/env python3
"""Share of JFR execution samples per area of the code, from a recording of a node.

Usage: jfr-areas.py RECORDING.jfr
Each jdk.ExecutionSample is a Java thread found running on a CPU. Two views:
  own       the sample goes to the innermost frame that is not JDK or Scala library code (so time in
            HashMap.get called by Jackson counts as Jackson); the column sums to 100%
  inclusive the sample counts once for every area anywhere on its stack (time spent under it)
"""
import collections, json, subprocess, sys

AREAS = [  # first matching prefix wins; order from specific to general
    ("dev.parley.", "dev.parley (our code)"),
    ("com.fasterxml.jackson.dataformat.cbor", "Jackson CBOR (persistence serialization)"),
    ("org.apache.pekko.serialization.jackson", "Jackson CBOR (persistence serialization)"),
    ("com.fasterxml.jackson", "Jackson JSON (websocket frames)"),
    ("org.apache.pekko.persistence", "Pekko persistence + JDBC journal"),
    ("slick.", "Slick"),
    ("org.h2.", "JDBC driver / database (H2, PostgreSQL, Hikari)"),
    ("org.postgresql.", "JDBC driver / database (H2, PostgreSQL, Hikari)"),
    ("com.zaxxer.hikari", "JDBC driver / database (H2, PostgreSQL, Hikari)"),
    ("org.apache.pekko.http.impl.engine.ws", "Pekko HTTP websocket framing"),
    ("org.apache.pekko.http", "Pekko HTTP (other)"),
    ("org.apache.pekko.stream", "Pekko Streams"),
    ("org.apache.pekko.cluster.sharding", "sharding + ask"),
    ("org.apache.pekko.pattern", "sharding + ask"),
    ("org.apache.pekko.actor.typed.scaladsl.AskPattern", "sharding + ask"),
    ("org.apache.pekko.cluster", "Pekko cluster (other)"),
    ("org.apache.pekko.remote", "Pekko cluster (other)"),
    ("org.apache.pekko.io", "Pekko IO (TCP)"),
    ("org.apache.pekko.", "Pekko actors + dispatcher"),
    ("ch.qos.logback", "logging"),
    ("org.slf4j", "logging"),
    ("com.nimbusds", "JWT"),
    ("org.HdrHistogram", "bench client"),
]
LIBRARY = ("java.", "javax.", "jdk.", "sun.", "com.sun.", "scala.")

def area(frame_type):
    for prefix, name in AREAS:
        if frame_type.startswith(prefix):
            return name
    if frame_type.startswith(LIBRARY):
        return None
    return "other libraries"

def jdk_area(frame_type):
    if frame_type.startswith(("sun.nio.", "java.nio.", "sun.net.")):
        return "JDK NIO / sockets"
    return "JDK / Scala library"

events = json.loads(subprocess.run(["jfr", "print", "--json", "--stack-depth", "512", "--events", "jdk.ExecutionSample", sys.argv[1]],
                                   check=True, capture_output=True, text=True).stdout)["recording"]["events"]
own, inclusive, threads = collections.Counter(), collections.Counter(), collections.Counter()
for e in events:
    frames = [f["method"]["type"]["name"].replace("/", ".") for f in e["values"]["stackTrace"]["frames"]]
    names = [area(t) for t in frames]
    own[next((n for n in names if n), jdk_area(frames[0]) if frames else "unknown")] += 1
    for n in set(n for n in names if n):
        inclusive[n] += 1
    threads[e["values"]["sampledThread"]["javaName"].rstrip("0123456789-")] += 1
total = len(events)
print(f"{total} samples")
print("| area | own share | inclusive share |")
print("|---|---|---|")
for name, n in own.most_common():
    print(f"| {name} | {100 * n / total:.1f}% | {100 * inclusive.get(name, n) / total:.1f}% |")
for name, n in inclusive.most_common():
    if name not in own:
        print(f"| {name} | 0.0% | {100 * n / total:.1f}% |")
print()
print("samples by thread:", ", ".join(f"{t} {100 * n / total:.0f}%" for t, n in threads.most_common(8)))
