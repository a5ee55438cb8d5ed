#!/usr/bin/env python3
"""A warm node's actor-thread samples (perf record -g of the node) by what they ran: each sample goes to the
outermost actor or stage on its stack (the Session, the Conversation entity, Pekko IO's TCP connection
actors, the connection's stream, ...), so the shares add up to the actor threads' time (issue 18).
Samples with no such frame (the kernel parking or waking a thread, unwinding lost) are "other", with their
leaves. Usage: perf-actors.py PERF.DATA (the node started with -XX:+PreserveFramePointer and
-XX:+DumpPerfMapAtExit, as steady-perf.sh does)."""
import collections
import importlib.util
import os
import re
import sys

spec = importlib.util.spec_from_file_location("sp", os.path.join(os.path.dirname(os.path.abspath(__file__)), "perf-sendpath.py"))
sp = importlib.util.module_from_spec(spec)
spec.loader.exec_module(sp)
R = [
 ("Session actor", r"dev\.parley\.gateway\.SessionMdc\.aroundReceive|dev\.parley\.gateway\.Session\.onCommand"),
 ("Conversation entity (persistence typed)", r"persistence\.typed\.internal|dev\.parley\.conversation\.Conversation[.$]"),
 ("journal actor (AsyncWriteJournal, DAO)", r"AsyncWriteJournal|persistence\.jdbc\.journal"),
 ("read journal / projections on actors", r"persistence\.jdbc\.query|dev\.parley\.storage\.(TaggedProjection|JournalPolling)"),
 ("sharding region/shard", r"cluster\.sharding\.(ShardRegion|Shard)[.$]"),
 ("connection stream (ActorGraphInterpreter)", r"ActorGraphInterpreter|GraphInterpreterShell"),
 ("TCP connection actor", r"pekko\.io\.Tcp|pekko\.io\.SelectionHandler"),
 ("ConnectedUsers / other parley actors", r"dev\.parley\."),
 ("future callbacks (Scala/Java)", r"scala\.concurrent\.impl|CompletableFuture|BatchingExecutor"),
 ("idle: ForkJoin park (awaitWork)", r"ForkJoinPool\.awaitWork|LockSupport\.park"),
]
C = [(n, re.compile(p)) for n, p in R]
cnt = collections.Counter(); tot = 0; other = collections.Counter()
for comm, frames in sp.samples(sys.argv[1]):
    if sp.group(comm) != "actor threads": continue
    tot += 1
    hit = None
    # outermost (root-most) match decides the receiver
    for f in reversed(frames):
        for n, p in C:
            if p.search(f): hit = n; break
        if hit: break
    if not hit:
        hit = "other"; other[" <- ".join(sp.clean(x)[:70] for x in frames[:3])] += 1
    cnt[hit] += 1
print(f"{tot} actor-thread samples")
for n, v in cnt.most_common(): print(f"{100*v/tot:5.1f} %  {n}")
print("other, top leaves:")
for k, v in other.most_common(12): print(f"{100*v/tot:5.1f} %  {k}")
