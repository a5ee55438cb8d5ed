#!/usr/bin/env python3
"""A node's CPU samples by area of the code, from `perf record -g` of the node (idle-memory.sh PERF=1):
every thread, the kernel's time included, which JFR does not see (the JIT's and GC's threads, syscalls,
parking and waking threads).

Usage: perf-areas.py PERF.DATA [PERF-MAP-PID]
Each sample goes to one area: the JIT's or the GC's threads by thread name; otherwise the area of the
frame nearest the sample's leaf that matches an area's pattern (AREAS, first match per frame, most
specific first), else "other". Beside each area: the share of its samples that were in the kernel.
Needs the node started with -XX:+PreserveFramePointer (Java stacks) and -XX:+DumpPerfMapAtExit
(/tmp/perf-PID.map names the JIT's code).
"""
import collections
import re
import subprocess
import sys

AREAS = [  # (area, pattern on a frame's symbol); the frame nearest the leaf that matches decides
    ("threads parking and waking (idle dispatcher threads, futex)", r"ForkJoinPool\.(awaitWork|signalWork|tryAddWorker)|LockSupport\.(park|unpark)|Unsafe\.(park|unpark)"),
    ("token check (nimbus)", r"dev\.parley\.auth\.Tokens|com\.nimbusds"),
    ("presence (Distributed Data, PresenceHub)", r"pekko\.cluster\.ddata|dev\.parley\.presence"),
    ("connection registries (ConnectedUsers, ConnectionRebalancer)", r"dev\.parley\.gateway\.(ConnectedUsers|ConnectionRebalancer)"),
    ("session actor (start, messages, stop)", r"dev\.parley\.gateway\.(Session|ConnectionLifecycle|ConnectionPresence|Subscriptions|Requests|Replies|ClientOutbound|SessionMdc)\b|dev\.parley\.gateway\.(Session|ConnectionLifecycle)[$.]"),
    ("session stage (SessionStream)", r"dev\.parley\.gateway\.SessionStream"),
    ("websocket stage (WebSocketFrames)", r"dev\.parley\.gateway\.WebSocketFrames"),
    ("routes (directives, admission, limits)", r"dev\.parley\.gateway\.(RoutedRequests|WebSocketRoute|UserLimits|OriginPolicy)|pekko\.http\.(scaladsl|javadsl)\.server"),
    ("HTTP request parsing", r"pekko\.http\.impl\.engine\.parsing|pekko\.http\.impl\.model\.parser|org\.parboiled2"),
    ("HTTP response rendering", r"pekko\.http\.impl\.engine\.rendering"),
    ("HTTP layers' other stages (protocol switch, controller)", r"pekko\.http\.impl\.engine\.server"),
    ("connection switch (HTTP layers and websocket substreams materialized)", r"dev\.parley\.gateway\.ConnectionSwitch"),
    ("stream materialization (the connection's stream, its actor)", r"pekko\.stream\.impl\.(PhasedFusingActorMaterializer|GraphStageIsland|TraversalBuilder|LinearTraversalBuilder|fusing\.GraphInterpreterShell\.init|fusing\.ActorGraphInterpreter\.(tryInit|preStart|aroundPreStart))"),
    ("actor creation (cells, mailboxes, paths)", r"pekko\.actor\.(ActorCell\.(create|newActor|init)|dungeon\.Children|LocalActorRefProvider\.actorOf|ActorSystemImpl\.systemActorOf|Props|ChildActorPath|dungeon\.ChildrenContainer)|pekko\.util\.Reflect"),
    ("death watch", r"pekko\.actor\.dungeon\.DeathWatch"),
    ("TCP actors (listener, selection handler, connection)", r"pekko\.io\.(TcpListener|TcpConnection|TcpIncomingConnection|SelectionHandler|TcpManager)"),
    ("TCP stream stages", r"pekko\.stream\.impl\.io\.TcpConnectionStage|pekko\.stream\.impl\.io\.ConnectionSourceStage|TcpStages"),
    ("Pekko Streams (interpreter, other)", r"pekko\.stream\."),
    ("timers and scheduler", r"LightArrayRevolverScheduler|TimerSchedulerImpl|parley-scheduler"),
    ("actor messaging (mailboxes, dispatch)", r"pekko\.dispatch\.|pekko\.actor\.(ActorCell|LocalActorRef|RepointableActorRef|typed\.internal)"),
]
ENTRIES = [  # inclusive views: everything under these frames
    ("the routes (RoutedRequests: directives, token, admission, the 101)", r"dev\.parley\.gateway\.RoutedRequests\$Logic\$1\.onPush"),
    ("  of which the token check", r"dev\.parley\.auth\.Tokens\.verifyToken"),
    ("HTTP request parser stage", r"HttpRequestParser\$\$anon\$1\.onPush"),
    ("ConnectionSwitch (its start: the HTTP layers' substream materialized; the switch)", r"dev\.parley\.gateway\.ConnectionSwitch"),
    ("the connection's stream materialized (bind's mapAsyncUnordered)", r"MapAsyncUnordered.*onPush"),
    ("stream actors started (ActorGraphInterpreter preStart)", r"ActorGraphInterpreter\.(aroundPreStart|preStart)"),
    ("SessionStream start (the session actor spawned)", r"dev\.parley\.gateway\.SessionStream\$Logic\.preStart"),
    ("session actors (typed: Session's messages, start and stop)", r"dev\.parley\.gateway\.Session\.|dev\.parley\.gateway\.Session\$"),
    ("ActorCell.create (any actor's start)", r"ActorCell\.create"),
    ("Pekko IO TCP actors", r"pekko\.io\.Tcp(Connection|Listener|IncomingConnection)|pekko\.io\.SelectionHandler"),
    ("Distributed Data Replicator", r"pekko\.cluster\.ddata\.Replicator"),
    ("PresenceHub", r"dev\.parley\.presence\.PresenceHub"),
    ("futex (threads parked and woken)", r"do_futex"),
    ("syscalls", r"do_syscall_64"),
]
COMPILED = [(name, re.compile(p)) for name, p in AREAS]
JIT = re.compile(r"^C[12] CompilerThre|^Sweeper")
GC = re.compile(r"^GC Thread|^G1 |^VM Thread|^VM Periodic")


def samples(path):
    out = subprocess.run(["perf", "script", "-i", path, "-F", "comm,tid,ip,sym,dso"], capture_output=True, text=True).stdout
    for block in out.split("\n\n"):
        lines = [l for l in block.strip().splitlines() if l.strip()]
        if not lines:
            continue
        head = lines[0]
        comm = head.rsplit(None, 1)[0].strip() if head.split()[-1].isdigit() else head.strip()
        frames = []
        for l in lines[1:]:
            parts = l.strip().split(None, 1)
            frames.append(parts[1] if len(parts) > 1 else "")
        yield comm, frames  # frames[0] = leaf, each "symbol (dso)"


def area_of(comm, frames):
    if JIT.search(comm):
        return "JIT compiler threads"
    if GC.search(comm):
        return "GC threads (and VM thread)"
    if comm.startswith("parley-pekko.io"):
        return "selector thread (epoll, wake-ups)"
    for f in frames:
        for name, p in COMPILED:
            if p.search(f):
                return name
    return "other (%s)" % comm


def main():
    inclusive = [(name, re.compile(p)) for name, p in ENTRIES]
    incl = collections.Counter()
    counts = collections.Counter()
    kernel = collections.Counter()
    total = 0
    for comm, frames in samples(sys.argv[1]):
        a = area_of(comm, frames)
        for name, p in inclusive:
            if any(p.search(f) for f in frames):
                incl[name] += 1
        counts[a] += 1
        total += 1
        if frames and frames[0].endswith("([kernel.kallsyms])"):
            kernel[a] += 1
    print(f"{total} samples")
    print("| area | share of the node's samples | of which in the kernel |")
    print("|---|---|---|")
    for a, n in counts.most_common():
        print(f"| {a} | {100 * n / total:.1f} % | {100 * kernel[a] / n:.0f} % |")
    print()
    print("| inclusive: samples with this frame anywhere on their stack | share |")
    print("|---|---|")
    for name, _ in ENTRIES:
        print(f"| {name} | {100 * incl[name] / total:.1f} % |")


if __name__ == "__main__":
    main()
