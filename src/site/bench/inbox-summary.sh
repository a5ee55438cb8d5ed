#!/usr/bin/env bash
# Medians over the run-*.json files that inbox.sh wrote, one markdown row per measured row:
# row | size | what | p50 ms (median) | p99 ms (median) | p99 range over runs | ratio p50 | ratio p99 (medians)
set -euo pipefail
out=$1
jq -rs '
  def median: sort | .[(length - 1) / 2 | floor];
  def f2: (. * 100 | round) as $c | "\($c / 100 | floor).\($c % 100 | tostring | if length < 2 then "0" + . else . end)";
  (map(.rows) | transpose) as $byRow
  | $byRow[]
  | . as $runs
  | "| \($runs[0].group) | \($runs[0].size) | \($runs[0].detail) | \($runs | map(.latency.p50) | median | f2)"
    + " | \($runs | map(.latency.p99) | median | f2) | \($runs | map(.latency.p99) | min | f2)–\($runs | map(.latency.p99) | max | f2)"
    + " | ×\($runs | map(.p50Ratio) | median | f2) | ×\($runs | map(.p99Ratio) | median | f2) | \($runs | map(.latency.count) | add) |"
' "$out"/run-*.json
echo
jq -rs 'map(.missedUpdates) | add | "fan-out sends that missed a member (all runs): \(.)"' "$out"/run-*.json
jq -rs 'map(.errorsByCode | to_entries | map(.value) | add // 0) | add | "error frames (all runs): \(.)"' "$out"/run-*.json
