#!/usr/bin/env python3
"""Summarises one rolling-restart.sh run: before / during / after.

usage: rolling-summary.py OUT_DIR MODE RESTART_RC BENCH_RC   (writes OUT_DIR/summary.json, prints text)

Sources: OUT_DIR/bench.json (the bench's per-phase totals and per-second timeline, phases marked by
the script through --phase-file) and OUT_DIR/samples.jsonl (one line a second: pg_stat_database
transactions of the run's database, pg_stat_activity, each node's GET /parley/status) and
OUT_DIR/cpu.jsonl (cpu-sampler.py: the machine's CPU, the JVMs' CPU by JIT, GC and application).
"""
import os
import json
import statistics
import sys

out, mode, restart_rc, bench_rc = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
PHASES = ["before", "during", "after"]
LIMIT = {"on": "200/s, burst 400", "off": "none (0 = off)"}[mode]

bench = json.load(open(f"{out}/bench.json"))
samples = [json.loads(l) for l in open(f"{out}/samples.jsonl") if l.strip()]

# Per-second rates from consecutive samples, attributed to the phase of the later sample.
reads = {p: [] for p in PHASES}
new_conn = {p: {n: [] for n in range(3)} for p in PHASES}
rejected = {p: [0, 0, 0] for p in PHASES}
resume_rej = {p: [0, 0, 0] for p in PHASES}
conns_end = {}


def counter(node, kind, field):
    return node["admission"][kind][field] if node else None


def delta(prev, cur):
    """Increment of a node counter; a restarted node starts again from 0."""
    if cur is None:
        return 0
    if prev is None or cur < prev:
        return cur
    return cur - prev


# Pairs of samples at least 0.9 s apart (the sampler catches up after a slow second with samples a
# fraction of a second apart, whose per-second rates would be noise).
pairs, anchor = [], samples[0] if samples else None
for cur in samples[1:]:
    if cur["ts"] - anchor["ts"] >= 0.9:
        pairs.append((anchor, cur))
        anchor = cur
rec_peak = {p: {n: 0 for n in range(3)} for p in PHASES}
overflows = {p: 0 for p in PHASES}
for prev, cur in pairs:
    p = cur["phase"]
    if p not in PHASES:
        continue
    dt = cur["ts"] - prev["ts"]
    if prev.get("listenOverflows") is not None and cur.get("listenOverflows") is not None:
        overflows[p] += max(0, cur["listenOverflows"] - prev["listenOverflows"])
    if cur["recoveryReads"] is not None:
        reads[p].append(cur["recoveryReads"])
    for n in range(3):
        a, b = prev["nodes"][n], cur["nodes"][n]
        # A node seen for the first time after a restart: its counter covers the seconds it was unseen.
        new_conn[p][n].append(delta(counter(a, "connections", "admitted"), counter(b, "connections", "admitted")) / dt)
        rejected[p][n] += delta(counter(a, "connections", "rejected"), counter(b, "connections", "rejected"))
        resume_rej[p][n] += delta(counter(a, "resumes", "rejected"), counter(b, "resumes", "rejected"))
    conns_end[p] = [nd["connections"] if nd else None for nd in cur["nodes"]]
    # recoveriesPeak is reset by each read of /parley/status: the peak since the previous sample.
    for n in range(3):
        nd = cur["nodes"][n]
        if nd and nd.get("recoveriesPeak") is not None:
            rec_peak[p][n] = max(rec_peak[p][n], nd["recoveriesPeak"])



def db_rates(field):
    """Per-second rates of a database counter (xacts or statements) by phase, 1 s and 5 s windows.

    Timed by each sample's dbTs (when the database was read; older samples have only ts, taken after
    the nodes' status polls), over intervals of at least 0.9 s (the sampler catches up after a slow
    second). The 5 s rate averages 5 consecutive intervals: PostgreSQL publishes a backend's
    transaction counters about once a second, so 1 s rates of xacts jitter even at a constant load.
    """
    rows = [(s.get("dbTs", s["ts"]), s["phase"], s.get(field)) for s in samples]
    rows = [r for r in rows if r[2] is not None and r[2] >= 0]
    series, one, five = [], {p: [] for p in PHASES}, {p: [] for p in PHASES}
    anchor = rows[0] if rows else None
    for cur in rows[1:]:
        if cur[0] - anchor[0] >= 0.9 and cur[2] >= anchor[2]:
            if cur[1] in PHASES:
                one[cur[1]].append((cur[2] - anchor[2]) / (cur[0] - anchor[0]))
                series.append((cur[1], anchor[0], cur[0], cur[2] - anchor[2]))
            anchor = cur
    for i in range(len(series) - 4):
        window = series[i:i + 5]
        five[window[-1][0]].append(sum(w[3] for w in window) / (window[-1][2] - window[0][1]))
    return one, five


tx, tx5 = db_rates("xacts")
st, st5 = db_rates("statements")

# CPU: the machine's busy share (of all cores) per second, and the nodes' CPU-seconds by kind of
# thread, each second attributed to the phase the other sampler saw last.
cpu_busy = {p: [] for p in PHASES}
cpu_kind = {p: {"app": 0.0, "jit": 0.0, "gc": 0.0} for p in PHASES}
cpu_other = {p: {"bench": 0.0, "postgres": 0.0} for p in PHASES}
if os.path.exists(f"{out}/cpu.jsonl"):
    cpu = [json.loads(l) for l in open(f"{out}/cpu.jsonl") if l.strip()]
    phase_at, i = [], 0
    for prev, cur in zip(cpu, cpu[1:]):
        while i + 1 < len(samples) and samples[i + 1]["ts"] <= cur["ts"]:
            i += 1
        p = samples[i]["phase"] if samples and samples[i]["ts"] <= cur["ts"] else ""
        if p not in PHASES:
            continue
        total = (cur["busy"] - prev["busy"]) + (cur["idle"] - prev["idle"])
        if total > 0:
            cpu_busy[p].append((cur["busy"] - prev["busy"]) / total)
        for process, ticks in cur["processes"].items():
            before = prev["processes"].get(process)
            if not before:
                continue
            if process.startswith("node"):
                for k in cpu_kind[p]:
                    cpu_kind[p][k] += max(0, ticks[k] - before[k]) / 100.0
            else:
                cpu_other[p][process.split("/")[0]] += sum(max(0, ticks[k] - before[k]) for k in ticks) / 100.0

steady = statistics.median(tx["before"]) if tx["before"] else None
steady5 = statistics.median(tx5["before"]) if tx5["before"] else None
st_steady = statistics.median(st["before"]) if st["before"] else None
st_steady5 = statistics.median(st5["before"]) if st5["before"] else None
phases = bench.get("phases", {})
corr = bench["correctness"]
summary = {"mode": mode, "rollout": os.environ.get("ROLLOUT", "restart"), "restartExit": restart_rc, "benchExit": bench_rc, "steadyTxPerSecondMedian": steady,
           "connectionLimitPerNode": LIMIT,
           "wholeRun": {"acked": corr["ackedMessages"], "lost": corr["lostMessages"],
                        "missingDeliveries": corr["missingDeliveries"], "duplicates": corr["duplicateDeliveries"],
                        "gapSeqs": corr["gapSeqs"], "duplicatePosts": corr["duplicatePosts"],
                        "unrecoveredResumes": corr["unrecoveredResumes"], "reconnects": bench["reconnects"],
                        "handovers": bench.get("handovers", 0),
                        "resentSends": bench["resentSends"], "retriedSends": bench["retriedSends"],
                        "errorsByCode": bench["errorsByCode"], "sendToAck": bench["sendToAck"]},
           "phases": {}}
for p in PHASES:
    b = phases.get(p)
    peak_tx = max(tx[p]) if tx[p] else None
    summary["phases"][p] = {
        "seconds": b["seconds"] if b else 0,
        "acked": b["acked"] if b else None,
        "duplicates": b["duplicateDeliveries"] if b else None,
        "gapSeqs": b["gapSeqs"] if b else None,
        "duplicatePosts": b["duplicatePosts"] if b else None,
        "reconnects": b["reconnects"] if b else None,
        "errors": b["errors"] if b else None,
        "sendToAckP50": b["sendToAck"]["p50"] if b else None,
        "sendToAckP99": b["sendToAck"]["p99"] if b else None,
        "sendToAckMax": b["sendToAck"]["max"] if b else None,
        "txPerSecondMedian": statistics.median(tx[p]) if tx[p] else None,
        "txPerSecondPeak": peak_tx,
        "txPeakOverSteady": (peak_tx / steady) if peak_tx is not None and steady else None,
        "tx5sPeak": max(tx5[p]) if tx5[p] else None,
        "tx5sPeakOverSteady": (max(tx5[p]) / steady5) if tx5[p] and steady5 else None,
        "statementsPerSecondMedian": statistics.median(st[p]) if st[p] else None,
        "statementsPerSecondPeak": max(st[p]) if st[p] else None,
        "statementsPeakOverSteady": (max(st[p]) / st_steady) if st[p] and st_steady else None,
        "statements5sPeakOverSteady": (max(st5[p]) / st_steady5) if st5[p] and st_steady5 else None,
        "newConnectionsPerSecondPeak": [round(max(v), 1) if v else None for v in new_conn[p].values()],
        "connectionsRejected": rejected[p],
        "resumesRejected": resume_rej[p],
        "recoveryShapedReadsPeak": max(reads[p]) if reads[p] else None,
        "concurrentRecoveriesPeakPerNode": [rec_peak[p][n] for n in range(3)],
        "connectionsAtEnd": conns_end.get(p),
        "listenQueueOverflows": overflows[p],
        "machineBusyMedian": statistics.median(cpu_busy[p]) if cpu_busy[p] else None,
        "machineBusySecondsOver95": sum(1 for b in cpu_busy[p] if b > 0.95),
        "nodesCpuSeconds": {k: round(v, 1) for k, v in cpu_kind[p].items()},
        "benchCpuSeconds": round(cpu_other[p]["bench"], 1),
        "postgresCpuSeconds": round(cpu_other[p]["postgres"], 1),
    }
json.dump(summary, open(f"{out}/summary.json", "w"), indent=2)

w = summary["wholeRun"]
print(f"rolling {os.environ.get('ROLLOUT', 'restart')}, herd controls {mode.upper()}: restart exit {restart_rc}, bench exit {bench_rc}")
print(f"whole run: acked {w['acked']}, lost {w['lost']} (missing deliveries {w['missingDeliveries']}), duplicates {w['duplicates']}, "
      f"gap seqs {w['gapSeqs']}, duplicate posts {w['duplicatePosts']}, unrecovered resumes {w['unrecoveredResumes']}, "
      f"reconnects {w['reconnects']} (handovers {w['handovers']}), resent {w['resentSends']}, retried {w['retriedSends']}, errors {w['errorsByCode']}")
print(f"steady DB transactions/s (median of 'before'): {steady if steady is None else round(steady)}; connection limit per node: {LIMIT}")
for p in PHASES:
    s = summary["phases"][p]
    fmt = lambda v, d=1: "-" if v is None else (f"{v:.{d}f}" if isinstance(v, float) else str(v))
    print(f"{p:7s} {s['seconds']:4d}s  acked {s['acked']}  dup {s['duplicates']}  gaps {s['gapSeqs']}  dup-posts {s['duplicatePosts']}  "
          f"send->ack p50/p99/max {fmt(s['sendToAckP50'])}/{fmt(s['sendToAckP99'])}/{fmt(s['sendToAckMax'])} ms  "
          f"tx/s median {fmt(s['txPerSecondMedian'], 0)} peak 1s {fmt(s['txPerSecondPeak'], 0)} (x{fmt(s['txPeakOverSteady'], 2)}) "
          f"5s {fmt(s['tx5sPeak'], 0)} (x{fmt(s['tx5sPeakOverSteady'], 2)})  "
          f"statements/s median {fmt(s['statementsPerSecondMedian'], 0)} peak 1s {fmt(s['statementsPerSecondPeak'], 0)} "
          f"(x{fmt(s['statementsPeakOverSteady'], 2)}) 5s x{fmt(s['statements5sPeakOverSteady'], 2)}  "
          f"new conn/s peak per node {s['newConnectionsPerSecondPeak']}  rejected {s['connectionsRejected']}  "
          f"resumes rejected {s['resumesRejected']}  recovery-shaped reads peak {s['recoveryShapedReadsPeak']}  "
          f"concurrent recoveries peak per node {s['concurrentRecoveriesPeakPerNode']}  "
          f"reconnects {s['reconnects']}  errors {s['errors']}  connections at end {s['connectionsAtEnd']}  "
          f"listen queue overflows {s['listenQueueOverflows']}  "
          f"machine busy median {fmt(None if s['machineBusyMedian'] is None else 100 * s['machineBusyMedian'], 0)}% "
          f"(seconds over 95%: {s['machineBusySecondsOver95']})  nodes' CPU s app/jit/gc "
          f"{s['nodesCpuSeconds']['app']}/{s['nodesCpuSeconds']['jit']}/{s['nodesCpuSeconds']['gc']}  "
          f"bench CPU s {s['benchCpuSeconds']}  PostgreSQL CPU s {s['postgresCpuSeconds']}")
