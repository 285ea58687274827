#!/usr/bin/env bash
# Soak (issue 12, "Proven, not claimed"): `income` driven open loop at 60% of its capacity for DURATION while a new
# version is loaded through the repository API every RELOAD_EVERY seconds (a copy of version N as N+1, then
# POST /v2/repository/models/income/load: the default policy serves the latest version, so each reload replaces the
# serving version under load). Reports the failed requests (by kind), the p99 of the first and the last SAMPLE of the
# run (loadtest's per-interval histograms: exact percentiles per interval), and the server's RSS (VmRSS from
# /proc/<pid>/status every RSS_EVERY seconds): first vs last interval, and the least-squares slope in MB/hour.
#
# Usage: benchmarks/soak.sh [rate|find]     (default find: the capacity is searched first, then SHARE of it is used)
# Environment:
#   DURATION      how long the load runs: 1800 (s), or with a unit: 30m, 90s, 2h         (default 30m)
#   RELOAD_EVERY  seconds between reloads; 0: none                                       (default 30)
#   SHARE         share of the capacity to run at when searching                         (default 0.6)
#   SLA           the capacity search's SLA                                              (default p99<25ms,errors<0.1%)
#   SAMPLE        length of one time-series interval (first vs last drift)               (default 60s)
#   RSS_EVERY     seconds between RSS samples                                            (default 5)
#   PROTOCOL      rest-binary, rest-json or grpc                                         (default rest-binary)
#   PORT          HTTP port (gRPC PORT+1, metrics PORT+2)                                (default 18030)
#   KEEP=1        keep the work folder (server log, loadtest JSON, rss.csv, reloads.csv)
# Progress goes to stderr; the summary (and a RESULTS.md row) to stdout. Exit 1 when a request or a reload failed.
set -euo pipefail
cd "$(dirname "$0")/.."
rate_arg=${1:-find}
duration=${DURATION:-30m}
reload_every=${RELOAD_EVERY:-30}
share=${SHARE:-0.6}
sla=${SLA:-p99<25ms,errors<0.1%}
sample=${SAMPLE:-60s}
rss_every=${RSS_EVERY:-5}
protocol=${PROTOCOL:-rest-binary}
port=${PORT:-18030}

seconds() { # 90, 90s, 30m, 2h -> seconds
  case "$1" in
    *h) echo $(( ${1%h} * 3600 )) ;;
    *m) echo $(( ${1%m} * 60 )) ;;
    *s) echo "${1%s}" ;;
    *) echo "$1" ;;
  esac
}
duration_s=$(seconds "$duration")
sample_s=$(seconds "$sample")
[ "$duration_s" -ge $(( 2 * sample_s )) ] || { echo "DURATION ($duration_s s) must be at least two SAMPLE intervals ($sample_s s)" >&2; exit 2; }

work=$(mktemp -d)
server= load= reloader= sampler=
cleanup() {
  for p in $reloader $sampler $load $server; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ "${KEEP:-0}" = 1 ]; then echo "work folder kept: $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT

echo "publishing the server and loadtest (Release)..." >&2
dotnet publish server/InferenceServer -c Release -o "$work/server" --nologo -v q >/dev/null
dotnet publish loadtests/InferenceServer.LoadTest -c Release -o "$work/loadtest" --nologo -v q >/dev/null
loadtest="$work/loadtest/loadtest"
url="http://127.0.0.1:$port"
target_url=$url
[ "$protocol" = grpc ] && target_url="http://127.0.0.1:$(( port + 1 ))"

mkdir -p "$work/repository"
cp -r models/income "$work/repository/income"
"$work/server/inference-server" serve --model-repository "$work/repository" --model-control-mode explicit --load-model income \
  --http-address 127.0.0.1 --http-port "$port" --grpc-port "$(( port + 1 ))" --metrics-port "$(( port + 2 ))" >"$work/server.log" 2>&1 &
server=$!
for _ in $(seq 1 300); do
  curl -sf "$url/v2/models/income/ready" >/dev/null && break
  kill -0 "$server" 2>/dev/null || { cat "$work/server.log" >&2; exit 1; }
  sleep 0.2
done
curl -sf "$url/v2/models/income/ready" >/dev/null || { echo "server not ready after 60 s" >&2; exit 1; }

rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$server/status"; }

capacity=
if [ "$rate_arg" = find ]; then
  echo "warming up (5 s at 500/s), then the capacity search ($sla, trials of 3-6 s, at most 16)..." >&2
  "$loadtest" --url "$target_url" --model income --protocol "$protocol" --rate 500 --duration 5s --warmup 0s --no-progress >/dev/null 2>&1 || true
  "$loadtest" --url "$target_url" --model income --protocol "$protocol" --find-max-rate --sla "$sla" --start-rate 1000 \
    --duration 3s --warmup 1s --max-trial-duration 6s --max-trials 16 --no-progress --json "$work/capacity.json" >"$work/capacity.txt" 2>&1 || true
  capacity=$(jq -r '.runs[0].capacity.maxRate // empty' "$work/capacity.json" 2>/dev/null || true)
  [ -n "$capacity" ] && [ "$capacity" != null ] || { cat "$work/capacity.txt" >&2; echo "the capacity search found no rate" >&2; exit 1; }
  rate=$(awk -v c="$capacity" -v s="$share" 'BEGIN { printf "%d", c * s }')
  echo "capacity $capacity/s -> rate $rate/s" >&2
else
  rate=$rate_arg
fi

echo "soak: $rate/s ($protocol, Poisson) for $duration_s s, a reload every $reload_every s, RSS every $rss_every s..." >&2
rss_start=$(rss_kb)
"$loadtest" --url "$target_url" --model income --protocol "$protocol" --rate "$rate" --arrival poisson --seed 12 \
  --duration "${duration_s}s" --warmup 2s --sample-interval "${sample_s}s" --no-progress --json "$work/soak.json" >"$work/soak.txt" 2>&1 &
load=$!

# RSS samples: seconds since the load started, kB.
( start=$(date +%s.%N)
  while kill -0 "$load" 2>/dev/null; do
    echo "$(awk -v s="$start" -v n="$(date +%s.%N)" 'BEGIN { printf "%.1f", n - s }'),$(rss_kb)"
    sleep "$rss_every"
  done ) >"$work/rss.csv" &
sampler=$!

# Reloads: version N+1 copied from N, then loaded; seconds since start, version, HTTP status, seconds taken.
if [ "$reload_every" -gt 0 ]; then
  ( version=1 start=$(date +%s)
    while sleep "$reload_every" && kill -0 "$load" 2>/dev/null; do
      next=$(( version + 1 ))
      cp -r "$work/repository/income/$version" "$work/repository/income/$next"
      t0=$(date +%s.%N)
      status=$(curl -s -o "$work/reload-$next.txt" -w '%{http_code}' -X POST "$url/v2/repository/models/income/load" -m 120 || echo 000)
      t1=$(date +%s.%N)
      echo "$(( $(date +%s) - start )),$next,$status,$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')"
      if [ "$status" = 200 ]; then rm -rf "$work/repository/income/$version"; version=$next; fi
    done ) >"$work/reloads.csv" &
  reloader=$!
fi

load_status=0
wait "$load" || load_status=$?
load=
[ -n "$reloader" ] && { kill "$reloader" 2>/dev/null || true; wait "$reloader" 2>/dev/null || true; reloader=; }
wait "$sampler" 2>/dev/null || true
sampler=
kill -0 "$server" 2>/dev/null || { echo "the server died during the soak" >&2; tail -20 "$work/server.log" >&2; exit 1; }
rss_end=$(rss_kb)
[ -s "$work/soak.json" ] || { cat "$work/soak.txt" >&2; echo "loadtest wrote no result (exit $load_status)" >&2; exit 1; }

run() { jq -r ".runs[0] | $1" "$work/soak.json"; }
requests=$(run '.summary.requests')
errors=$(run '.summary.errors')
throughput=$(run '.summary.throughput')
p50=$(run '.latencyMs.p50')
p99=$(run '.latencyMs.p99')
# Measured intervals only (not the warm-up); the last one may be short, so drift compares whole intervals.
points=$(run "[.timeSeries[] | select(.warmup | not)] | length")
first_p99=$(run "[.timeSeries[] | select(.warmup | not)][0].p99Ms")
last_p99=$(run "[.timeSeries[] | select(.warmup | not)] | map(select(.successes > 0)) | (if length > 1 and (.[-1].t - .[-2].t) < $sample_s * 0.9 then .[-2] else .[-1] end).p99Ms")
reloads_ok=$( [ -s "$work/reloads.csv" ] && awk -F, '$3 == 200' "$work/reloads.csv" | wc -l || echo 0)
reloads_failed=$( [ -s "$work/reloads.csv" ] && awk -F, '$3 != 200' "$work/reloads.csv" | wc -l || echo 0)
reload_mean=$( [ -s "$work/reloads.csv" ] && awk -F, '{ s += $4; n++ } END { if (n) printf "%.2f", s / n; else print "-" }' "$work/reloads.csv" || echo -)
# RSS: mean of the first and of the last SAMPLE seconds, and the slope over the whole run (MB/hour).
read -r rss_first rss_last slope < <(awk -F, -v w="$sample_s" -v end="$duration_s" '
  { t[NR] = $1; r[NR] = $2 / 1024 }
  END {
    for (i = 1; i <= NR; i++) {
      if (t[i] <= w) { f += r[i]; fn++ }
      if (t[i] >= end - w) { l += r[i]; ln++ }
      sx += t[i]; sy += r[i]; sxx += t[i] * t[i]; sxy += t[i] * r[i]
    }
    slope = (NR > 1) ? (NR * sxy - sx * sy) / (NR * sxx - sx * sx) * 3600 : 0
    printf "%.1f %.1f %.1f\n", (fn ? f / fn : 0), (ln ? l / ln : 0), slope }' "$work/rss.csv")

echo
echo "soak: income, $protocol, $rate/s open loop (Poisson)${capacity:+, 60% of the capacity $capacity/s at $sla}, $duration_s s, a reload every $reload_every s"
echo "requests: $requests, failed: $errors, throughput $(printf '%.0f' "$throughput")/s, p50 $(printf '%.2f' "$p50") ms, p99 $(printf '%.2f' "$p99") ms"
run '.errorsByKind[]? | "  failed: \(.kind) x\(.count) (\(.sample))"'
echo "p99 per $sample_s s: first $(printf '%.2f' "$first_p99") ms, last $(printf '%.2f' "$last_p99") ms ($points intervals): $(run "[.timeSeries[] | select(.warmup | not) | .p99Ms | . * 100 | round / 100] | map(tostring) | join(\" \")") ms"
echo "RSS: $(( rss_start / 1024 )) MB before the load, first $sample_s s $rss_first MB, last $sample_s s $rss_last MB, $(( rss_end / 1024 )) MB at the end; slope $slope MB/hour"
echo "reloads: $reloads_ok ok, $reloads_failed failed, mean $reload_mean s"
echo
echo "| duration | rate | requests | failed | p99 first / last ${sample_s} s | RSS first / last ${sample_s} s | RSS slope | reloads ok / failed |"
echo "|---|---|---|---|---|---|---|---|"
printf '| %s s | %s/s | %s | %s | %.2f / %.2f ms | %s / %s MB | %s MB/h | %s / %s |\n' \
  "$duration_s" "$rate" "$requests" "$errors" "$first_p99" "$last_p99" "$rss_first" "$rss_last" "$slope" "$reloads_ok" "$reloads_failed"
[ "$errors" = 0 ] && [ "$reloads_failed" = 0 ]
