#!/usr/bin/env python3
"""Summary of a fault benchmark run (src/site/bench/fault.sh): fault-summary.py OUT_DIR KILL_NODE BENCH_RC

Per conversation of the killed node (its shards from /parley/shards just before the kill; a
conversation's shard is |String.hashCode(id)| % number-of-shards, Pekko's default extractor):
how long after the kill it acknowledged a send again (its first ack of a send due from 1 s before
the kill on). Around the database cut: the
longest stretch with no acknowledged send anywhere, and /ready of every node while it lasted.
"""
import json
import os
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

def served_again(fault_ms, shards_file, port_suffix):
    """Per conversation of the node hit at fault_ms (its shards from shards_file), the time from the
    fault to its first acknowledged send that was due from 1 s before the fault on (conservative: a
    conversation whose next send was due only later counts that wait too; at 50 sends/s over 150
    conversations each one sends every 3 s), and the longest wait of one of those sends."""
    shards = json.load(open(shards_file))
    victim = next(n for n in shards["nodes"] if n["address"].endswith(port_suffix))
    # Builds before issue 23 do not list shard ids: then the node's conversations are told apart by
    # their wait (5 s or more; the others wait for nothing but the machine).
    victim_shards = set(victim["shardIds"]) if "shardIds" in victim else None
    first, waits = {}, {}
    for conversation, due, acked in acks:
        if fault_ms - 1000 <= due <= fault_ms + 30000 and acked > fault_ms:
            first[conversation] = min(first.get(conversation, acked), acked)
            waits[conversation] = max(waits.get(conversation, 0), acked - max(due, fault_ms))

    def is_victim(conversation):
        return shard_of(conversation) in victim_shards if victim_shards is not None else waits[conversation] >= 5000

    hit = {c: first[c] - fault_ms for c in waits if is_victim(c)}
    spared = {c: first[c] - fault_ms for c in waits if not is_victim(c)}
    longest = max((waits[c] for c in hit), default=0) / 1000
    return [w / 1000 for w in hit.values()], [w / 1000 for w in spared.values()], longest, victim_shards is not None


vw, ow, longest_wait, by_shard = served_again(kill, f"{out}/shards-before-kill.json", f":2552{kill_node}")
victims = vw

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

partition = None
partition_node = int(os.environ.get("PARTITION_NODE", "3"))
if f"partition node{partition_node}" in events and os.path.exists(f"{out}/shards-before-partition.json"):
    cut_at, healed = events[f"partition node{partition_node}"], events["heal partition"]
    pw, pow_, plongest, _ = served_again(cut_at, f"{out}/shards-before-partition.json", f":2552{partition_node}")
    partition_acks = sorted(a for _, _, a in acks if cut_at - 5000 <= a <= healed + 30000)
    plong = max((b - a for a, b in zip(partition_acks, partition_acks[1:])), default=0)
    partition = {"node": partition_node, "seconds": (healed - cut_at) / 1000, "measured": len(pw),
                 "servedAgainP50": pct(pw, 50), "servedAgainP99": pct(pw, 99), "servedAgainMax": max(pw) if pw else None,
                 "longestWaitOfOneSend": plongest, "otherP99": pct(pow_, 99), "longestNoAckSeconds": plong / 1000,
                 "exitedAfterSeconds": (events[f"exited node{partition_node}"] - cut_at) / 1000 if f"exited node{partition_node}" in events else None}

bench = json.load(open(f"{out}/bench.json"))
c = bench["correctness"]

# The nodes' CPU (cpu.jsonl, cpu-sampler.py) from the first phase to the last, per acknowledged send.
node_cpu_seconds = None
phases = [json.loads(l) for l in open(f"{out}/samples.jsonl")] if os.path.exists(f"{out}/samples.jsonl") else []
if os.path.exists(f"{out}/cpu.jsonl") and len(phases) >= 2:
    start, end = phases[0]["ts"], phases[-1]["ts"]
    seen, node_cpu_seconds = {}, 0.0
    for line in open(f"{out}/cpu.jsonl"):
        sample = json.loads(line)
        if not start <= sample["ts"] <= end:
            continue
        for process, ticks in sample["processes"].items():
            if process.startswith("node"):
                total = sum(ticks.values())
                node_cpu_seconds += (total - seen.get(process, total)) / 100.0
                seen[process] = total
acked_measured = sum(1 for _, due, acked in acks if phases and phases[0]["ts"] * 1000 <= acked <= phases[-1]["ts"] * 1000)
print(f"kill node{kill_node}: {len(victims)} of its conversations measured ({'by shard' if by_shard else 'by a wait of 5 s or more'}); served again after p50 {pct(vw, 50):.1f} s, "
      f"p99 {pct(vw, 99):.1f} s, max {max(vw) if vw else float('nan'):.1f} s; longest wait of one send {longest_wait:.1f} s "
      f"(other conversations, first ack after the kill: p99 {pct(ow, 99):.1f} s, max {max(ow) if ow else float('nan'):.1f} s)")
print(f"database cut {(restored - cut) / 1000:.1f} s: longest stretch with no acknowledged send in the cluster {longest / 1000:.1f} s "
      f"(from {(gap_from - cut) / 1000 if gap_from else float('nan'):+.1f} s after the cut); "
      f"first ack {((first_after_restore - restored) / 1000) if first_after_restore else float('nan'):.1f} s after the database's return")
print("ready during the cut: " + ", ".join(f"node{n} {r[0]}/{r[1]}" for n, r in ready.items()))
if node_cpu_seconds is not None and acked_measured:
    print(f"nodes' CPU {node_cpu_seconds:.0f} s for {acked_measured} acknowledged sends: {1000 * node_cpu_seconds / acked_measured:.1f} ms per acked send "
          f"(bot replies and everything else included)")
if partition:
    p = partition
    print(f"partition of node{p['node']} for {p['seconds']:.1f} s: {p['measured']} of its conversations measured; served again (on the kept side) after "
          f"p50 {p['servedAgainP50']:.1f} s, p99 {p['servedAgainP99']:.1f} s, max {p['servedAgainMax'] or float('nan'):.1f} s; longest wait of one send "
          f"{p['longestWaitOfOneSend']:.1f} s (other conversations p99 {p['otherP99']:.1f} s); longest stretch with no ack in the cluster "
          f"{p['longestNoAckSeconds']:.1f} s; the cut-off node exited {p['exitedAfterSeconds']} s after the cut")
print(f"send->ack whole run: p99 {bench['sendToAck']['p99']:.0f} ms, max {bench['sendToAck']['max']:.0f} ms; "
      f"acked {c['ackedMessages']}, lost {c['lostMessages']}, duplicate deliveries {c['duplicateDeliveries']}, gaps {c['gapSeqs']}, "
      f"duplicate posts {c['duplicatePosts']}, unacked sends {bench['unackedSends']}, errors {bench['errorsByCode']}; bench exit {bench_rc}")
json.dump({"killNode": kill_node, "victimWaitsSeconds": sorted(vw), "otherWaitsSeconds": sorted(ow),
           "servedAgainP50": pct(vw, 50), "servedAgainP99": pct(vw, 99), "servedAgainMax": max(vw) if vw else None,
           "cutSeconds": (restored - cut) / 1000, "longestNoAckSeconds": longest / 1000,
           "firstAckAfterRestoreSeconds": ((first_after_restore - restored) / 1000) if first_after_restore else None,
           "readyDuringCut": ready, "partition": partition, "nodesCpuSeconds": node_cpu_seconds, "ackedSends": acked_measured, "correctness": c, "benchExit": bench_rc}, open(f"{out}/summary.json", "w"), indent=1)
