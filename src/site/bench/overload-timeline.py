#!/usr/bin/env python3
"""A run's node, second by second, from run-sampler.py's samples (cpu-per-send.sh or overload-cold.sh
with SAMPLE=1): where an overloaded node's sends went (issue 18, target 8).

Usage: overload-timeline.py RUN.samples [STEP]   (STEP: samples per line, 2 = one second)
Per line: send frames the node's sessions took in per second (parley_sends_total), sends it acknowledged
(parley_send_ack_seconds count), sends refused busy at admission, the node's own
send->ack p50 / p99 (frame handled -> ack queued, from the histogram's buckets; a frame's wait in the
connection's read-ahead before that is not in it), the CPU of the node, the bench client and
PostgreSQL in cores, the machine's busy share, and events per journal write.
Why: the bench's send->ack includes the time a frame waits before the node reads it; this says
whether the node took the frames in as fast as they came, or left them in its connections' buffers.
"""
import json
import os
import sys

HZ = os.sysconf("SC_CLK_TCK")


def buckets(metrics):
    out = []
    for key, value in metrics.items():
        if key.startswith("parley_send_ack_seconds_bucket"):
            le = key.split('le="')[1].rstrip('"}')
            out.append((float("inf") if le == "+Inf" else float(le), value))
    return sorted(out)


def quantile(before, after, q):
    b0 = dict(buckets(before))
    b1 = buckets(after)
    if not b1:
        return None
    total = b1[-1][1] - b0.get(b1[-1][0], 0)
    if total <= 0:
        return None
    for le, value in b1:
        if value - b0.get(le, 0) >= q * total:
            return le
    return None


def cpu(sample, who):
    part = sample.get(who)
    if not part:
        return None
    return sum(v for k, v in part.items() if k != "pid")


def main():
    rows = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
    rows = [r for r in rows if r.get("metrics")]
    step = int(sys.argv[2]) if len(sys.argv) > 2 else 2
    print("| t s | received/s | acked/s | refused busy/s | node p50 / p99 ms | node cores | client cores | PostgreSQL cores | machine busy | events per write |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    t0 = rows[0]["t"] if rows else 0
    for a, b in zip(rows[::step], rows[step::step]):
        dt = (b["t"] - a["t"]) / 1000
        ma, mb = a["metrics"], b["metrics"]

        def rate(key):
            return (mb.get(key, 0.0) - ma.get(key, 0.0)) / dt

        node = sum(b["node"][k] - a["node"][k] for k in ("app", "gc", "jit")) / HZ / dt
        ca, cb = cpu(a, "bench"), cpu(b, "bench")
        client = (cb - ca) / HZ / dt if ca is not None and cb is not None and cb >= ca else float("nan")
        pg = (b["pg"] - a["pg"]) / HZ / dt
        busy = (b["busy"] - a["busy"]) / max(1, (b["busy"] - a["busy"]) + (b["idle"] - a["idle"]))
        events = mb.get("parley_conversation_write_batch_events_sum", 0) - ma.get("parley_conversation_write_batch_events_sum", 0)
        writes = mb.get("parley_conversation_write_batch_events_count", 0) - ma.get("parley_conversation_write_batch_events_count", 0)
        p50, p99 = quantile(ma, mb, 0.5), quantile(ma, mb, 0.99)
        print(
            f"| {(a['t'] - t0) / 1000:.0f} | {rate('parley_sends_total'):.0f} | {rate('parley_send_ack_seconds_count'):.0f} "
            f"| {rate('parley_conversation_sends_refused_busy_total'):.0f} "
            f"| {(p50 or 0) * 1000:.0f} / {(p99 or 0) * 1000:.0f} | {node:.2f} | {client:.2f} | {pg:.2f} | {busy:.2f} "
            f"| {events / writes if writes else 0:.1f} |"
        )


if __name__ == "__main__":
    main()
