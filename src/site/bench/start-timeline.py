#!/usr/bin/env python3
"""A run's first seconds, half a second at a time: where a send waited (issue 18, target 3: the hot
conversation's start backlog).

Usage: start-timeline.py OUT/NAME/LABEL RUN [--seconds S] [--step MS]
Reads RUN.acks (the bench's --ack-log), RUN.samples (run-sampler.py, cpu-per-send.sh SAMPLE=1) and
gc.log (GC_LOG=1) when present. Per step of due time from the run's first due send:
  acks       acks due in the step; ack p50 / max: ack - due (what the bench reports);
  late p50/max: sent - due, the bench client's own lateness in putting the send on the wire (its pacer
             on a busy selector loop, or a send held after a refusal);
  node recv/s: send frames the node's sessions took in, per second, in that interval (parley_sends_total);
  node p99 / n: the node's own send->ack (a send frame received -> its ack queued, parley_send_ack_seconds)
             of the sends answered in the sample interval ending in the step, from the histogram's buckets;
  batch      events per journal write on the node in that interval (parley_conversation_write_batch_events);
  refused    sends the node refused busy in that interval;
  node(jit) / client(io,jit) / pg cores: CPU in that interval (node: app+jit+gc, its JIT's share apart; client:
             io loop+jit+gc+other, its selector loops' and its JIT's apart; every postgres process);
  pause ms   the node's safepoint pauses that began in the step.
Then: the step where the acks' p50 falls under 50 ms for good, the whole run's p99 (acks due after
the bench's 3 s warm-up) and the second half's.
"""
import json
import os
import re
import sys
from datetime import datetime

HZ = os.sysconf("SC_CLK_TCK")


def pct(values, p):
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(p / 100.0 * len(values)))]


def hist_p(before, after, p):
    """p-th percentile (ms) and count from two scrapes of parley_send_ack_seconds_bucket."""
    if not before or not after:
        return float("nan"), 0
    buckets = []
    for key, value in after.items():
        m = re.match(r'parley_send_ack_seconds_bucket\{.*le="([^"]+)"', key)
        if m:
            le = float("inf") if m.group(1) == "+Inf" else float(m.group(1))
            buckets.append((le, value - before.get(key, 0.0)))
    buckets.sort()
    if not buckets or buckets[-1][1] <= 0:
        return float("nan"), 0
    total = buckets[-1][1]
    for le, cum in buckets:
        if cum >= p / 100.0 * total:
            return le * 1000, int(total)
    return float("inf"), int(total)


def metric(sample, prefix):
    if not sample:
        return 0.0
    return sum(v for k, v in sample.items() if k.startswith(prefix))


def gc_pauses(path):
    pauses = []
    if not os.path.exists(path):
        return pauses
    rx = re.compile(r"^\[([^\]]+)\]\[\d+ms\].*Safepoint \"([^\"]+)\".*Total: (\d+) ns")
    for line in open(path, errors="replace"):
        m = rx.search(line)
        if m:
            ts = datetime.strptime(m.group(1).replace("+0000", "+00:00"), "%Y-%m-%dT%H:%M:%S.%f%z").timestamp() * 1000
            ms = int(m.group(3)) / 1e6
            pauses.append((ts - ms, ms))
    return pauses


def main():
    build_dir, run = sys.argv[1], sys.argv[2]
    args = sys.argv[3:]
    seconds = float(args[args.index("--seconds") + 1]) if "--seconds" in args else 12
    step = float(args[args.index("--step") + 1]) if "--step" in args else 500
    acks = []
    for line in open(os.path.join(build_dir, run + ".acks")).read().splitlines()[1:]:
        parts = line.split()
        if len(parts) >= 5:
            acks.append((int(parts[1]), int(parts[2]), int(parts[3]), int(parts[4])))
    samples = []
    path = os.path.join(build_dir, run + ".samples")
    if os.path.exists(path):
        samples = [json.loads(l) for l in open(path) if l.strip()]
    pauses = [p for p in gc_pauses(os.path.join(build_dir, "gc.log")) if p[1] >= 1]
    t0 = min(a[0] for a in acks)
    print(f"{run}: {len(acks)} acks, first due {datetime.utcfromtimestamp(t0 / 1000).strftime('%H:%M:%S.%f')[:-3]} UTC")
    print("| due s | acks | ack p50 / max ms | late p50 / max ms | node p99 ms (n) | node recv/s | batch | refused | node(jit) / client(io,jit) / pg cores | pause ms |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    steps = int(seconds * 1000 / step)
    for k in range(steps):
        lo, hi = t0 + k * step, t0 + (k + 1) * step
        inside = [a for a in acks if lo <= a[0] < hi]
        lat = [a[1] - a[0] for a in inside]
        late = [a[2] - a[0] for a in inside]
        # the sample interval ending inside this step (samples every ~500 ms)
        pair = None
        for s0, s1 in zip(samples, samples[1:]):
            if lo <= s1["t"] < hi:
                pair = (s0, s1)
        node = client = pg = "-"
        nodep = "-"
        batch = refused = recv = "-"
        if pair:
            s0, s1 = pair
            dt = (s1["t"] - s0["t"]) / 1000.0
            p99, n = hist_p(s0.get("metrics"), s1.get("metrics"), 99)
            nodep = f"{p99:.0f} ({n})"
            recv = f"{(metric(s1.get('metrics'), 'parley_sends_total') - metric(s0.get('metrics'), 'parley_sends_total')) / dt:.0f}"
            rows = metric(s1.get("metrics"), "parley_conversation_write_batch_events_sum") - metric(s0.get("metrics"), "parley_conversation_write_batch_events_sum")
            writes = metric(s1.get("metrics"), "parley_conversation_write_batch_events_count") - metric(s0.get("metrics"), "parley_conversation_write_batch_events_count")
            batch = f"{rows / writes:.1f}" if writes > 0 else "0"
            refused = f"{metric(s1.get('metrics'), 'parley_conversation_sends_refused_busy_total') - metric(s0.get('metrics'), 'parley_conversation_sends_refused_busy_total'):.0f}"
            def cores(a, b, keys):
                if not a or not b:
                    return float("nan")
                return sum(b.get(x, 0) - a.get(x, 0) for x in keys) / HZ / dt
            nodec = cores(s0["node"], s1["node"], ["app", "jit", "gc"])
            clientc = cores(s0.get("bench"), s1.get("bench"), ["io", "jit", "gc", "other"]) if s0.get("bench") and s1.get("bench") and s0["bench"].get("pid") == s1["bench"].get("pid") else float("nan")
            io = cores(s0.get("bench"), s1.get("bench"), ["io"]) if clientc == clientc else float("nan")
            cjit = cores(s0.get("bench"), s1.get("bench"), ["jit"]) if clientc == clientc else float("nan")
            node = f"{nodec:.2f} ({cores(s0['node'], s1['node'], ['jit']):.2f})"
            client = f"{clientc:.2f} ({io:.2f},{cjit:.2f})"
            pg = f"{(s1['pg'] - s0['pg']) / HZ / dt:.2f}"
        paused = sum(ms for start, ms in pauses if lo <= start < hi)
        print(f"| {k * step / 1000:.1f} | {len(inside)} | {pct(lat, 50):.0f} / {max(lat) if lat else 0:.0f} | {pct(late, 50):.0f} / {max(late) if late else 0:.0f}"
              f" | {nodep} | {recv} | {batch} | {refused} | {node} / {client} / {pg} | {paused:.0f} |")
    # when the start backlog ended: the first step after which every step's p50 stays under 50 ms
    end_step = None
    last = int((max(a[0] for a in acks) - t0) // step)
    p50s = []
    for k in range(last + 1):
        lat = [a[1] - a[0] for a in acks if t0 + k * step <= a[0] < t0 + (k + 1) * step]
        p50s.append(pct(lat, 50) if lat else 0)
    for k in range(len(p50s)):
        if all(v < 50 for v in p50s[k:]):
            end_step = k
            break
    measured = [a for a in acks if a[0] >= t0 + 3000]
    mid = t0 + 3000 + (max(a[0] for a in acks) - t0 - 3000) / 2
    second = [a[1] - a[0] for a in measured if a[0] >= mid]
    print(f"backlog over (p50 < 50 ms from then on) at {end_step * step / 1000 if end_step is not None else float('nan'):.1f} s;"
          f" whole-run p99 {pct([a[1] - a[0] for a in measured], 99):.0f} ms, second-half p99 {pct(second, 99):.0f} ms,"
          f" max late (sent - due) {max(a[2] - a[0] for a in acks)} ms")


if __name__ == "__main__":
    main()
