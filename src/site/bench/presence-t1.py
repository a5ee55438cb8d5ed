#!/usr/bin/env python3
"""Issue 21, target 1: the summary of presence.sh's target-1 phases (off-N without churn, on-N with
T1_CHURN, low-N with T1_LOW_CHURN when the run had it).

Usage: presence-t1.py OUT_DIR

Sources (all written by presence.sh):
  t1-sends.json   the sends bench's per-phase totals (phase file labels off-N / on-N): send -> ack
                  percentiles (the phase of a latency is the second its ack arrived in), acked sends
  t1-cpu.txt      per phase start and end: epoch ms, CPU ticks of the three nodes, the sends bench,
                  the presence bench and PostgreSQL, the machine's idle and total jiffies (/proc/stat)
  t1-events.txt   the presence bench's churn events (E epochMs user status) and what the watchers saw
                  (S changeEpochMs seenEpochMs user status watcher); t1-events-low.txt the same of
                  the second presence bench (low-N phases)
  t1-settings.txt CLK_TCK and the run's settings

Per phase: acked sends/s, send -> ack p50/p99/max, CPU (cores) of each process group, machine busy
share, node CPU per acked send; for on-N also churn events/s and change -> watcher p50/p99/max, where
a change no watcher ever saw counts as infinitely late (so p99 cannot hide lost changes); and the
node CPU the churn added per churn event (on-N minus off-N, per second, times the phase, divided by
the events). Then medians over the pairs and the target's ratio p99(on) / p99(off) per pair.

When is a change "seen" (two measures, both printed; 2026-12-04 evening):
  as itself (the measure until then): a watcher received a presence frame with this user in this
      status whose change time is this change's; anything else is "never".
  as state (the target's measure since): presence is state, and the issue asks for batched,
      coalesced changes: a watcher that is sent user U's newest state has been told everything it
      needs about U's older changes. So a change not seen as itself counts as delivered when the
      watcher first saw any LATER change of the same user (from this presence bench), at that
      moment: delay = seen(later change) - time(this change), which is compared with the 2 s bound
      like any other delay. A change none of whose later states (its own included) the watcher ever
      saw is still "never". A change can only be carried by a later one: seeing an older state
      delivers nothing newer.
"""
import json
import math
import statistics
import sys
from pathlib import Path

out = Path(sys.argv[1])
settings = dict(kv.split("=", 1) for kv in (out / "t1-settings.txt").read_text().split())
tck = float(settings["CLK_TCK"])

samples = {}
for line in (out / "t1-cpu.txt").read_text().splitlines():
    label, epoch, node, sends, presence, pg, idle, total = line.split()
    samples[label] = dict(epoch=int(epoch), node=int(node), sends=int(sends), presence=int(presence), pg=int(pg),
                          idle=int(idle), total=int(total))

bench = json.loads((out / "t1-sends.json").read_text())
phases = bench.get("phases", {})

def read_events(path):
    changes = []  # (epoch, user, status)
    seen = {}  # (user, status, changeEpoch) -> earliest seen epoch
    if not path.exists():
        return changes, seen
    for line in path.read_text().splitlines():
        parts = line.split()
        if not parts or parts[0] == "#":
            continue
        if parts[0] == "E" and len(parts) == 4:
            changes.append((int(parts[1]), parts[2], parts[3]))
        elif parts[0] == "S" and len(parts) == 6:
            key = (parts[3], parts[4], int(parts[1]))
            at = int(parts[2])
            if key not in seen or at < seen[key]:
                seen[key] = at
    return changes, seen


events = {"on": read_events(out / "t1-events.txt"), "low": read_events(out / "t1-events-low.txt")}
# anc-N (presence.sh T1_ANCHORED): connects and disconnects that change no presence: churn events
# and CPU per churn event only (its watchers have nothing to see).
anchored = read_events(out / "t1-events-anc.txt")[0]


def state_seen(changes, seen):
    """(epoch, user, status) -> when the watcher first saw this change or any later one of its user
    (the "as state" measure, see the header); changes never delivered either way are left out."""
    by_user = {}
    for c in sorted(changes):
        by_user.setdefault(c[1], []).append(c)
    delivered = {}
    for user, history in by_user.items():
        earliest = math.inf  # the earliest sighting of this change or a later one, walking back in time
        for t, u, s in reversed(history):
            at = seen.get((u, s, t))
            if at is not None and at < earliest:
                earliest = at
            if earliest < math.inf:
                delivered[(t, u, s)] = earliest
    return delivered


state = {variant: state_seen(*pair) for variant, pair in events.items()}


def pct(sorted_values, p):
    if not sorted_values:
        return float("nan")
    i = max(0, min(len(sorted_values) - 1, math.ceil(p / 100.0 * len(sorted_values)) - 1))
    return sorted_values[i]


rows = {}
ORDER = {"off": 0, "on": 1, "low": 2, "anc": 3}
names = sorted({k[:-4] for k in samples if k.endswith("-end")}, key=lambda n: (int(n.split("-")[1]), ORDER[n.split("-")[0]]))
for name in names:
    a, b = samples[name], samples[name + "-end"]
    seconds = (b["epoch"] - a["epoch"]) / 1000.0
    ph = phases.get(name) or {}
    ack = ph.get("sendToAck") or {}
    acked = ph.get("acked", 0)
    row = dict(
        seconds=seconds,
        ackedPerS=acked / max(ph.get("seconds", 0), 1),
        ackP50=ack.get("p50"), ackP99=ack.get("p99"), ackMax=ack.get("max"),
        nodeCores=(b["node"] - a["node"]) / tck / seconds,
        sendsBenchCores=(b["sends"] - a["sends"]) / tck / seconds,
        presenceBenchCores=(b["presence"] - a["presence"]) / tck / seconds,
        pgCores=(b["pg"] - a["pg"]) / tck / seconds,
        machineBusy=1 - (b["idle"] - a["idle"]) / max(b["total"] - a["total"], 1),
        nodeMsPerAck=(b["node"] - a["node"]) / tck * 1000 / acked if acked else float("nan"),
        nodeCpuS=(b["node"] - a["node"]) / tck,
    )
    variant = name.split("-")[0]
    if variant in events:
        changes, seen = events[variant]
        inside = [c for c in changes if a["epoch"] <= c[0] < b["epoch"]]
        delays = sorted(seen[(u, s, t)] - t if (u, s, t) in seen else math.inf for t, u, s in inside)
        delivered = state[variant]
        by_state = sorted(delivered[c] - c[0] if c in delivered else math.inf for c in inside)
        row.update(
            churnPerS=len(inside) / seconds,
            churnEvents=len(inside),
            unseen=sum(1 for d in delays if d == math.inf),
            within2s=sum(1 for d in delays if d <= 2000) / max(len(delays), 1),
            changeP50=pct(delays, 50), changeP99=pct(delays, 99), changeMax=pct(delays, 100),
            # the target's measure: delivered as itself or through a later state of its user
            superseded=sum(1 for c in inside if (c[1], c[2], c[0]) not in seen and c in delivered),
            stateUnseen=sum(1 for d in by_state if d == math.inf),
            stateWithin2s=sum(1 for d in by_state if d <= 2000) / max(len(by_state), 1),
            stateP50=pct(by_state, 50), stateP99=pct(by_state, 99), stateMax=pct(by_state, 100),
        )
    if variant == "anc":
        inside = [c for c in anchored if a["epoch"] <= c[0] < b["epoch"]]
        row.update(churnPerS=len(inside) / seconds, churnEvents=len(inside))
    rows[name] = row

for name in names:
    off = rows.get("off-" + name.split("-")[1])
    r = rows[name]
    if name.split("-")[0] in ("on", "low", "anc") and off:
        extra = r["nodeCpuS"] - off["nodeCpuS"] * r["seconds"] / off["seconds"]
        r["nodeMsPerChurnEvent"] = extra * 1000 / r["churnEvents"] if r["churnEvents"] else float("nan")
        r["ackP99Ratio"] = r["ackP99"] / off["ackP99"] if off["ackP99"] else float("nan")


def f(v, digits=1):
    if v is None:
        return "-"
    if isinstance(v, float) and math.isinf(v):
        return "never"
    return f"{v:,.{digits}f}"


print(f"target 1: {settings['T1_CONNECTIONS']} connections at {settings['T1_RATE']} sends/s; churn {settings['T1_CHURN']}/s "
      f"(low-N: {settings.get('T1_LOW_CHURN', '0')}/s) "
      f"in {settings['T1_WATCHERS']} rooms of {int(settings['T1_CHURN_MEMBERS']) // int(settings['T1_WATCHERS'])} members; "
      f"phases of {settings['T1_PHASE']} s")
print("| phase | acked/s | send->ack p50 / p99 / max ms | churn/s | change->watcher as state: p50 / p99 / max ms (never; superseded) | within 2 s "
      "| as itself: p50 / p99 / max ms (never) | within 2 s "
      "| cores: nodes / sends bench / presence bench / PostgreSQL | machine busy | node ms per acked send | node ms per churn event |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|")
for name in names:
    r = rows[name]
    churn = "-" if "churnPerS" not in r else f(r["churnPerS"], 0)
    change = "-" if "changeP99" not in r else f"{f(r['changeP50'], 0)} / {f(r['changeP99'], 0)} / {f(r['changeMax'], 0)} ({r['unseen']})"
    within = "-" if "within2s" not in r else f"{100 * r['within2s']:.2f} %"
    by_state = "-" if "stateP99" not in r else f"{f(r['stateP50'], 0)} / {f(r['stateP99'], 0)} / {f(r['stateMax'], 0)} ({r['stateUnseen']}; {r['superseded']})"
    state_within = "-" if "stateWithin2s" not in r else f"{100 * r['stateWithin2s']:.2f} %"
    print(f"| {name} | {f(r['ackedPerS'], 0)} | {f(r['ackP50'])} / {f(r['ackP99'])} / {f(r['ackMax'])} | {churn} | {by_state} | {state_within} | {change} | {within} "
          f"| {f(r['nodeCores'], 2)} / {f(r['sendsBenchCores'], 2)} / {f(r['presenceBenchCores'], 2)} / {f(r['pgCores'], 2)} "
          f"| {100 * r['machineBusy']:.0f} % | {f(r['nodeMsPerAck'], 2)} | {f(r.get('nodeMsPerChurnEvent'), 2)} |")


def med(prefix, key):
    values = [rows[n][key] for n in names if n.startswith(prefix) and rows[n].get(key) is not None]
    return statistics.median(values) if values else None


print()
for variant in [v for v in ("on", "low", "anc") if any(n.startswith(v + "-") for n in names)]:
    p = variant + "-"
    pairs = [n for n in names if n.startswith(p)]
    churn = {"on": settings["T1_CHURN"], "low": settings.get("T1_LOW_CHURN"), "anc": settings.get("T1_ANCHORED")}[variant]
    print(f"{variant} (churn {churn}/s{', anchored: no presence change' if variant == 'anc' else ''}), medians over {len(pairs)} pairs:")
    print(f"  send->ack p99: off {f(med('off-', 'ackP99'))} ms, {variant} {f(med(p, 'ackP99'))} ms; "
          f"ratio {variant}/off per pair {[round(rows[n]['ackP99Ratio'], 2) for n in pairs if 'ackP99Ratio' in rows[n]]}, "
          f"median {f(med(p, 'ackP99Ratio'), 2)} (target <= 1.2)")
    if variant == "anc":
        print(f"  node CPU: {f(med(p, 'nodeMsPerChurnEvent'), 2)} ms per churn event (anc minus off: the connect path without presence); "
              f"machine busy {100 * med(p, 'machineBusy'):.0f} %")
        continue
    print(f"  change -> watcher, as state (the target's measure): p50 {f(med(p, 'stateP50'), 0)} ms, p99 {f(med(p, 'stateP99'), 0)} ms "
          f"(target p99 <= 2000 ms; per pair {[f(rows[n]['stateP99'], 0) for n in pairs]}), "
          f"never {sum(rows[n].get('stateUnseen', 0) for n in pairs)} and superseded {sum(rows[n].get('superseded', 0) for n in pairs)} "
          f"of {sum(rows[n].get('churnEvents', 0) for n in pairs)} changes")
    print(f"  change -> watcher, as itself (the measure before 2026-12-04 evening): p50 {f(med(p, 'changeP50'), 0)} ms, "
          f"p99 {f(med(p, 'changeP99'), 0)} ms (per pair {[f(rows[n]['changeP99'], 0) for n in pairs]}), "
          f"never {sum(rows[n].get('unseen', 0) for n in pairs)} of {sum(rows[n].get('churnEvents', 0) for n in pairs)} changes")
    print(f"  node CPU: {f(med('off-', 'nodeMsPerAck'), 2)} ms per acked send without churn, {f(med(p, 'nodeMsPerAck'), 2)} with; "
          f"{f(med(p, 'nodeMsPerChurnEvent'), 2)} ms per churn event ({variant} minus off); "
          f"machine busy {100 * med('off-', 'machineBusy'):.0f} % / {100 * med(p, 'machineBusy'):.0f} %")
