#!/usr/bin/env bash
# What idle connections cost a node: one fresh H2 node; for each N, `parley bench --idle` opens N
# authenticated connections as fast as it can (a connect storm), holds them, closes them.
# Measured on the node: heap used after a full GC (jcmd GC.run, then GC.heap_info), RSS (VmRSS),
# a class histogram (jcmd GC.class_histogram), and CPU (utime+stime of /proc/PID/stat):
#   - idle CPU: over IDLE_WINDOW seconds with no connection (baseline) and with N held;
#   - open CPU: from the bench's start until all N are open, minus the baseline idle rate over that time;
#   - close CPU: from the end of the hold until 5 s after the bench exits, likewise.
#   - each CPU figure also split by thread (thread-ticks.py): the JIT's compiler threads, the GC's
#     threads, and the rest ("other", the baseline idle rate taken off it): a storm on a node that just
#     started pays for compiling the connect path, once; the rest is what every storm pays.
# Prints one JSON line per step and the per-connection figures.
#
# Usage: idle-memory.sh NAME N... (e.g. idle-memory.sh idle 10000 19500)
#   The same N twice (idle-memory.sh warm 10000 10000) measures a cold storm, then a warm one: the
#   second storm runs on a node whose JIT compiled the path during the first (files of the k-th step
#   of the same N are suffixed .k: step-10000.2.json, histogram-10000.2.txt, open-10000.2.jfr).
#   wN is a warm-up storm of N (idle-memory.sh warm 10000 w10000 w10000 10000): opened, held 1 s and
#   closed, not measured but for one line of its open CPU and the JIT's share of it (warmup-K.json):
#   on 2 cores with one C2 compiler thread the JIT still compiles the connect path through the second
#   and third storms of 10,000 (benchmarks.md, issue 19, 2026-12-06 (second session)); a node that has
#   served more connections than that no longer does, so a "warm" figure is taken after them.
#   Each storm leaves its N client ports in TIME_WAIT for a minute: more than ~28,000 within a minute
#   (a third storm of 10,000) from one source address fail with BindException; SOURCE_ADDRESSES=K
#   spreads the client's connections over 127.0.0.2 and K-1 more (parley bench --source-addresses).
#   env: PARLEY_JAR (the node), BENCH_JAR (the client, default PARLEY_JAR), OUT,
#        HTTP_PORT/CLUSTER_PORT/MANAGEMENT_PORT (18481-18483), NODE_OPTS (extra JVM options of the
#        node), HOLD (seconds each step is held, default 60), IDLE_WINDOW (default 20, < HOLD - SETTLE - 15),
#        SETTLE (seconds from the last connection opened to the idle window, default 2),
#        NODE_OPTS=-XX:+PrintCompilation: jit-windows.py OUT/NAME counts the JIT's compilations per storm;
#        JFR=1 (a JFR CPU profile of the connect storm, open-N.jfr; it adds to the open CPU figure),
#        PERF=1 (perf record of the node's every thread, kernel included, during each storm: open-N.perf.data;
#        start the node with NODE_OPTS="-XX:+UnlockDiagnosticVMOptions -XX:+DumpPerfMapAtExit
#        -XX:+PreserveFramePointer" so that `perf report` names the JIT's code, from /tmp/perf-PID.map),
#        SETTLED=1 (also the storm's CPU until the node is quiet again: work a storm leaves queued,
#        e.g. presence's rate-limited Distributed Data writes, ~1,100 users/s, runs after the last
#        connection opened and is missed by the open figure, the more so the faster the storm; the
#        settled figures run from the storm's start until a 1 s sample of the node's CPU is within
#        QUIET_MARGIN ms/s (default 30) of the baseline's idle rate, at most SETTLE_MAX s (default
#        30; HOLD must leave room), and likewise from the hold's end after the close),
#        THREAD_SPLIT=1 (each storm's CPU and context switches per thread group, from /proc with the
#        Java threads' names: threads-N.md, per connection; thread-split.py),
#        JFR_IDLE=1 (one of the idle window, idle-N.jfr), HEAP_DUMP=1 (jcmd GC.heap_dump at N after
#        the figures, heap-N.hprof: heap-owners.py reads it)
# Both JVMs need a file descriptor per connection: run under `ulimit -n` above the largest N.
# The node is started with pekko.http.server.max-connections raised (Pekko HTTP's default is 1,024)
# and the connection admission bucket off (PARLEY_ADMISSION_CONNECTIONS_PER_SECOND=0), so setup
# takes seconds instead of N / 200 s; neither changes what an idle connection holds.
set -euo pipefail
name=$1
shift
jar=${PARLEY_JAR:-target/parley.jar}
bench_jar=${BENCH_JAR:-$jar}
out=${OUT:-/tmp/parley-bench}/$name
http_port=${HTTP_PORT:-18481}
hold=${HOLD:-60}
window=${IDLE_WINDOW:-20}
tck=$(getconf CLK_TCK)
sources=${SOURCE_ADDRESSES:+--source-addresses $SOURCE_ADDRESSES}
here=$(cd "$(dirname "$0")" && pwd)
rm -rf "$out" && mkdir -p "$out/data"
env PARLEY_HTTP_PORT="$http_port" PARLEY_CLUSTER_PORT="${CLUSTER_PORT:-18482}" PARLEY_MANAGEMENT_PORT="${MANAGEMENT_PORT:-18483}" \
    PARLEY_HTTP_INTERFACE=127.0.0.1 PARLEY_DATA_DIR="$out/data" PARLEY_ADMISSION_CONNECTIONS_PER_SECOND=0 \
    java -Dpekko.http.server.max-connections=100000 ${JFR:+-XX:FlightRecorderOptions:stackdepth=256} ${NODE_OPTS:-} -jar "$jar" server >"$out/node.log" 2>&1 &
node=$!
bench=""
cleanup() {
  [[ -n $bench ]] && kill "$bench" 2>/dev/null || true
  kill "$node" 2>/dev/null && wait "$node" 2>/dev/null || true
}
trap cleanup EXIT
for _ in $(seq 1 120); do grep -qs "Parley node up" "$out/node.log" && break; sleep 1; done
grep -qs "Parley node up" "$out/node.log" || { echo "node did not start, see $out/node.log" >&2; exit 1; }
echo "$(date +%s%3N) $(jcmd "$node" VM.uptime | tail -1)" >"$out/uptime.txt" # wall clock and JVM uptime: jit-windows.py aligns -XX:+PrintCompilation with the storms

threads() { python3 "$here/thread-ticks.py" snap "$node" >"$out/$1"; }
split_ms() { python3 "$here/thread-ticks.py" diff "$out/$1" "$out/$2"; }
cpu_ms() { awk -v t="$tck" '{ print int(($14 + $15) * 1000 / t) }' "/proc/$node/stat"; }
now_ms() { date +%s%3N; }
until_quiet() { # waits until a 1 s sample of the node's CPU is within QUIET_MARGIN of the baseline's idle rate (at most SETTLE_MAX s)
  local limit=$(( $(now_ms) + ${SETTLE_MAX:-30} * 1000 )) a b
  while (( $(now_ms) < limit )); do
    a=$(cpu_ms); sleep 1; b=$(cpu_ms)
    awk -v d=$((b - a)) -v base="$base_idle" -v m="${QUIET_MARGIN:-30}" 'BEGIN { exit !(d <= base + m) }' && return 0
  done
  return 0
}
idle_cpu() { # seconds -> node CPU ms per second of wall time over that window
  local c0 t0 c1 t1
  c0=$(cpu_ms); t0=$(now_ms); sleep "$1"; c1=$(cpu_ms); t1=$(now_ms)
  echo "scale=3; ($c1 - $c0) * 1000 / ($t1 - $t0)" | bc
}
measure() { # connections -> one JSON line: heap used after a full GC, RSS, established connections
  jcmd "$node" GC.run >/dev/null
  sleep 2
  local heap_kb rss_kb established
  heap_kb=$(jcmd "$node" GC.heap_info | awk '/garbage-first heap/ { for (i = 1; i <= NF; i++) if ($i == "used") { sub("K,?", "", $(i+1)); print $(i+1) } }')
  rss_kb=$(awk '/^VmRSS/ { print $2 }' "/proc/$node/status")
  established=$(ss -Htn state established "( sport = :$http_port )" | wc -l)
  printf '{"connections":%d,"established":%d,"heapUsedKB":%d,"rssKB":%d}\n' "$1" "$established" "$heap_kb" "$rss_kb"
}

sleep "${STARTUP_SETTLE:-10}" # let start-up settle (JIT, cluster formation): the baseline is measured after it
base_idle=$(idle_cpu "$window")
measure 0 | jq -c --argjson idle "$base_idle" '. + {idleCpuMsPerS: $idle}' | tee "$out/baseline.json"
jcmd "$node" GC.class_histogram >"$out/histogram-0.txt"
warmups=0
for n in "$@"; do
  if [[ $n == w* ]]; then
    n=${n#w} warmups=$((warmups + 1))
    threads "warmup-$warmups-0.json"; c0=$(cpu_ms); t0=$(now_ms)
    java -jar "$bench_jar" bench --url "ws://127.0.0.1:$http_port/v1/ws" --idle -c "$n" -d 1s --setup-timeout 300s $sources \
      >"$out/warmup-$warmups.txt" 2>"$out/warmup-$warmups.log" &
    bench=$!
    for _ in $(seq 1 6000); do grep -qs "holding for" "$out/warmup-$warmups.log" && break; sleep 0.1; done
    c1=$(cpu_ms); t1=$(now_ms); threads "warmup-$warmups-1.json"
    wait "$bench" || true
    bench=""
    sleep 5 # closed connections leave the node before the next step
    until_quiet # and what the storm left queued (presence) is done before the next is measured
    jq -n -c --arg step "w$n.$warmups" --argjson n "$n" --argjson base "$base_idle" --argjson oc $((c1 - c0)) --argjson ow $((t1 - t0)) \
      --argjson open "$(split_ms "warmup-$warmups-0.json" "warmup-$warmups-1.json")" \
      '{step: $step, openCpuMsPerConnection: (($oc - $base * $ow / 1000) / $n), openJitMsPerConnection: ($open.jitMs / $n),
        openedPerSecond: ($n * 1000 / $ow)}' | tee "$out/warmup-$warmups.json"
    continue
  fi
  label=$n k=2
  while [[ -e $out/step-$label.json ]]; do label=$n.$k; k=$((k + 1)); done
  [[ ${JFR:-0} == 1 ]] && jcmd "$node" JFR.start name=open settings=profile filename="$out/open-$label.jfr" >/dev/null
  [[ ${THREAD_SPLIT:-0} == 1 ]] && python3 "$here/thread-split.py" snap "$node" >"$out/split-$label-0.json"
  perf=""
  if [[ ${PERF:-0} == 1 ]]; then
    perf record -e cpu-clock -F 499 -g -p "$node" -o "$out/open-$label.perf.data" >"$out/perf-$label.log" 2>&1 &
    perf=$!
  fi
  threads "threads-$label-0.json"; c0=$(cpu_ms); t0=$(now_ms)
  java -jar "$bench_jar" bench --url "ws://127.0.0.1:$http_port/v1/ws" --idle -c "$n" -d "${hold}s" --setup-timeout 300s $sources \
    --json "$out/idle-$label.json" >"$out/idle-$label.txt" 2>"$out/idle-$label.log" &
  bench=$!
  for _ in $(seq 1 6000); do grep -qs "holding for" "$out/idle-$label.log" && break; sleep 0.1; done
  c1=$(cpu_ms); t1=$(now_ms); threads "threads-$label-1.json"
  c1q=$c1 t1q=$t1
  if [[ ${SETTLED:-0} == 1 ]]; then
    until_quiet; c1q=$(cpu_ms); t1q=$(now_ms); threads "threads-$label-1q.json"
  fi
  [[ -n $perf ]] && { kill -INT "$perf"; wait "$perf" || true; }
  [[ ${THREAD_SPLIT:-0} == 1 ]] && python3 "$here/thread-split.py" snap "$node" --names >"$out/split-$label-1.json"
  [[ ${JFR:-0} == 1 ]] && jcmd "$node" JFR.stop name=open >/dev/null
  sleep "${SETTLE:-2}" # work the storm left queued (presence writes) is not idle cost
  [[ ${JFR_IDLE:-0} == 1 ]] && jcmd "$node" JFR.start name=idle settings=profile filename="$out/idle-$label.jfr" >/dev/null
  held_idle=$(idle_cpu "$window")
  [[ ${JFR_IDLE:-0} == 1 ]] && jcmd "$node" JFR.stop name=idle >/dev/null
  measure "$n" | jq -c --argjson idle "$held_idle" --argjson openCpuMs $((c1 - c0)) --argjson openWallMs $((t1 - t0)) \
    '. + {idleCpuMsPerS: $idle, openCpuMs: $openCpuMs, openWallMs: $openWallMs}' | tee "$out/step-$label.json"
  jcmd "$node" GC.class_histogram >"$out/histogram-$label.txt"
  [[ ${HEAP_DUMP:-0} == 1 ]] && jcmd "$node" GC.heap_dump "$out/heap-$label.hprof" >/dev/null
  for _ in $(seq 1 6000); do grep -qs "holding:.* 0s left" "$out/idle-$label.log" && break; kill -0 "$bench" 2>/dev/null || break; sleep 0.1; done
  threads "threads-$label-2.json"; c2=$(cpu_ms); t2=$(now_ms)
  wait "$bench" || true
  bench=""
  sleep 5 # closed connections leave the node before the next step
  c3=$(cpu_ms); t3=$(now_ms); threads "threads-$label-3.json"
  c3q=$c3 t3q=$t3
  if [[ ${SETTLED:-0} == 1 ]]; then
    until_quiet; c3q=$(cpu_ms); t3q=$(now_ms); threads "threads-$label-3q.json"
  fi
  cat "$out/idle-$label.txt"
  [[ ${THREAD_SPLIT:-0} == 1 ]] && python3 "$here/thread-split.py" diff "$out/split-$label-0.json" "$out/split-$label-1.json" "$n" >"$out/threads-$label.md"
  settled='{}'
  if [[ ${SETTLED:-0} == 1 ]]; then
    settled=$(jq -n --argjson n "$n" --argjson base "$base_idle" --argjson oc $((c1q - c0)) --argjson ow $((t1q - t0)) \
      --argjson cc $((c3q - c2)) --argjson cw $((t3q - t2)) \
      --argjson open "$(split_ms "threads-$label-0.json" "threads-$label-1q.json")" \
      --argjson close "$(split_ms "threads-$label-2.json" "threads-$label-3q.json")" '{
        openSettledCpuMsPerConnection: (($oc - $base * $ow / 1000) / $n), openSettledWallMs: $ow,
        openSettledJitMsPerConnection: ($open.jitMs / $n), openSettledGcMsPerConnection: ($open.gcMs / $n),
        openSettledOtherMsPerConnection: (($open.otherMs - $base * $ow / 1000) / $n),
        closeSettledCpuMsPerConnection: (($cc - $base * $cw / 1000) / $n), closeSettledWallMs: $cw,
        closeSettledJitMsPerConnection: ($close.jitMs / $n), closeSettledGcMsPerConnection: ($close.gcMs / $n),
        closeSettledOtherMsPerConnection: (($close.otherMs - $base * $cw / 1000) / $n)}')
  fi
  jq -s --argjson settled "$settled" --argjson closeCpuMs $((c3 - c2)) --argjson closeWallMs $((t3 - t2)) --arg step "$label" \
      --argjson open "$(split_ms "threads-$label-0.json" "threads-$label-1.json")" \
      --argjson close "$(split_ms "threads-$label-2.json" "threads-$label-3.json")" '.[0] as $b | .[1] | {step: $step, connections, established,
      heapPerConnectionKB: ((.heapUsedKB - $b.heapUsedKB) / .connections), rssPerConnectionKB: ((.rssKB - $b.rssKB) / .connections),
      idleCpuPercentOfCore: ((.idleCpuMsPerS - $b.idleCpuMsPerS) / 10),
      openCpuMsPerConnection: ((.openCpuMs - $b.idleCpuMsPerS * .openWallMs / 1000) / .connections),
      closeCpuMsPerConnection: (($closeCpuMs - $b.idleCpuMsPerS * $closeWallMs / 1000) / .connections),
      openJitMsPerConnection: ($open.jitMs / .connections), openGcMsPerConnection: ($open.gcMs / .connections),
      openOtherMsPerConnection: (($open.otherMs - $b.idleCpuMsPerS * .openWallMs / 1000) / .connections),
      openSysMsPerConnection: (if $open.sysMs == null then null else $open.sysMs / .connections end),
      closeJitMsPerConnection: ($close.jitMs / .connections), closeGcMsPerConnection: ($close.gcMs / .connections),
      closeOtherMsPerConnection: (($close.otherMs - $b.idleCpuMsPerS * $closeWallMs / 1000) / .connections),
      baselineIdleCpuPercentOfCore: ($b.idleCpuMsPerS / 10), openedPerSecond: (.connections * 1000 / .openWallMs)} + $settled' \
    "$out/baseline.json" "$out/step-$label.json" | tee "$out/per-connection-$label.json"
done
