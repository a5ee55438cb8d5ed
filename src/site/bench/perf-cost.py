#!/usr/bin/env python3
"""Where a warm node's CPU per acked send goes, in ms per send by area (issue 18, target 2): a perf
recording of the node (steady-perf.sh) split by thread group and, inside the actor threads, by what
the sample was running; scaled by the node's CPU per acked send of the same run (thread-split.py's
table of that run, steady.split.md), so every row is in ms per acked send and the rows add up to the
node's figure.

Usage: perf-cost.py PERF.DATA SPLIT.md [SPLIT-AFTER.json]
Thread groups by name: the full Java name from the run's thread-split.py snapshot taken with --names
(steady.split-after) where given, by thread id, else perf's 15-character comm (which cannot tell the
journal's writers, parley-journal-writer-N, from its Slick threads, parley-journal-ID-N).
Inside the actor threads each sample goes to the
first area whose pattern matches a frame, walking from the leaf outwards (the nearest frame that names
an area decides; a HashMap.get under Parley's Session is Parley's): so "Pekko mailbox and dispatch" is
what the mailbox and dispatch frames ran themselves, not everything under them. Each thread group's ms
per send is its share of the node's perf samples times the node's CPU per acked send; thread-split.py's
own per-group figure (from /proc, over the whole bench run) is printed beside it as a check.
"""
import collections
import re
import subprocess
import sys

GROUPS = [  # (group, pattern on the thread's comm)
    ("JIT compiler", r"^C[12] CompilerThre|^Sweeper"),
    ("GC and VM threads", r"^GC Thread|^G1 |^VM Thread|^VM Periodic"),
    ("actor threads", r"default-dispat|actor\.default|^parley-pekko\.ac"),
    ("journal writers", r"journal-writ"),
    ("journal's Slick threads (read journal, recovery, read-side queries)", r"^parley-journal-[0-9a-f]+-\d+$"),
    ("ForkJoinPool.commonPool", r"commonPool"),
    ("Parley's TCP selector (PlainTcp)", r"tcp-selector"),
    ("Pekko IO selector", r"pekko\.io|io\.pinned"),
    ("scheduler", r"scheduler"),
    ("inbox and bot threads (read side)", r"inbox|parley-bot|bot-runner"),
    ("database pools (Slick, Hikari)", r"slick|hikari|Hikari|housekeeper"),
]
ACTOR_AREAS = [  # (area, pattern on a frame), most specific first; the frame nearest the leaf that matches decides
    ("threads parking and waking (futex, scheduler, ForkJoinPool idle/signal)",
     r"ForkJoinPool\.(awaitWork|signalWork|tryAddWorker|scan)|LockSupport\.(park|unpark)|Unsafe\.(park|unpark)"
     r"|\b(do_futex|futex_wait|futex_wake|schedule|__schedule|try_to_wake_up|finish_task_switch)\b"),
    ("socket reads and writes (kernel)",
     r"\b(tcp_sendmsg|tcp_recvmsg|sock_write_iter|sock_read_iter|__sys_sendto|__sys_recvfrom|ksys_write|ksys_read|"
     r"__x64_sys_write|__x64_sys_read|__x64_sys_writev|do_writev|tcp_write_xmit|ip_finish_output2|__dev_queue_xmit|"
     r"net_rx_action|__netif_receive_skb|tcp_v4_rcv)\b|sun\.nio\.ch\.(SocketDispatcher|IOUtil|SocketChannelImpl)"),
    ("other system calls (kernel)", r"\b(do_syscall_64|entry_SYSCALL_64)\b"),
    ("event serialization (Jackson CBOR, Pekko serialization)",
     r"jackson\.dataformat\.cbor|pekko\.serialization"),
    ("JSON (Parley's frames, Jackson JSON)",
     r"dev\.parley\.gateway\.(Frames|FrameFields|WebSocketFrames|JsonText)|com\.fasterxml\.jackson"),
    ("PostgreSQL client (pgjdbc, Hikari)", r"org\.postgresql|com\.zaxxer"),
    ("logging (slf4j, logback, MDC)", r"ch\.qos\.logback|org\.slf4j|ActorMdc"),
    ("Parley's code (Session, Conversation, PlainTcp, ...)", r"dev\.parley\."),
    ("Pekko Persistence (typed Running, journal actor, JDBC DAO)", r"pekko\.persistence\."),
    ("Pekko Cluster Sharding (region, shard)", r"pekko\.cluster\.sharding"),
    ("Pekko Streams", r"pekko\.stream\."),
    ("Pekko mailbox and dispatch (Mailbox, ActorCell, typed adapter, futures, BatchingExecutor)",
     r"pekko\.dispatch\.|pekko\.actor\.|scala\.concurrent\.|java\.util\.concurrent\.(CompletableFuture|ForkJoin)"),
    ("Pekko (other)", r"org\.apache\.pekko\."),
]
GC_PATTERN = re.compile(r"G1|gc|GC|Barrier|Collected|Allocat|TLAB|MemAllocator|OptoRuntime::new", re.I)


def samples(path):
    out = subprocess.run(["perf", "script", "-i", path, "-F", "comm,tid,ip,sym,dso"], capture_output=True, text=True).stdout
    for block in out.split("\n\n"):
        lines = [l for l in block.strip().splitlines() if l.strip()]
        if not lines:
            continue
        head = lines[0]
        tid = head.split()[-1] if head.split()[-1].isdigit() else None
        comm = head.rsplit(None, 1)[0].strip() if tid else head.strip()
        frames = []
        for l in lines[1:]:
            parts = l.strip().split(None, 1)
            frames.append(parts[1] if len(parts) > 1 else "")
        yield comm, tid, frames


def group_of(comm):
    for name, p in GROUPS:
        if re.search(p, comm):
            return name
    return "other threads (%s)" % re.sub(r"[-#]?\d+$", "", comm)


def method(frame):
    """A frame's method without its parameter types and library: "void a.B.c(x.Y) (dso)" -> "void a.B.c"
    (a parameter type must not decide the area: ClientOutbound.push(com.fasterxml...ObjectNode) is Parley's)."""
    return frame.split("(", 1)[0] if "(" in frame else frame


def actor_area(frames, compiled):
    # Jackson under Pekko's serializer is event (de)serialization, anywhere else it is the JSON protocol
    if any("pekko.serialization" in method(f) for f in frames):
        for f in frames:
            m = method(f)
            if "jackson" in m or "pekko.serialization" in m:
                return "event serialization (Jackson CBOR, Pekko serialization)"
            if any(p.search(m) for n, p in compiled[:3]):
                break
    for f in (method(f) for f in frames):
        for name, p in compiled:
            if p.search(f):
                return name
    if frames and "[kernel.kallsyms]" in frames[0]:
        return "other kernel"
    if frames and "libjvm" in frames[0]:
        return "JVM runtime on the actor threads (allocation, stubs)"
    return "other (Java library, unresolved)"


def node_ms_per_send(split_path):
    """The node's CPU per acked send and per thread group from thread-split.py's table (steady.split.md)."""
    text = open(split_path).read()
    per_group = {}
    node = None
    m = re.search(r"\(([0-9.]+) ms/send\)", text)
    if m:
        node = float(m.group(1))
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 3:
            continue
        nums = [c for c in cells if re.fullmatch(r"[0-9.]+", c)]
        if cells[0].lower().startswith("node") and node is None:
            node = float(nums[-1]) if nums else None
        per_group[cells[0]] = cells[1:]
    return node, per_group, text


SPLIT_GROUPS = ("actor threads", "journal writers", "Parley's TCP selector (PlainTcp)",
                "journal's Slick threads (read journal, recovery, read-side queries)", "ForkJoinPool.commonPool",
                "inbox and bot threads (read side)")


def main():
    compiled = [(n, re.compile(p)) for n, p in ACTOR_AREAS]
    groups = collections.Counter()
    areas = collections.defaultdict(collections.Counter)
    tops = collections.defaultdict(collections.Counter)
    total = 0
    names = {}
    if len(sys.argv) > 3:
        import json
        names = {tid: v[0] for tid, v in json.load(open(sys.argv[3]))["threads"].items()}
    for comm, tid, frames in samples(sys.argv[1]):
        total += 1
        g = group_of(names.get(tid, comm))
        groups[g] += 1
        if g in SPLIT_GROUPS:
            a = actor_area(frames, compiled)
            areas[g][a] += 1
            # the frame that decided, for the top symbols of each area
            for f in frames:
                if any(p.search(method(f)) for n, p in compiled if n == a):
                    tops[(g, a)][re.sub(r"\s*\(.*\)$", "", f)[:110]] += 1
                    break
    node, _, split_text = node_ms_per_send(sys.argv[2]) if len(sys.argv) > 2 else (None, {}, "")
    scale = (node / total) if node else None
    ms = lambda n: f"{n * scale:.4f}" if scale else "-"
    print(f"{total} samples; node CPU per acked send {node} ms (thread-split.py, the same run)\n")
    print("| area | share of the node's samples | ms per acked send |")
    print("|---|---|---|")
    for g, n in groups.most_common():
        print(f"| **{g}** | {100 * n / total:.1f} % | {ms(n)} |")
        for a, m in areas[g].most_common():
            print(f"| &nbsp;&nbsp;{a} | {100 * m / total:.1f} % | {ms(m)} |")
    print()
    for g in SPLIT_GROUPS:
        for a, m in areas[g].most_common():
            if m * 200 < total:
                continue
            print(f"\n{g} / {a}: the deciding frames")
            for f, k in tops[(g, a)].most_common(8):
                print(f"  {100 * k / total:5.2f} %  {f}")
    print()
    print("thread-split.py of the same run:\n")
    print(split_text)


if __name__ == "__main__":
    main()
