#!/bin/bash
# An idle node's CPU by thread (issue 18, target 6): a fresh PostgreSQL database, a 5 s prime at 200 sends/s,
# SETTLE s (60) of nothing, then IDLE s (30) read from /proc per thread, and the database's commits meanwhile.
# env: JAR (the node; also the prime's client), NODE_OPTS, PORT (18910: http, +1 cluster, +2 management), D (output dir), JFR=1 (a recording of the idle window)
#      HELD=N: then N idle websockets opened at once (parley bench --idle, SOURCE_ADDRESSES (8) loopback addresses),
#        HELD_SETTLE s (5) after the last one opened, and the same readings over another IDLE s with them held
#        (the 10,000 of issue 19; each gets the server's keep-alive ping 30 s after it opened, and answers it).
#      SEGMENTS=RATE: then, the idle connections closed, a 1:1 load (200 connections) warmed 20 s at 1,000/s, and at
#        RATE sends/s TCP segments per send on the node's port over 10 s of a 20 s run (ss -ti segs_out /
#        data_segs_out of the node's and the clients' sockets, summed) with the node's write/read calls (/proc/PID/io)
#      Each window also prints the TCP selector threads' CPU and wake-ups (voluntary context switches):
#        Parley's own (parley-tcp-selector-PORT) and Pekko IO's (pekko.io.pinned-dispatcher, with PARLEY_HTTP_PEKKO_IO_TCP=on).
: "${JAR:?JAR=the parley jar}"
d=${D:-/tmp/parley-idle-node}; rm -rf $d; mkdir -p $d; db=parley_idle_$$
export PGHOST=127.0.0.1 PGUSER=postgres
port=${PORT:-18910}
here=$(cd "$(dirname "$0")" && pwd)
psql -qX -d postgres -c "CREATE DATABASE $db"
env ${HELD:+PARLEY_ADMISSION_CONNECTIONS_PER_SECOND=0} PARLEY_HTTP_PORT=$port PARLEY_CLUSTER_PORT=$((port+1)) PARLEY_MANAGEMENT_PORT=$((port+2)) \
  PARLEY_HTTP_INTERFACE=127.0.0.1 PARLEY_DATA_DIR=$d/data PARLEY_DB_URL=jdbc:postgresql://127.0.0.1:5432/$db PARLEY_DB_USER=postgres java ${HELD:+-Dpekko.http.server.max-connections=100000} ${NODE_OPTS:-} -jar $JAR server > $d/node.log 2>&1 &
pid=$!
bench=""
trap '[ -n "$bench" ] && kill $bench 2>/dev/null; kill $pid 2>/dev/null; wait $pid 2>/dev/null; psql -qX -d postgres -c "DROP DATABASE IF EXISTS $db"' EXIT
for i in $(seq 90); do grep -qs "Parley node up" $d/node.log && break; sleep 1; done
grep -qs "Parley node up" $d/node.log || { echo "node did not start"; tail -5 $d/node.log; exit 1; }
java -jar $JAR bench --url ws://127.0.0.1:$port/v1/ws -c 20 -m 10 -k 2 -r 200 -d 5s --warmup 1s > $d/prime.txt 2>&1
sleep ${SETTLE:-60}
snap() { for t in /proc/$pid/task/*; do s=$(cat $t/stat 2>/dev/null) || continue; n=$(cat $t/comm 2>/dev/null); echo "$n|$(echo "$s" | sed 's/.*) //' | awk '{print $12+$13}')|${t##*/}"; done; }
idle=${IDLE:-30}
window() { # LABEL: the node's CPU, threads, commits and statements over IDLE s
  local w=$1
  [ -n "${JFR:-}" ] && jcmd $pid JFR.start name=$w settings=profile duration=${idle}s filename=$d/$w.jfr >/dev/null
  python3 $here/pg-statements.py snap $db > $d/$w.pg-before 2>/dev/null || true
  python3 $here/thread-split.py snap $pid > $d/$w.split0
  snap > $d/$w.t0; p0=$(awk '{print $14+$15}' /proc/$pid/stat); x0=$(psql -qAtX -d postgres -c "select xact_commit from pg_stat_database where datname='$db'"); sleep $idle; snap > $d/$w.t1
  p1=$(awk '{print $14+$15}' /proc/$pid/stat); x1=$(psql -qAtX -d postgres -c "select xact_commit from pg_stat_database where datname='$db'")
  python3 $here/thread-split.py snap $pid --names > $d/$w.split1
  python3 $here/pg-statements.py snap $db > $d/$w.pg-after 2>/dev/null || true
  echo "== $w"
  python3 - $d/$w $idle $((p1-p0)) <<'PY'
import sys,collections,json
d,idle,proc=sys.argv[1],int(sys.argv[2]),int(sys.argv[3])
def rd(f):
    r={}
    for l in open(f):
        p=l.rstrip('\n').rsplit('|',2)
        if len(p)==3 and p[1]: r[p[2]]=(p[0],int(p[1]))
    return r
a,b=rd(d+'.t0'),rd(d+'.t1')
by=collections.Counter()
for tid,(n,t) in b.items(): by[n.rstrip('0123456789-#')]+=t-a.get(tid,(n,0))[1]
print(f"process {proc} ticks in {idle} s = {proc/idle:.2f} % of a core; threads {len(b)}")
print("  " + ", ".join(f"{k.strip()} {v}" for k,v in by.most_common(8) if v))
s0,s1=json.load(open(d+'.split0')),json.load(open(d+'.split1'))
for tid,(name,t1,v1,n1) in sorted(s1["threads"].items()):
    if "tcp-selector" in name or "pekko.io.pinned" in name:
        _,t0,v0,n0=s0["threads"].get(tid,[name,0,0,0])
        print(f"  selector {name}: {t1-t0} ticks ({(t1-t0)/idle:.3f} % of a core), voluntary switches {v1-v0} ({(v1-v0)/idle:.2f}/s), involuntary {n1-n0}")
PY
  echo "commits/s $(echo "scale=2; ($x1-$x0)/$idle" | bc)"
  [ -s $d/$w.pg-before ] && [ -s $d/$w.pg-after ] && python3 $here/pg-statements.py diff $d/$w.pg-before $d/$w.pg-after 0 $idle > $d/$w.pg.md && head -3 $d/$w.pg.md
  python3 $here/thread-split.py diff $d/$w.split0 $d/$w.split1 > $d/$w.threads.md
}
window idle
if [ -n "${HELD:-}" ]; then
  java -jar $JAR bench --url ws://127.0.0.1:$port/v1/ws --idle -c $HELD -d 600s --setup-timeout 300s --source-addresses ${SOURCE_ADDRESSES:-8} > $d/held.txt 2> $d/held.log &
  bench=$!
  for _ in $(seq 1 3000); do grep -qs "holding for" $d/held.log && break; sleep 0.1; done
  echo "held: $(ss -Htn state established "( sport = :$port )" | wc -l) established"
  sleep ${HELD_SETTLE:-5}
  window held
  kill $bench 2>/dev/null; wait $bench 2>/dev/null; bench=""
  sleep 5
fi
if [ -n "${SEGMENTS:-}" ]; then
  segs() { # the node's side (sport) and the clients' side (dport): segs_out data_segs_out summed
    ss -tinH state established "( $1 = :$port )" | awk '{ for (i = 1; i <= NF; i++) { if ($i ~ /^segs_out:/) { split($i, a, ":"); s += a[2] } if ($i ~ /^data_segs_out:/) { split($i, a, ":"); ds += a[2] } } } END { print s + 0, ds + 0 }'
  }
  io() { awk '/^syscr/ { r = $2 } /^syscw/ { w = $2 } END { print w, r }' /proc/$pid/io; }
  java -jar $JAR bench --url ws://127.0.0.1:$port/v1/ws -c 200 -m 100 -k 2 -r 1000 -d 20s --warmup 1s > $d/segments-warm.txt 2>&1
  java -jar $JAR bench --url ws://127.0.0.1:$port/v1/ws -c 200 -m 100 -k 2 -r $SEGMENTS -d 20s --warmup 3s > $d/segments.txt 2>&1 &
  bench=$!
  sleep 9
  t0=$(date +%s%3N); n0=$(segs sport); c0=$(segs dport); i0=$(io)
  sleep 10
  t1=$(date +%s%3N); n1=$(segs sport); c1=$(segs dport); i1=$(io)
  wait $bench; bench=""
  echo "== segments at $SEGMENTS/s"
  grep -i "acked\|lost\|p99" $d/segments.txt | head -5
  echo "$t0 $n0 $c0 $i0 $t1 $n1 $c1 $i1" | awk -v r=$SEGMENTS '{ s = r * ($8 - $1) / 1000;
    printf "window %.1f s, ~%d sends: per send node segs_out %.2f (data %.2f), clients segs_out %.2f (data %.2f), node write calls %.2f, read calls %.2f\n",
      ($8 - $1) / 1000, s, ($9 - $2) / s, ($10 - $3) / s, ($11 - $4) / s, ($12 - $5) / s, ($13 - $6) / s, ($14 - $7) / s }' | tee $d/segments.line
fi
