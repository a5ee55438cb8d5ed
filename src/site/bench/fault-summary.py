#!/usr/bin/env python3
"""Summary of a fault benchmark run (src/site/bench/fault.sh): fault-summary.py OUT_DIR KILL_NODE BENCH_RC

Per conversation of the killed node (its shards from /parley/shards just before the kill; a
conversation's shard is |String.hashCode(id) % number-of-shards|, Pekko's default extractor):
the longest wait of any send due from 1 s before the kill to 30 s after it, counted from the kill
at the earliest: how long after the kill it acknowledged sends again. Around the database cut: the
longest stretch with no acknowledged send anywhere, and /ready of every node while it lasted.
"""
import json
import sys

out, kill_node, bench_rc = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
SHARDS = 100


def java_hash(s):
    h = 0
    for ch in s:
        h = (31 * h + ord(ch)) & 0xFFFFFFFF
    return h - (1 << 32) if h >= 1 << 31 else h


def shard_of(conversation):
    h = java_hash(conversation)
    r = abs(h) % SHARDS if h >= 0 else -((-h) % SHARDS)  # Java's % keeps the sign of the dividend
    return str(abs(r))


def pct(values, p):
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, max(0, int(round(p / 100 * len(values) + 0.5)) - 1))]


events = {}
for line in open(f"{out}/events.txt"):
    name, ms = line.rsplit(" ", 1)
    events[name] = int(ms)
kill = events[f"kill node{kill_node}"]
cut, restored = events["cut database"], events["restore database"]

acks = []
for line in open(f"{out}/acks.txt"):
    parts = line.split()
    if parts[0] == "conversation":
        continue
    acks.append((parts[0], int(parts[1]), int(parts[2])))

shards = json.load(open(f"{out}/shards-before-kill.json"))
victim = next(n for n in shards["nodes"] if n["address"].endswith(f":2552{kill_node}"))
# Builds before issue 23 do not list shard ids: then the killed node's conversations are told
# apart by their wait (5 s or more; the others wait for nothing but the machine).
victim_shards = set(victim["shardIds"]) if "shardIds" in victim else None

waits = {}
for conversation, due, acked in acks:
    if kill - 1000 <= due <= kill + 30000 and acked > kill:
        wait = acked - max(due, kill)
        waits[conversation] = max(waits.get(conversation, 0), wait)
def is_victim(conversation):
    return shard_of(conversation) in victim_shards if victim_shards is not None else waits[conversation] >= 5000


victims = {c: w for c, w in waits.items() if is_victim(c)}
others = {c: w for c, w in waits.items() if not is_victim(c)}
vw = [w / 1000 for w in victims.values()]
ow = [w / 1000 for w in others.values()]

ack_times = sorted(a for _, _, a in acks)
window = [t for t in ack_times if cut - 5000 <= t <= restored + 30000]
longest, gap_from = 0, None
for a, b in zip(window, window[1:]):
    if b - a > longest:
        longest, gap_from = b - a, a
first_after_restore = next((t for t in ack_times if t > restored), None)

ready = {1: [0, 0], 2: [0, 0], 3: [0, 0]}
for line in open(f"{out}/ready.txt"):
    parts = line.split()
    if len(parts) != 4 or not (cut <= int(parts[0]) <= restored):
        continue
    for n in (1, 2, 3):
        ready[n][1] += 1
        ready[n][0] += parts[n] == "200"

bench = json.load(open(f"{out}/bench.json"))
c = bench["correctness"]
print(f"kill node{kill_node}: {len(victims)} of its conversations measured ({'by shard' if victim_shards is not None else 'by a wait of 5 s or more'}); served again after p50 {pct(vw, 50):.1f} s, "
      f"p99 {pct(vw, 99):.1f} s, max {max(vw) if vw else float('nan'):.1f} s "
      f"(other conversations: p99 {pct(ow, 99):.1f} s, max {max(ow) if ow else float('nan'):.1f} s)")
print(f"database cut {(restored - cut) / 1000:.1f} s: longest stretch with no acknowledged send in the cluster {longest / 1000:.1f} s "
      f"(from {(gap_from - cut) / 1000 if gap_from else float('nan'):+.1f} s after the cut); "
      f"first ack {((first_after_restore - restored) / 1000) if first_after_restore else float('nan'):.1f} s after the database's return")
print("ready during the cut: " + ", ".join(f"node{n} {r[0]}/{r[1]}" for n, r in ready.items()))
print(f"send->ack whole run: p99 {bench['sendToAck']['p99']:.0f} ms, max {bench['sendToAck']['max']:.0f} ms; "
      f"acked {c['ackedMessages']}, lost {c['lostMessages']}, duplicate deliveries {c['duplicateDeliveries']}, gaps {c['gapSeqs']}, "
      f"duplicate posts {c['duplicatePosts']}, unacked sends {bench['unackedSends']}, errors {bench['errorsByCode']}; bench exit {bench_rc}")
json.dump({"killNode": kill_node, "victimWaitsSeconds": sorted(vw), "otherWaitsSeconds": sorted(ow),
           "servedAgainP50": pct(vw, 50), "servedAgainP99": pct(vw, 99), "servedAgainMax": max(vw) if vw else None,
           "cutSeconds": (restored - cut) / 1000, "longestNoAckSeconds": longest / 1000,
           "firstAckAfterRestoreSeconds": ((first_after_restore - restored) / 1000) if first_after_restore else None,
           "readyDuringCut": ready, "correctness": c, "benchExit": bench_rc}, open(f"{out}/summary.json", "w"), indent=1)
