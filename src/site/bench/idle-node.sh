#!/bin/bash
# An idle node's CPU by thread (issue 18, target 6): a fresh PostgreSQL database, a 5 s prime at 200 sends/s,
# SETTLE s (60) of nothing, then IDLE s (30) read from /proc per thread, and the database's commits meanwhile.
# env: JAR (the node; also the prime's client), NODE_OPTS, PORT (18910: http, +1 cluster, +2 management), D (output dir), JFR=1 (a recording of the idle window)
: "${JAR:?JAR=the parley jar}"
d=${D:-/tmp/parley-idle-node}; rm -rf $d; mkdir -p $d; db=parley_idle_$$
export PGHOST=127.0.0.1 PGUSER=postgres
port=${PORT:-18910}
psql -qX -d postgres -c "CREATE DATABASE $db"
PARLEY_HTTP_PORT=$port PARLEY_CLUSTER_PORT=$((port+1)) PARLEY_MANAGEMENT_PORT=$((port+2)) PARLEY_HTTP_INTERFACE=127.0.0.1 PARLEY_DATA_DIR=$d/data \
  PARLEY_DB_URL=jdbc:postgresql://127.0.0.1:5432/$db PARLEY_DB_USER=postgres java ${NODE_OPTS:-} -jar $JAR server > $d/node.log 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; psql -qX -d postgres -c "DROP DATABASE IF EXISTS $db"' EXIT
for i in $(seq 90); do grep -qs "Parley node up" $d/node.log && break; sleep 1; done
grep -qs "Parley node up" $d/node.log || { echo "node did not start"; tail -5 $d/node.log; exit 1; }
java -jar $JAR bench --url ws://127.0.0.1:$port/v1/ws -c 20 -m 10 -k 2 -r 200 -d 5s --warmup 1s > $d/prime.txt 2>&1
sleep ${SETTLE:-60}
snap() { for t in /proc/$pid/task/*; do s=$(cat $t/stat 2>/dev/null) || continue; n=$(cat $t/comm 2>/dev/null); echo "$n|$(echo "$s" | sed 's/.*) //' | awk '{print $12+$13}')|${t##*/}"; done; }
idle=${IDLE:-30}
[ -n "${JFR:-}" ] && jcmd $pid JFR.start name=idle settings=profile duration=${idle}s filename=$d/idle.jfr >/dev/null
python3 $(dirname "$0")/pg-statements.py snap $db > $d/pg-before 2>/dev/null || true
snap > $d/t0; p0=$(awk '{print $14+$15}' /proc/$pid/stat); x0=$(psql -qAtX -d postgres -c "select xact_commit from pg_stat_database where datname='$db'"); sleep $idle; snap > $d/t1
p1=$(awk '{print $14+$15}' /proc/$pid/stat); x1=$(psql -qAtX -d postgres -c "select xact_commit from pg_stat_database where datname='$db'")
python3 $(dirname "$0")/pg-statements.py snap $db > $d/pg-after 2>/dev/null || true
python3 - $d $idle $((p1-p0)) <<'PY'
import sys,collections
d,idle,proc=sys.argv[1],int(sys.argv[2]),int(sys.argv[3])
def rd(f):
    r={}
    for l in open(f):
        p=l.rstrip('\n').rsplit('|',2)
        if len(p)==3 and p[1]: r[p[2]]=(p[0],int(p[1]))
    return r
a,b=rd(d+'/t0'),rd(d+'/t1')
by=collections.Counter()
for tid,(n,t) in b.items(): by[n.rstrip('0123456789-#')]+=t-a.get(tid,(n,0))[1]
print(f"process {proc} ticks in {idle} s = {proc/idle:.2f} % of a core; threads {len(b)}")
print("  " + ", ".join(f"{k.strip()} {v}" for k,v in by.most_common(8) if v))
PY
echo "commits/s $(echo "scale=2; ($x1-$x0)/$idle" | bc)"
# the statements of the idle window (pg_stat_statements, where loaded): per second
[ -s $d/pg-before ] && [ -s $d/pg-after ] && python3 $(dirname "$0")/pg-statements.py diff $d/pg-before $d/pg-after 0 $idle | tee $d/pg.md
