#!/usr/bin/env python3
"""Where a run's slow acks come from (issue 18, the send->ack tail).

Usage: ack-tail.py ACKS [--snapshot-every N] [--gc GC_LOG] [--slow MS] [--skip S] [--json]

ACKS: the bench's --ack-log (conversation, due, ack, sent epoch ms, seq; cpu-per-send.sh ACK_LOG=1).
Acks due in the first --skip seconds (3: the bench's own warm-up) are left out.

It asks three questions of the acks slower than --slow ms (50: the target's p99):
- *The conversation's snapshot.* Pekko's event-sourced entity, after a write whose events cross a
  multiple of snapshot-every, saves a snapshot and holds that write's replies and every command that
  arrives meanwhile until the snapshot store answers. Such acks have seqs just around a multiple of
  N: the share of slow acks whose seq lies within -10..+20 of one (offset) against the share of all
  acks there (what it would be by chance).
- *A node-wide stall* (GC, a full box, the database): in the 100 ms buckets of ack time where slow
  acks came from at least a fifth of the conversations active in the run.
- *GC and safepoint pauses* (--gc: the node's -Xlog:gc,safepoint log with time decorations): the
  share of slow acks whose due..ack interval holds a pause of 5 ms or more, and the pauses' sum.

Also the p99 of the acks due in the second half of the run (second_half_p99_ms): a run's first
seconds carry its start spread (JIT, what the previous run left), which decides whole-run p99s at
4,000/s and more; the second half is the node's steady tail (2026-12-06 third session). With --gc,
the GC pauses alone ("Pause Young", "Pause Remark"... lines of -Xlog:gc, and ZGC's allocation
stalls) in the run: their count, max and sum (gc_pauses, gc_pause_max_ms, gc_pause_sum_ms,
allocation_stalls).
"""
import json
import re
import sys
from collections import defaultdict
from datetime import datetime


def pct(values, p):
    if not values:
        return 0.0
    values = sorted(values)
    return values[min(len(values) - 1, int(p / 100.0 * len(values)))]


def gc_pauses(path):
    """(start epoch ms, duration ms) of each safepoint (GC or not), from -Xlog:gc,safepoint:...:time,uptimemillis."""
    pauses = []
    rx = re.compile(r"^\[([^\]]+)\]\[\d+ms\].*Safepoint \"([^\"]+)\".*Total: (\d+) ns")
    for line in open(path, errors="replace"):
        m = rx.search(line)
        if not m:
            continue
        ts = datetime.strptime(m.group(1).replace("+0000", "+00:00"), "%Y-%m-%dT%H:%M:%S.%f%z").timestamp() * 1000
        total_ms = int(m.group(3)) / 1e6
        pauses.append((ts - total_ms, total_ms, m.group(2)))
    return pauses


def gc_events(path):
    """(start epoch ms, duration ms, text) of each GC pause and ZGC allocation stall in -Xlog:gc."""
    events = []
    rx = re.compile(r"^\[([^\]]+)\]\[\d+ms\] (?:GC\(\d+\) )?((?:Pause|Allocation Stall).*?) (\d+(?:\.\d+)?)ms$")
    for line in open(path, errors="replace"):
        m = rx.search(line.rstrip())
        if not m:
            continue
        ts = datetime.strptime(m.group(1).replace("+0000", "+00:00"), "%Y-%m-%dT%H:%M:%S.%f%z").timestamp() * 1000
        ms = float(m.group(3))
        events.append((ts - ms, ms, m.group(2)))
    return events


def main():
    args = sys.argv[1:]
    path = args[0]
    every = 100
    gc = None
    slow_ms = 50
    skip = 3.0
    as_json = "--json" in args
    if "--snapshot-every" in args:
        every = int(args[args.index("--snapshot-every") + 1])
    if "--gc" in args:
        gc = args[args.index("--gc") + 1]
    if "--slow" in args:
        slow_ms = float(args[args.index("--slow") + 1])
    if "--skip" in args:
        skip = float(args[args.index("--skip") + 1])

    acks = []
    for line in open(path).read().splitlines()[1:]:
        parts = line.split()
        if len(parts) < 5:
            continue
        acks.append((parts[0], int(parts[1]), int(parts[2]), int(parts[3]), int(parts[4])))
    if not acks:
        print("no acks")
        return
    first_due = min(a[1] for a in acks)
    acks = [a for a in acks if a[1] >= first_due + skip * 1000]
    lat = [a[2] - a[1] for a in acks]
    slow = [a for a in acks if a[2] - a[1] > slow_ms]

    def near(seq):
        o = seq % every
        return o <= 20 or o >= every - 10

    near_all = sum(1 for a in acks if near(a[4])) / len(acks)
    near_slow = sum(1 for a in slow if near(a[4])) / len(slow) if slow else 0.0

    conversations = len({a[0] for a in acks})
    buckets = defaultdict(set)
    for a in slow:
        buckets[a[2] // 100].add(a[0])
    stall_buckets = {b for b, cs in buckets.items() if len(cs) >= max(2, conversations / 5)}
    in_stall = sum(1 for a in slow if a[2] // 100 in stall_buckets) / len(slow) if slow else 0.0

    middle = (min(a[1] for a in acks) + max(a[1] for a in acks)) / 2
    second_half = [a[2] - a[1] for a in acks if a[1] >= middle]

    result = {
        "acks": len(acks),
        "second_half_p99_ms": pct(second_half, 99),
        "p50_ms": pct(lat, 50),
        "p99_ms": pct(lat, 99),
        "p999_ms": pct(lat, 99.9),
        "max_ms": max(lat),
        "slow": len(slow),
        "slow_share": len(slow) / len(acks),
        "snapshot_every": every,
        "near_snapshot_share_all": near_all,
        "near_snapshot_share_slow": near_slow,
        "conversations": conversations,
        "stall_buckets_100ms": len(stall_buckets),
        "slow_in_stalls_share": in_stall,
    }
    # the same split for the acks slower than the run's own p99 (what sets the p99)
    p99 = result["p99_ms"]
    tail = [a for a in acks if a[2] - a[1] >= p99]
    result["tail_at_p99"] = len(tail)
    result["tail_near_snapshot_share"] = sum(1 for a in tail if near(a[4])) / len(tail) if tail else 0.0
    result["tail_in_stalls_share"] = sum(1 for a in tail if a[2] // 100 in stall_buckets) / len(tail) if tail else 0.0

    if gc:
        lo, hi = acks[0][1], max(a[2] for a in acks)
        pauses = [p for p in gc_pauses(gc) if lo <= p[0] <= hi]
        big = [p for p in pauses if p[1] >= 5]
        result["pauses"] = len(pauses)
        result["pause_sum_ms"] = round(sum(p[1] for p in pauses), 1)
        result["pause_max_ms"] = round(max((p[1] for p in pauses), default=0), 1)
        result["pauses_ge_5ms"] = len(big)
        starts = sorted(big)

        def overlaps(a):
            return any(a[1] <= s + d and s <= a[2] for s, d, _ in starts)

        result["slow_with_pause_share"] = sum(1 for a in slow if overlaps(a)) / len(slow) if slow else 0.0
        result["tail_with_pause_share"] = sum(1 for a in tail if overlaps(a)) / len(tail) if tail else 0.0
        kinds = defaultdict(float)
        for s, d, k in pauses:
            kinds[k] += d
        result["pause_ms_by_kind"] = {k: round(v, 1) for k, v in sorted(kinds.items(), key=lambda kv: -kv[1])[:5]}
        collections = [e for e in gc_events(gc) if lo <= e[0] <= hi]
        gc_only = [e for e in collections if e[2].startswith("Pause")]
        result["gc_pauses"] = len(gc_only)
        result["gc_pause_max_ms"] = round(max((e[1] for e in gc_only), default=0), 1)
        result["gc_pause_sum_ms"] = round(sum(e[1] for e in gc_only), 1)
        result["allocation_stalls"] = len(collections) - len(gc_only)

    if as_json:
        print(json.dumps(result))
    else:
        for k, v in result.items():
            print(f"{k}: {round(v, 3) if isinstance(v, float) else v}")


if __name__ == "__main__":
    main()
