#!/usr/bin/env bash
# Runs the 3-node local cluster (node1.conf, node2.conf, node3.conf next to this script) on one
# machine, on PostgreSQL. See src/site/markdown/operations.md.
#
#   cluster-config/local/cluster.sh start            start the nodes not running, wait until all are ready
#   cluster-config/local/cluster.sh status           pid, /ready of each node, and the cluster's members
#   cluster-config/local/cluster.sh rolling-restart  one node after another, youngest first: SIGTERM (drain,
#                                                    handoff, leave), wait for its exit, start it, wait for /ready
#   cluster-config/local/cluster.sh add-node         scale out: start the next node (node4.conf), wait for /ready;
#                                                    connection rebalancing then moves clients onto it
#   cluster-config/local/cluster.sh remove-node      scale in: SIGTERM the highest-numbered running node (its
#                                                    drain hands its clients to the others), wait for its exit
#   cluster-config/local/cluster.sh stop             SIGTERM one node at a time (youngest first), wait for each exit
#
# Environment:
#   PARLEY_JAR        the shaded jar (default: target/parley.jar of this repository)
#   PARLEY_RUN_DIR    pid files and logs (default: ${TMPDIR:-/tmp}/parley-local-cluster)
#   PARLEY_DB_URL     jdbc:postgresql://HOST:PORT/DB (default jdbc:postgresql://127.0.0.1:5432/parley);
#                     the database is created with psql if missing (PGUSER defaults to postgres)
#   JAVA_OPTS         JVM options of every node (default: -Xmx512m -XX:TieredStopAtLevel=1). The JIT's
#                     second tier (C2) is left out because three nodes share one machine's cores:
#                     each JVM that starts spends minutes of CPU compiling with C2, which the other
#                     nodes need during a rolling restart (see benchmarks.md, "Rolling restart").
#                     One node per machine or pod: leave it out (JAVA_OPTS=-Xmx512m).
#   JAVA_OPTS_NODE1, JAVA_OPTS_NODE2, JAVA_OPTS_NODE3
#                     more JVM options for that node only (src/site/bench/fault.sh puts node3's remoting
#                     behind a proxy it cuts: -Dpekko.remote.artery.bind.port=...)
#   READY_TIMEOUT     seconds a node may take to become ready (default: 120)
#   STOP_TIMEOUT      seconds a node may take to leave before it is killed (default: 360; it must
#                     exceed drain readiness-delay + max-window + shard handoff, like Kubernetes' grace:
#                     the arithmetic is in operations.md, "Drain arithmetic")
#   ROLLING_ORDER     youngest-first (default, as a Kubernetes ReplicaSet) or oldest-first
#   MIN_READY_SECONDS how long a restarted node stays ready before the next one is stopped (default:
#                     15, as minReadySeconds in kubernetes/deployment.yaml): its JVM start, reconnects
#                     and shard moves settle before the next node drains onto it
# Any other PARLEY_* variable (e.g. PARLEY_JWT_SECRET) is passed to the nodes.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
JAR="${PARLEY_JAR:-$ROOT/target/parley.jar}"
RUN_DIR="${PARLEY_RUN_DIR:-${TMPDIR:-/tmp}/parley-local-cluster}"
JAVA_OPTS="${JAVA_OPTS:--Xmx512m -XX:TieredStopAtLevel=1}"
READY_TIMEOUT="${READY_TIMEOUT:-120}"
STOP_TIMEOUT="${STOP_TIMEOUT:-360}"
export PARLEY_DB_URL="${PARLEY_DB_URL:-jdbc:postgresql://127.0.0.1:5432/parley}"
export PGUSER="${PGUSER:-postgres}"
# The nodes `start` starts; node4.conf is the one add-node adds. Every other command acts on the
# nodes running, whichever they are.
NODES=(1 2 3)
ALL_NODES=(1 2 3 4)

log() { printf '%s %s\n' "$(date +%H:%M:%S)" "$*"; }
die() { log "error: $*" >&2; exit 1; }

conf() { echo "$HERE/node$1.conf"; }
pid_file() { echo "$RUN_DIR/node$1.pid"; }
log_file() { echo "$RUN_DIR/node$1.log"; }
management_port() { echo "856$1"; }

# The pid of a running node, or nothing (a stale pid file, or a pid reused by another process,
# counts as not running).
running_pid() {
  local file pid
  file="$(pid_file "$1")"
  [[ -f "$file" ]] || return 0
  pid="$(cat "$file")"
  if kill -0 "$pid" 2>/dev/null && ps -p "$pid" -o args= | grep -q "node$1.conf"; then
    echo "$pid"
  fi
}

ready_status() {
  curl -s -o /dev/null -w '%{http_code}' --max-time 3 "http://127.0.0.1:$(management_port "$1")/ready" || true
}

# Creates the database named in PARLEY_DB_URL when it does not exist yet.
ensure_database() {
  command -v psql >/dev/null || die "psql is needed to create the database"
  local rest hostport db host port
  rest="${PARLEY_DB_URL#jdbc:postgresql://}"
  [[ "$rest" != "$PARLEY_DB_URL" ]] || die "PARLEY_DB_URL must be a jdbc:postgresql:// URL: $PARLEY_DB_URL"
  hostport="${rest%%/*}"
  db="${rest#*/}"
  db="${db%%\?*}"
  host="${hostport%%:*}"
  port="5432"
  [[ "$hostport" == *:* ]] && port="${hostport##*:}"
  [[ "$db" =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || die "unexpected database name '$db' in PARLEY_DB_URL"
  if [[ "$(psql -h "$host" -p "$port" -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$db'")" != "1" ]]; then
    log "creating database $db on $host:$port"
    psql -h "$host" -p "$port" -d postgres -qc "CREATE DATABASE $db"
  fi
}

start_node() {
  local n=$1 pid
  pid="$(running_pid "$n")"
  if [[ -n "$pid" ]]; then
    log "node$n already running (pid $pid)"
    return 0
  fi
  # shellcheck disable=SC2086 # JAVA_OPTS is a list of options
  local node_opts="JAVA_OPTS_NODE$n"
  nohup java $JAVA_OPTS ${!node_opts:-} -jar "$JAR" server --config "$(conf "$n")" >>"$(log_file "$n")" 2>&1 </dev/null &
  echo $! >"$(pid_file "$n")"
  log "node$n started (pid $!), log $(log_file "$n")"
}

await_ready() {
  local n=$1 deadline=$((SECONDS + READY_TIMEOUT))
  until [[ "$(ready_status "$n")" == "200" ]]; do
    [[ -n "$(running_pid "$n")" ]] || die "node$n exited while starting; see $(log_file "$n")"
    ((SECONDS < deadline)) || die "node$n not ready after ${READY_TIMEOUT}s; see $(log_file "$n")"
    sleep 1
  done
  log "node$n ready (http://127.0.0.1:$(management_port "$n")/ready = 200)"
}

# SIGTERM runs CoordinatedShutdown: readiness off, connections drained with reconnect hints,
# shards handed off, cluster left; then the JVM exits by itself.
stop_node() {
  local n=$1 pid
  pid="$(running_pid "$n")"
  if [[ -z "$pid" ]]; then
    rm -f "$(pid_file "$n")"
    log "node$n not running"
    return 0
  fi
  log "node$n: SIGTERM (pid $pid)"
  kill -TERM "$pid"
}

await_exit() {
  local n=$1 pid deadline=$((SECONDS + STOP_TIMEOUT))
  pid="$(running_pid "$n")"
  while [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; do
    if ((SECONDS >= deadline)); then
      log "node$n did not exit within ${STOP_TIMEOUT}s: SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
    fi
    sleep 0.5
  done
  rm -f "$(pid_file "$n")"
  log "node$n stopped"
}

cmd_start() {
  [[ -f "$JAR" ]] || die "no jar at $JAR: build it (mvn -DskipTests package) or set PARLEY_JAR"
  mkdir -p "$RUN_DIR"
  ensure_database
  for n in "${NODES[@]}"; do start_node "$n"; done
  for n in "${NODES[@]}"; do await_ready "$n"; done
}

# One at a time, node3 first: nodes leaving together wait for each other's exit confirmation until
# a CoordinatedShutdown phase times out, and the oldest (node1) holds the shard coordinator.
cmd_stop() {
  for n in $(youngest_first running); do
    stop_node "$n"
    await_exit "$n"
  done
}

# Scale out by one node: the next node not running (node4.conf), then wait until it is ready.
# Its shards come by Pekko's balancing; its clients by connection rebalancing (operations.md).
cmd_add_node() {
  [[ -f "$JAR" ]] || die "no jar at $JAR: build it (mvn -DskipTests package) or set PARLEY_JAR"
  mkdir -p "$RUN_DIR"
  local n
  for n in "${ALL_NODES[@]}"; do
    if [[ -z "$(running_pid "$n")" ]]; then
      [[ -f "$(conf "$n")" ]] || die "no $(conf "$n") to add"
      log "add-node: node$n"
      start_node "$n"
      await_ready "$n"
      return 0
    fi
  done
  die "every node of ${ALL_NODES[*]} is running already"
}

# Scale in by one node: the highest-numbered running one leaves as on SIGTERM (readiness off, its
# clients told to reconnect over its drain window, shards handed off, cluster left).
cmd_remove_node() {
  local n last=""
  for n in "${ALL_NODES[@]}"; do [[ -n "$(running_pid "$n")" ]] && last="$n"; done
  [[ -n "$last" ]] || die "no node is running"
  log "remove-node: node$last"
  stop_node "$last"
  await_exit "$last"
}

cmd_status() {
  local n pid members=""
  for n in "${ALL_NODES[@]}"; do
    [[ " ${NODES[*]} " == *" $n "* || -n "$(running_pid "$n")" ]] || continue
    pid="$(running_pid "$n")"
    printf 'node%s  pid %-8s  /ready %s\n' "$n" "${pid:--}" "$([[ -n "$pid" ]] && ready_status "$n" || echo -)"
    if [[ -n "$pid" && -z "$members" ]]; then
      members="$(curl -s --max-time 3 "http://127.0.0.1:$(management_port "$n")/cluster/members" || true)"
    fi
  done
  if [[ -n "$members" ]]; then
    if command -v jq >/dev/null; then
      echo "$members" | jq -r '"leader " + (.leader // "-"), (.members[] | "  " + .node + "  " + .status)'
    else
      echo "$members"
    fi
  fi
}

# When a process started, in clock ticks since boot (field 22 of /proc/PID/stat, after the
# parenthesised command name): exact to 1/100 s where `ps -o etimes` rounds to whole seconds, and
# read once per node (nodes started by `start` share a second; ranked by etimes they came out in
# any order).
start_ticks() {
  local stat
  stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 1
  stat="${stat##*) }"
  awk '{ print $20 }' <<<"$stat"
}

# The oldest member as the cluster itself says (Pekko Management's read-only /cluster/members,
# "oldest"): the node hosting the shard coordinators and the other singletons. Its node number, or
# nothing.
oldest_member_node() {
  local n port oldest
  for n in "${ALL_NODES[@]}"; do
    [[ -n "$(running_pid "$n")" ]] || continue
    oldest="$(curl -s --max-time 3 "http://127.0.0.1:$(management_port "$n")/cluster/members" | jq -r '.oldest // empty' 2>/dev/null || true)"
    [[ -n "$oldest" ]] || continue
    port="${oldest##*:}"
    [[ "$port" =~ ^2552([0-9])$ ]] && echo "${BASH_REMATCH[1]}"
    return 0
  done
}

# The nodes, youngest first: those running, and ("all") node1-3 when not running, first. Ranked by process start in clock ticks, ties broken by the higher node
# number (started later by `start`); the member the cluster names oldest always comes last, so it
# (with the shard coordinators and the singletons) is restarted once, at the end.
youngest_first() {
  local n pid ticks oldest
  oldest="$(oldest_member_node)"
  for n in "${ALL_NODES[@]}"; do
    pid="$(running_pid "$n")"
    if [[ -z "$pid" ]]; then
      [[ "${1:-}" == "running" || " ${NODES[*]} " != *" $n "* ]] && continue
      ticks=999999999999
    else
      ticks="$(start_ticks "$pid" || echo 999999999999)"
    fi
    [[ "$n" == "$oldest" ]] && ticks=-1
    echo "$ticks $n"
  done | sort -k1,1nr -k2,2nr | awk '{ print $2 }'
}

# Youngest node first, as a Kubernetes ReplicaSet deletes pods: the shard coordinator and the other
# cluster singletons live on the oldest node, so restarting oldest first would move them with every
# node (each move leaves the shards being handed off without a coordinator for 1-3 s); youngest
# first moves them once, with the last node.
cmd_rolling_restart() {
  [[ -f "$JAR" ]] || die "no jar at $JAR: build it (mvn -DskipTests package) or set PARLEY_JAR"
  mkdir -p "$RUN_DIR"
  local order
  case "${ROLLING_ORDER:-youngest-first}" in
    youngest-first) order="$(youngest_first all | tr '\n' ' ')" ;;
    oldest-first) order="$(youngest_first all | tac | tr '\n' ' ')" ;;
    *) die "ROLLING_ORDER must be youngest-first or oldest-first" ;;
  esac
  log "rolling restart, ${ROLLING_ORDER:-youngest-first}: $order"
  local min_ready="${MIN_READY_SECONDS:-15}" first=1
  for n in $order; do
    if [[ -z "$first" && "$min_ready" -gt 0 ]]; then
      log "waiting ${min_ready}s (MIN_READY_SECONDS) before the next node"
      sleep "$min_ready"
    fi
    first=""
    stop_node "$n"
    await_exit "$n"
    start_node "$n"
    await_ready "$n"
  done
  log "rolling restart done"
}

case "${1:-}" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  rolling-restart) cmd_rolling_restart ;;
  add-node) cmd_add_node ;;
  remove-node) cmd_remove_node ;;
  order) youngest_first running | tr '\n' ' '; echo ;;
  *)
    echo "usage: $0 start | stop | status | rolling-restart | add-node | remove-node | order" >&2
    exit 2
    ;;
esac
