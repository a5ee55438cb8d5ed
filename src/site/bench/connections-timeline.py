#!/usr/bin/env python3
"""Connections per node over a rolling-restart.sh run (issue 20), from its samples.jsonl.

    python3 src/site/bench/connections-timeline.py OUT_DIR [STEP_SECONDS]

Prints one row every STEP_SECONDS (default 15) from the start of the 'during' phase: the phase,
each node's open connections ('-' when it does not answer), and each node's new connections per
second over the step (its admitted-connection counter). Then, for the 'after' phase (the restart or
scale step is over): how long until every running node holds within 15 % of the mean and stays
there, the counts at 2 minutes, and the highest new connections per second any node took in one
second (the admission rate is 200/s). Also written to OUT_DIR/connections-timeline.json.
"""
import json
import sys

out = sys.argv[1]
step = float(sys.argv[2]) if len(sys.argv) > 2 else 15.0
samples = [json.loads(line) for line in open(f"{out}/samples.jsonl") if line.strip()]
nodes = max(len(s["nodes"]) for s in samples)


def connections(sample):
    return [n["connections"] if isinstance(n, dict) else None for n in sample["nodes"]] + [None] * (nodes - len(sample["nodes"]))


def admitted(sample):
    return [n["admission"]["connections"]["admitted"] if isinstance(n, dict) else None for n in sample["nodes"]] + [None] * (
        nodes - len(sample["nodes"]))


def within(counts, bound=0.15):
    live = [c for c in counts if c is not None]
    if len(live) < 2:
        return False
    mean = sum(live) / len(live)
    return all(abs(c - mean) <= bound * mean for c in live)


start = next((s["ts"] for s in samples if s["phase"] == "during"), samples[0]["ts"])
after = next((s["ts"] for s in samples if s["phase"] == "after"), None)

# New connections per second per node, sample to sample (a restarted node's counter starts again at 0).
rates = []
for prev, cur in zip(samples, samples[1:]):
    dt = cur["ts"] - prev["ts"]
    row = []
    for a, b in zip(admitted(prev), admitted(cur)):
        row.append(None if a is None or b is None or b < a or dt <= 0 else (b - a) / dt)
    rates.append((cur, row))

print(f"connections per node (node1..node{nodes}), every {step:.0f} s from the start of the restart/scale step")
print(f"{'t (s)':>6}  {'phase':<8} {'connections':<28} new connections/s over the step")
rows = []
next_t = 0.0
window = []
for cur, row in rates:
    t = cur["ts"] - start
    window.append(row)
    if t < next_t:
        continue
    per_node = []
    for i in range(nodes):
        values = [r[i] for r in window if r[i] is not None]
        per_node.append(round(sum(values) / len(values)) if values else None)
    window = []
    counts = connections(cur)
    rows.append({"t": round(t), "phase": cur["phase"], "connections": counts, "newPerSecond": per_node})
    print(f"{t:6.0f}  {cur['phase']:<8} {' '.join('-' if c is None else str(c) for c in counts):<28} "
          f"{' '.join('-' if r is None else str(r) for r in per_node)}")
    next_t += step

result = {"rows": rows}
if after is not None:
    # The 'after' phase only: in 'end' the bench is closing its connections (every node at 0).
    after_samples = [s for s in samples if s["ts"] >= after and s["phase"] == "after"]
    balanced_since = None
    for s in after_samples:
        if within(connections(s)):
            balanced_since = balanced_since if balanced_since is not None else s["ts"]
        else:
            balanced_since = None
    at_two_minutes = next((s for s in after_samples if s["ts"] - after >= 120), after_samples[-1] if after_samples else None)
    peak = max((r for cur, row in rates if cur["ts"] >= after for r in row if r is not None), default=None)
    result.update(
        {
            "balancedWithin15PercentAfterSeconds": None if balanced_since is None else round(balanced_since - after),
            "connectionsAtTwoMinutes": None if at_two_minutes is None else connections(at_two_minutes),
            "twoMinutesAfterSeconds": None if at_two_minutes is None else round(at_two_minutes["ts"] - after),
            "newConnectionsPerSecondPeakAfter": None if peak is None else round(peak),
            "connectionsAtEnd": connections(after_samples[-1]) if after_samples else None,
        }
    )
    print(
        f"after the step: within ±15 % of the mean (and staying) from "
        f"{'never' if balanced_since is None else f'{balanced_since - after:.0f} s'}; "
        f"at {result['twoMinutesAfterSeconds']} s: {result['connectionsAtTwoMinutes']}; at the end: {result['connectionsAtEnd']}; "
        f"highest new connections/s on a node in 1 s: {result['newConnectionsPerSecondPeakAfter']} (admission 200/s)"
    )
json.dump(result, open(f"{out}/connections-timeline.json", "w"), indent=1)
