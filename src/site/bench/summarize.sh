#!/usr/bin/env bash
# Medians over the runs of one row directory written by run-row.sh, as one markdown table row:
# row | workload | acked sends/s | deliveries/s | send->ack p50 p90 p99 p99.9 max (ms) |
# send->delivery p99 | violations/errors | PG commits/s | PG rows/s (50-row tx) | engine/PG | load |
# node CPU ms per acked send | node cores | DB commits per acked send | bench CPU ms per send (issue 18)
set -euo pipefail
out=$1
median() { # jq path, files... -> median over the files
  local filter=$1; shift
  jq -s "map($filter) | sort | .[(length - 1) / 2 | floor]" "$@"
}
runs=("$out"/run-*.json)
ceilings=("$out"/ceiling-*.json)
acked=$(median .ackedSendsPerSecond "${runs[@]}")
commits=$(median .singleRowCommitsPerSecond "${ceilings[@]}")
cost() { # field -> median, or n/a when the runs do not have it
  local v
  v=$(jq -s "map(.cost.$1 // empty) | sort | if length == 0 then \"n/a\" else .[(length - 1) / 2 | floor] end" "${runs[@]}" 2>/dev/null || echo '"n/a"')
  v=${v//\"/}
  [[ $v == n/a ]] && echo n/a || printf '%.3f' "$v"
}
printf '| %s | %s | %.0f | %.0f | %.1f / %.1f / %.1f / %.1f / %.1f | %.1f | %s | %s | %s | %.1f%% | %s | %s | %s | %s | %s |\n' \
  "$(basename "$out")" \
  "$(jq -r '.setup | "\(.connections) conn, \(.conversations) x \(.members) members, \(.targetRate | floor)/s"' "${runs[0]}")" \
  "$acked" \
  "$(median .deliveriesPerSecond "${runs[@]}")" \
  "$(median .sendToAck.p50 "${runs[@]}")" \
  "$(median .sendToAck.p90 "${runs[@]}")" \
  "$(median .sendToAck.p99 "${runs[@]}")" \
  "$(median .sendToAck.p999 "${runs[@]}")" \
  "$(median .sendToAck.max "${runs[@]}")" \
  "$(median .sendToDelivery.p99 "${runs[@]}")" \
  "$(jq -s 'map(.correctness | .lostMessages + .duplicateDeliveries + .gapSeqs + .duplicatePosts) | add' "${runs[@]}")/$(jq -s 'map(.errorsByCode | to_entries | map(.value) | add // 0) | add' "${runs[@]}")" \
  "$commits" \
  "$(median .rowsPerSecondIn50RowTransactions "${ceilings[@]}")" \
  "$(echo "100 * $acked / $commits" | bc -l)" \
  "$(cat "$out"/load-*.txt | paste -sd/)" \
  "$(cost nodeCpuMsPerAckedSend)" "$(cost nodeCores)" "$(cost commitsPerAckedSend)" "$(cost benchCpuMsPerSend)"
