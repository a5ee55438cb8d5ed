#!/usr/bin/env bash
# The saturation sweep of src/site/markdown/benchmarks.md: one run-row.sh row per offered rate, rate
# stepped up until the median p99 send->ack exceeds 50 ms or the median acked rate falls below 95% of
# the offered rate (that row is kept: it shows what saturation looks like). Prints the rows.
#
# Usage: sweep.sh PREFIX h2|pg RUNS "RATE..." [bench arguments without -r...]
# Example: sweep.sh h2-1to1 h2 3 "250 500 1000 2000 4000 8000" -c 200 -m 100 -k 2 -d 10s --warmup 3s
#   env: STOP_WHEN=latency (default: either condition) or throughput (only the acked-rate condition,
#        to find where throughput itself saturates)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
prefix=$1 store=$2 runs=$3 rates=$4
shift 4
out_root=${OUT:-/tmp/parley-bench}
for rate in $rates; do
  row=$("$here/run-row.sh" "$prefix-$rate" "$store" "$runs" -r "$rate" "$@")
  echo "$row"
  dir="$out_root/$prefix-$rate"
  p99=$(jq -s 'map(.sendToAck.p99) | sort | .[(length - 1) / 2 | floor]' "$dir"/run-*.json)
  acked=$(jq -s 'map(.ackedSendsPerSecond) | sort | .[(length - 1) / 2 | floor]' "$dir"/run-*.json)
  condition="$p99 > 50 || $acked < 0.95 * $rate"
  [[ ${STOP_WHEN:-latency} == throughput ]] && condition="$acked < 0.95 * $rate"
  if (( $(echo "$condition" | bc -l) )); then
    echo "saturated at offered $rate/s: median p99 send->ack $p99 ms, median acked $acked/s" >&2
    break
  fi
done
