#!/usr/bin/env python3
"""A warm node's perf samples along the send path (issue 18): per thread group, inclusive shares of
the send path's parts, the top leaf symbols and the top first Parley/Pekko frames of the actor threads.
Usage: perf-sendpath.py PERF.DATA"""
import collections, re, subprocess, sys

PARTS = [
 ("websocket stage (WebSocketFrames)", r"dev\.parley\.gateway\.WebSocketFrames"),
 ("session stage (SessionStream)", r"dev\.parley\.gateway\.SessionStream"),
 ("Session actor (all)", r"dev\.parley\.gateway\.Session[.$]"),
 ("  Requests.receive (frame -> command)", r"dev\.parley\.gateway\.Requests\.receive"),
 ("  FrameFields.parse", r"dev\.parley\.gateway\.FrameFields"),
 ("  Replies / Finished (ack frame)", r"dev\.parley\.gateway\.Replies|Session\$Finished|Session\.onFinished"),
 ("  Subscriptions (deliveries)", r"dev\.parley\.gateway\.Subscriptions"),
 ("  Frames (JSON out)", r"dev\.parley\.gateway\.Frames\."),
 ("  OutboundQueue / ClientOutbound", r"dev\.parley\.gateway\.(OutboundQueue|ClientOutbound)"),
 ("Conversations.send/ask (gateway side)", r"dev\.parley\.conversation\.Conversations\."),
 ("ResendingAsk", r"dev\.parley\.conversation\.ResendingAsk"),
 ("StorageBreaker", r"dev\.parley\.storage\.StorageBreaker"),
 ("SendAdmission / AnswerTimes", r"dev\.parley\.conversation\.(SendAdmission|AnswerTimes)"),
 ("Conversation entity (command+event handlers)", r"dev\.parley\.conversation\.(Conversation|ConversationState|Subscribers)[.$]"),
 ("persistence typed (Running, stash, effects)", r"pekko\.persistence\.typed\.internal"),
 ("persistence classic (Eventsourced, journal actor)", r"pekko\.persistence\.(Eventsourced|journal|AsyncWriteJournal|JournalProtocol)|pekko\.persistence\.jdbc\.journal\.JdbcAsyncWriteJournal"),
 ("BatchingJournalDao (serialize rows)", r"dev\.parley\.storage\.BatchingJournalDao|persistence\.jdbc\.journal\.dao"),
 ("Jackson CBOR / serialization", r"pekko\.serialization|jackson\.dataformat\.cbor|pekko\.serialization\.jackson"),
 ("Jackson (any)", r"com\.fasterxml\.jackson"),
 ("cluster sharding (region, shard, EntityRef)", r"pekko\.cluster\.sharding"),
 ("ask / PromiseActorRef", r"PromiseActorRef|pattern\.AskSupport|AskPattern|typed\.internal\.adapter.*ask|ActorRefImpl.*ask"),
 ("scheduler (LightArrayRevolver)", r"LightArrayRevolverScheduler"),
 ("CompletableFuture / Scala futures", r"java\.util\.concurrent\.CompletableFuture|scala\.concurrent\.impl\.Promise|scala\.concurrent\.Future"),
 ("inbox projection / writer", r"dev\.parley\.inbox"),
 ("bot runner / projections", r"dev\.parley\.bot"),
 ("TaggedProjection / JournalPolling / read journal", r"dev\.parley\.storage\.(TaggedProjection|JournalPolling|IdleAwareReadJournalDao)|persistence\.jdbc\.query"),
 ("notification", r"dev\.parley\.notification"),
 ("presence", r"dev\.parley\.presence"),
 ("metrics (Micrometer, Metrics)", r"io\.micrometer|dev\.parley\.ops\.Metrics"),
 # Not SessionMdc by name: its aroundReceive is the interceptor every Session message passes through, so
 # matching it counted the whole Session actor as logging (the "10 %" of 2026-12-06 fourth session; its
 # MDC puts, when the level is on, are org.slf4j frames and still count).
 ("logging (slf4j, logback, MDC)", r"ch\.qos\.logback|org\.slf4j|ActorMdc|PersistenceMdc|ActorContextImpl\.log\b"),
 ("JDBC driver (pgjdbc)", r"org\.postgresql"),
 ("Hikari", r"com\.zaxxer"),
 ("actor messaging (mailbox, dispatch)", r"pekko\.dispatch\.(Mailbox|Dispatcher|ForkJoinExecutorConfigurator)|ActorCell\.invoke"),
 ("ForkJoin park/unpark (futex)", r"ForkJoinPool\.(awaitWork|signalWork|tryAddWorker)|LockSupport\.(park|unpark)|do_futex"),
 ("Pekko IO TCP", r"pekko\.io\."),
 ("Pekko Streams interpreter", r"pekko\.stream\.impl"),
 ("kernel: TCP send/recv", r"tcp_sendmsg|tcp_recvmsg|sock_write_iter|sock_read_iter|__sys_sendto|__sys_recvfrom"),
 ("kernel: epoll", r"ep_poll|do_epoll_wait"),
 ("syscalls (any)", r"do_syscall_64"),
]
COMP = [(n, re.compile(p)) for n, p in PARTS]

def group(comm):
    c = comm
    if re.match(r"C[12] CompilerThre|Sweeper", c): return "JIT"
    if re.match(r"GC Thread|G1 |VM Thread|VM Periodic", c): return "GC/VM"
    if "default-dispat" in c or "actor.default" in c or c.startswith("parley-pekko.ac"): return "actor threads"
    if "journal-writ" in c: return "journal writers"
    if "pekko.io" in c or "io.pinned" in c: return "pekko IO"
    if "internal-dis" in c: return "internal dispatcher"
    if "scheduler" in c: return "scheduler"
    return c

def samples(path):
    out = subprocess.run(["perf", "script", "-i", path, "-F", "comm,tid,ip,sym,dso"], capture_output=True, text=True).stdout
    for block in out.split("\n\n"):
        lines = [l for l in block.strip().splitlines() if l.strip()]
        if not lines: continue
        head = lines[0]
        comm = head.rsplit(None, 1)[0].strip() if head.split()[-1].isdigit() else head.strip()
        frames = []
        for l in lines[1:]:
            parts = l.strip().split(None, 1)
            frames.append(parts[1] if len(parts) > 1 else "")
        yield comm, frames

def clean(f):
    return re.sub(r"\s*\(.*\)$", "", f)[:140]

def main():
    groups = collections.Counter(); total = 0
    incl = collections.Counter(); actor_total = 0
    leaf = collections.Counter(); firstp = collections.Counter(); comms = collections.Counter()
    for comm, frames in samples(sys.argv[1]):
        total += 1; g = group(comm); groups[g] += 1; comms[comm] += 1
        if g != "actor threads": continue
        actor_total += 1
        for n, p in COMP:
            if any(p.search(f) for f in frames): incl[n] += 1
        if frames: leaf[clean(frames[0])] += 1
        for f in frames:
            if re.search(r"dev\.parley\.|pekko\.(persistence|cluster\.sharding)", f):
                firstp[clean(f)] += 1; break
    print(f"{total} samples; actor threads {actor_total}")
    print("\n| thread group | share |\n|---|---|")
    for g, n in groups.most_common(15): print(f"| {g} | {100*n/total:.1f} % |")
    print("\n| actor threads: inclusive (frame anywhere on the stack) | share of actor threads' samples |\n|---|---|")
    for n, _ in PARTS: print(f"| {n} | {100*incl[n]/max(actor_total,1):.1f} % |")
    print("\n| actor threads: leaf symbol (self) | share |\n|---|---|")
    for s, n in leaf.most_common(40): print(f"| {s} | {100*n/max(actor_total,1):.1f} % |")
    print("\n| actor threads: nearest Parley / persistence / sharding frame | share |\n|---|---|")
    for s, n in firstp.most_common(40): print(f"| {s} | {100*n/max(actor_total,1):.1f} % |")

if __name__ == "__main__":
    main()
