#!/usr/bin/env bash
# Traffic management (issue 13, "Measured"): what a route costs and what a faulty canary costs, each against a Release
# server published from this checkout, with `loadtest` (also published here) as the generator.
#
#   overhead  throughput at concurrency CONCURRENCY of a 2-variant sticky route vs the direct model, in ROUNDS
#             interleaved rounds of SECONDS each (the side going first alternating). The route, `pair`, has two
#             variants that are both `income` (50/50, sticky by parameter routing_key), so both sides run the very
#             same model instance and the difference is the routing alone: the key's hashing, the per-variant
#             metrics and the variant header. Every request carries one of KEYS routing keys (one JSONL line per
#             key, sent round robin), to the route and to the model alike, so both parse the same bytes.
#   shadow    p99 of the primary at SHARE (50%) of its capacity without and with a 100% shadow, in ROUNDS
#             interleaved open-loop rounds (Poisson) of SECONDS each. Where dotnet-counters is installed (dotnet tool
#             install -g dotnet-counters), also the server's garbage collections (gen 0/1/2) during each side: the
#             shadow's copies once brought on full collections the primary paid for in its tail. Two routes on the same server: `plain`
#             (income alone) and `shadowed` (income, plus income_gbt at weight 0 receiving a copy of every request,
#             compared on probability at 0.5). The capacity is the highest open-loop rate of `plain` that meets
#             CAPACITY_SLA (loadtest --find-max-rate, as soak.sh searches it), unless RATE is given.
#   shadow-cpu  what a 100% shadow costs the server in CPU, which unlike the p99 above a loaded machine does not
#             drown: ROUNDS interleaved open-loop rounds (Poisson) of SECONDS_EACH at CPU_RATE on the same `plain` and
#             `shadowed` routes, the side going first alternating, each side's server CPU time (utime + stime from
#             /proc, read 1 s after the side ended so its tail is counted) divided by the requests it answered. The
#             difference of a round is the shadow's CPU per copy; also reported: the shadow's runs (income_gbt's
#             execution count) per copy, and the load average, which says how far to trust the figures. The server
#             runs with unbounded queues (ROLLBACK_SERVER_ARGS) so a stall of a shared machine sheds nothing.
#   rollback  for each faulty canary of tests/fixtures/onnx (income_faulty: fails a request whose first feature
#             is >= 1000; income_slow: about 20 ms slower) and each PROTOCOL_LIST protocol, a fresh server in
#             explicit mode serves `income` through its route, income/routing.pbtxt: stable = version 1, canary =
#             version 2, a rollout of 5 -> 25 -> 50 -> 100 with the declared defaults (100 canary requests per step
#             before the gates judge). Version 2 is not there yet, so the canary takes nothing. Two open-loop streams
#             run for DURATION: the clean one at 95% of ROLLBACK_RATE, and the marked one (first feature 1000) at 5%.
#             After DEPLOY_AFTER seconds the canary is deployed under load: version 2 = the fixture, then
#             POST /v2/repository/models/income/load. (The route is declared first so that the new version can
#             never serve as "the newest" outside it.) The rollout API is polled every 100 ms until it reports the
#             rollback. Reported: the time from the load request to the rollback, what one gate window is at this
#             rate (100 canary requests at 5% of the rate, plus the 1 s evaluation tick), the reason the rollout
#             gives, and the failed requests: the canary's own (the marked requests it answered: income_faulty
#             only) and every other one (clean requests that failed, and for income_slow any failure at all), which
#             must be 0. The server runs with Triton's unbounded queues (ROLLBACK_SERVER_ARGS), so that a stall of
#             this machine cannot shed requests (the default sheds once a queue has not drained for 100 ms) and
#             every failure counted is the route's.
#
# Usage: benchmarks/routing.sh [overhead|shadow|shadow-cpu|rollback|all]     (default all; all leaves out shadow-cpu)
# Environment:
#   PROTOCOL       overhead and shadow: rest-binary, rest-json or grpc             (default rest-binary)
#   CONCURRENCY    overhead: closed-loop concurrency                                (default 32)
#   SECONDS_EACH   overhead and shadow: seconds per round and side                  (default 10)
#   ROUNDS         overhead and shadow: rounds                                      (default 5)
#   KEYS           routing keys (JSONL lines) for overhead                          (default 1000)
#   SHARE, RATE    shadow: share of the capacity to run at, or the rate itself     (default 0.5, measured)
#   CPU_RATE       shadow-cpu: requests/s of each side                              (default 1000)
#   CAPACITY_SLA   shadow: the SLA of the capacity search                          (default p99<25ms,errors<0.1%)
#   PROTOCOL_LIST  rollback: protocols                                              (default "rest-binary grpc")
#   ROLLBACK_RATE  rollback: requests/s of both streams together                    (default 200)
#   DURATION       rollback: seconds of load per trial                              (default 40)
#   DEPLOY_AFTER   rollback: seconds of load before the canary is deployed          (default 5)
#   ROLLBACK_SERVER_ARGS rollback: extra serve flags  (default --max-queue-batches 0 --max-queue-wait-ms 0)
#   ROLLOUT_PATH   rollback: the rollout status endpoint   (default /v2/models/income/rollout)
#   ROLLED_BACK_JQ rollback: jq test of its JSON for "rolled back"  (default: .state mentions "rolled back")
#   REASON_JQ      rollback: jq for the reason it gives     (default: the last history entry's reason, else .reason)
#   PORT           HTTP port (gRPC PORT+1, metrics PORT+2)                          (default 18200)
#   PUBLISHED      a folder holding server/ and loadtest/ already published (Release): skips publishing, so that
#                  two builds can take turns round by round (default: publish this checkout)
#   KEEP=1         keep the work folder (server logs, loadtest JSON, repositories)
# Progress goes to stderr; the summary and RESULTS.md rows to stdout. Exit 1 when a rollback trial saw a failure
# that was not the canary's own or no rollback.
set -euo pipefail
cd "$(dirname "$0")/.."
parts=${1:-all}
protocol=${PROTOCOL:-rest-binary}
concurrency=${CONCURRENCY:-32}
seconds_each=${SECONDS_EACH:-10}
rounds=${ROUNDS:-5}
keys=${KEYS:-1000}
share=${SHARE:-0.5}
cpu_rate=${CPU_RATE:-1000}
capacity_sla=${CAPACITY_SLA:-p99<25ms,errors<0.1%}
protocol_list=${PROTOCOL_LIST:-rest-binary grpc}
rollback_rate=${ROLLBACK_RATE:-200}
duration=${DURATION:-40}
rollback_server_args=${ROLLBACK_SERVER_ARGS---max-queue-batches 0 --max-queue-wait-ms 0}
deploy_after=${DEPLOY_AFTER:-5}
rollout_path=${ROLLOUT_PATH:-/v2/models/income/rollout}
rolled_back_jq=${ROLLED_BACK_JQ:-'(.state // "") | tostring | ascii_downcase | test("rolled.?back")'}
reason_jq=${REASON_JQ:-'((.history // []) | map(select(.reason != null and .reason != "")) | last | .reason) // .reason // ""'}
port=${PORT:-18200}
case "$parts" in overhead|shadow|shadow-cpu|rollback|all) ;; *) echo "usage: $0 [overhead|shadow|shadow-cpu|rollback|all]" >&2; exit 2 ;; esac
command -v jq >/dev/null || { echo "routing.sh needs jq (apt-get install jq)" >&2; exit 2; }

work=$(mktemp -d)
server= pids=
cleanup() {
  for p in $pids $server; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ "${KEEP:-0}" = 1 ]; then echo "work folder kept: $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT

if [ -n "${PUBLISHED:-}" ]; then
  ln -s "$(realpath "$PUBLISHED")/server" "$work/server"
  ln -s "$(realpath "$PUBLISHED")/loadtest" "$work/loadtest"
else
  echo "publishing the server and loadtest (Release)..." >&2
  dotnet publish server/InferenceServer -c Release -o "$work/server" --nologo -v q >/dev/null
  dotnet publish loadtests/InferenceServer.LoadTest -c Release -o "$work/loadtest" --nologo -v q >/dev/null
fi
loadtest="$work/loadtest/loadtest"
url="http://127.0.0.1:$port"
grpc_url="http://127.0.0.1:$(( port + 1 ))"
target() { [ "$1" = grpc ] && echo "$grpc_url" || echo "$url"; }

# JSONL request files from income's example records: one row per request. keyed: KEYS lines, each with its own
# routing_key parameter; clean: the two records; marked: the second record with its first feature set to 1000.
/usr/bin/python3 - "$work" "$keys" <<'PY'
import json, sys
work, keys = sys.argv[1], int(sys.argv[2])
example = json.load(open("models/income/example_request.json"))["inputs"][0]["data"]
rows = [example[:58], example[58:116]]
def line(row, parameters=None):
    request = {"inputs": [{"name": "features", "datatype": "FP32", "shape": [1, 58], "data": row}],
               "outputs": [{"name": "probability"}]}
    if parameters:
        request["parameters"] = parameters
    return json.dumps(request) + "\n"
with open(f"{work}/keyed.jsonl", "w") as f:
    for k in range(keys):
        f.write(line(rows[k % 2], {"routing_key": f"user-{k}"}))
with open(f"{work}/clean.jsonl", "w") as f:
    for row in rows:
        f.write(line(row))
with open(f"{work}/marked.jsonl", "w") as f:
    f.write(line([1000.0] + rows[1][1:]))
PY

wait_ready() { # model
  for _ in $(seq 1 300); do
    curl -sf "$url/v2/models/$1/ready" >/dev/null && return 0
    kill -0 "$server" 2>/dev/null || { tail -30 "$work/server.log" >&2; echo "the server exited" >&2; exit 1; }
    sleep 0.2
  done
  echo "$1 not ready after 60 s" >&2
  tail -30 "$work/server.log" >&2
  exit 1
}

start_server() { # repository, extra serve arguments...
  local repository=$1; shift
  "$work/server/inference-server" serve --model-repository "$repository" --http-address 127.0.0.1 --http-port "$port" \
    --grpc-port "$(( port + 1 ))" --metrics-port "$(( port + 2 ))" "$@" >>"$work/server.log" 2>&1 &
  server=$!
}

stop_server() {
  kill "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
  server=
}

run_json() { jq -r ".runs[0] | $2" "$1"; }
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# ---------------------------------------------------------------------------------------------------------------
# overhead and shadow: one server over income, income_gbt and three routes
# ---------------------------------------------------------------------------------------------------------------
if [ "$parts" = overhead ] || [ "$parts" = shadow ] || [ "$parts" = shadow-cpu ] || [ "$parts" = all ]; then
  repo="$work/repository-routes"
  mkdir -p "$repo/pair" "$repo/plain" "$repo/shadowed"
  cp -r models/income "$repo/income"
  cp -r models/income_gbt "$repo/income_gbt"
  cat >"$repo/pair/routing.pbtxt" <<'EOF'
variant [ { name: "a" model: "income" weight: 50 }, { name: "b" model: "income" weight: 50 } ]
sticky { parameter: "routing_key" }
EOF
  cat >"$repo/plain/routing.pbtxt" <<'EOF'
variant [ { name: "primary" model: "income" weight: 100 } ]
EOF
  cat >"$repo/shadowed/routing.pbtxt" <<'EOF'
variant [ { name: "primary" model: "income" weight: 100 }, { name: "shadow" model: "income_gbt" weight: 0 } ]
shadow { variant: "shadow" percent: 100 decision_output: "probability" decision_threshold: 0.5 }
EOF
  if [ "$parts" = shadow-cpu ]; then
    # shellcheck disable=SC2086 # the extra flags are separate words
    start_server "$repo" $rollback_server_args
  else
    start_server "$repo"
  fi
  for m in income income_gbt pair plain shadowed; do wait_ready "$m"; done
  echo "warming up (5 s at concurrency 8 on each name)..." >&2
  for m in income pair plain shadowed; do
    "$loadtest" --url "$(target "$protocol")" --model "$m" --protocol "$protocol" --input "$work/keyed.jsonl" \
      --concurrency 8 --duration 5s --warmup 0s --no-progress >/dev/null 2>&1 || true
  done

  if [ "$parts" = overhead ] || [ "$parts" = all ]; then
    echo "overhead: $rounds rounds of ${seconds_each}s per side, $protocol, concurrency $concurrency, $keys keys..." >&2
    : >"$work/overhead.csv"
    for r in $(seq 1 "$rounds"); do
      order="income pair"
      [ $(( r % 2 )) = 0 ] && order="pair income"
      for m in $order; do
        "$loadtest" --url "$(target "$protocol")" --model "$m" --protocol "$protocol" --input "$work/keyed.jsonl" \
          --concurrency "$concurrency" --duration "${seconds_each}s" --warmup 2s --no-progress --json "$work/overhead-$r-$m.json" \
          >"$work/overhead-$r-$m.txt" 2>&1 || true
        [ -s "$work/overhead-$r-$m.json" ] || { cat "$work/overhead-$r-$m.txt" >&2; echo "loadtest wrote no result" >&2; exit 1; }
      done
      d=$(run_json "$work/overhead-$r-income.json" '.summary.throughput')
      p=$(run_json "$work/overhead-$r-pair.json" '.summary.throughput')
      de=$(run_json "$work/overhead-$r-income.json" '.summary.errors')
      pe=$(run_json "$work/overhead-$r-pair.json" '.summary.errors')
      echo "$r,$d,$p,$de,$pe" >>"$work/overhead.csv"
      printf '  round %d: direct %.0f/s, route %.0f/s (%.3f), errors %s / %s\n' "$r" "$d" "$p" "$(awk -v a="$p" -v b="$d" 'BEGIN { print a / b }')" "$de" "$pe" >&2
    done
    direct_median=$(cut -d, -f2 "$work/overhead.csv" | median)
    route_median=$(cut -d, -f3 "$work/overhead.csv" | median)
    ratio_median=$(awk -F, '{ print $3 / $2 }' "$work/overhead.csv" | median)
    ratio_range=$(awk -F, '{ r = $3 / $2; if (NR == 1 || r < lo) lo = r; if (NR == 1 || r > hi) hi = r } END { printf "%.3f-%.3f", lo, hi }' "$work/overhead.csv")
    overhead_errors=$(awk -F, '{ s += $4 + $5 } END { print s + 0 }' "$work/overhead.csv")
    echo
    echo "overhead: $protocol, concurrency $concurrency, $rounds interleaved rounds of ${seconds_each}s, $keys routing keys"
    echo "| protocol | concurrency | direct model (median) | 2-variant sticky route (median) | route / direct (median of paired rounds) | range | failed |"
    echo "|---|---|---|---|---|---|---|"
    printf '| %s | %s | %.0f/s | %.0f/s | %.3f | %s | %s |\n' "$protocol" "$concurrency" "$direct_median" "$route_median" "$ratio_median" "$ratio_range" "$overhead_errors"
  fi

  if [ "$parts" = shadow ] || [ "$parts" = all ]; then
    if [ -n "${RATE:-}" ]; then
      rate=$RATE
    else
      # Open-loop capacity under an SLA, as soak.sh and overload.sh search it: a closed loop's throughput overstates what
      # Poisson arrivals can be served at, and half of it already overloaded this 2-core machine's tail.
      "$loadtest" --url "$(target "$protocol")" --model plain --protocol "$protocol" --input "$work/clean.jsonl" \
        --find-max-rate --sla "$capacity_sla" --start-rate 1000 --duration 3s --warmup 1s --max-trial-duration 6s \
        --max-trials 16 --no-progress --json "$work/capacity.json" >"$work/capacity.txt" 2>&1 || true
      capacity=$(jq -r '.runs[0].capacity.maxRate // empty' "$work/capacity.json" 2>/dev/null || true)
      [ -n "$capacity" ] && [ "$capacity" != null ] || { cat "$work/capacity.txt" >&2; echo "the capacity search found no rate" >&2; exit 1; }
      rate=$(awk -v c="$capacity" -v s="$share" 'BEGIN { printf "%d", c * s }')
      echo "capacity of plain (open loop, $capacity_sla): $(printf '%.0f' "$capacity")/s -> $rate/s" >&2
    fi
    echo "shadow: $rounds rounds of ${seconds_each}s per side at $rate/s (Poisson), $protocol..." >&2
    : >"$work/shadow.csv"
    counters=$(command -v dotnet-counters || { [ -x "$HOME/.dotnet/tools/dotnet-counters" ] && echo "$HOME/.dotnet/tools/dotnet-counters"; } || true)
    # The collections of each generation during a side, "gen0/gen1/gen2", from the per-second rates dotnet-counters wrote.
    gc_counts() { awk -F, '/gc.collections/ { g = $3; sub(/.*generation=/, "", g); sub(/\].*/, "", g); n[g] += $5 }
      END { printf "%d/%d/%d", n["gen0"], n["gen1"], n["gen2"] }' "$1" 2>/dev/null || echo "-/-/-"; }
    for r in $(seq 1 "$rounds"); do
      order="plain shadowed"
      [ $(( r % 2 )) = 0 ] && order="shadowed plain"
      for m in $order; do
        counting=
        if [ -n "$counters" ]; then
          "$counters" collect -p "$server" --counters System.Runtime --format csv -o "$work/gc-$r-$m.csv" \
            --duration "00:00:$(printf '%02d' $(( seconds_each + 2 )))" >/dev/null 2>&1 &
          counting=$!
        fi
        "$loadtest" --url "$(target "$protocol")" --model "$m" --protocol "$protocol" --input "$work/clean.jsonl" \
          --rate "$rate" --arrival poisson --seed "$r" --duration "${seconds_each}s" --warmup 2s --no-progress \
          --json "$work/shadow-$r-$m.json" >"$work/shadow-$r-$m.txt" 2>&1 || true
        [ -n "$counting" ] && wait "$counting" 2>/dev/null || true
        [ -s "$work/shadow-$r-$m.json" ] || { cat "$work/shadow-$r-$m.txt" >&2; echo "loadtest wrote no result" >&2; exit 1; }
      done
      a=$(run_json "$work/shadow-$r-plain.json" '.latencyMs.p99')
      b=$(run_json "$work/shadow-$r-shadowed.json" '.latencyMs.p99')
      ae=$(run_json "$work/shadow-$r-plain.json" '.summary.errors')
      be=$(run_json "$work/shadow-$r-shadowed.json" '.summary.errors')
      ag=$(gc_counts "$work/gc-$r-plain.csv") bg=$(gc_counts "$work/gc-$r-shadowed.csv")
      echo "$r,$a,$b,$ae,$be,$ag,$bg" >>"$work/shadow.csv"
      printf '  round %d: p99 without %.2f ms, with %.2f ms (%.2f), errors %s / %s%s\n' "$r" "$a" "$b" "$(awk -v a="$b" -v b="$a" 'BEGIN { print a / b }')" "$ae" "$be" \
        "${counters:+, collections gen0/1/2 without $ag, with $bg}" >&2
    done
    plain_p99=$(cut -d, -f2 "$work/shadow.csv" | median)
    shadow_p99=$(cut -d, -f3 "$work/shadow.csv" | median)
    ratio_median=$(awk -F, '{ print $3 / $2 }' "$work/shadow.csv" | median)
    ratio_range=$(awk -F, '{ r = $3 / $2; if (NR == 1 || r < lo) lo = r; if (NR == 1 || r > hi) hi = r } END { printf "%.2f-%.2f", lo, hi }' "$work/shadow.csv")
    shadow_errors=$(awk -F, '{ s += $4 + $5 } END { print s + 0 }' "$work/shadow.csv")
    # What the shadow did: the route's shadow counters (sampled, compared, dropped, failed) and the disagreement.
    shadow_metrics=$(curl -s "http://127.0.0.1:$(( port + 2 ))/metrics" \
      | grep -E '^inference_server_route_shadow_(sampled_total|compared_total|dropped_total|failed_total|mean_abs_difference)\{route="shadowed"' \
      | sed 's/^inference_server_route_shadow_//; s/{[^}]*}//' | tr '\n' ' ' || true)
    echo
    echo "shadow: $protocol, $rate/s open loop (Poisson)${capacity:+, $share of the capacity $(printf '%.0f' "$capacity")/s}, $rounds interleaved rounds of ${seconds_each}s"
    echo "shadow metrics after the runs: ${shadow_metrics:-none found}"
    echo "| protocol | rate | primary p99 without shadow (median) | with a 100% shadow (median) | with / without (median of paired rounds) | range | failed |"
    echo "|---|---|---|---|---|---|---|"
    printf '| %s | %s/s | %.2f ms | %.2f ms | %.2f | %s | %s |\n' "$protocol" "$rate" "$plain_p99" "$shadow_p99" "$ratio_median" "$ratio_range" "$shadow_errors"
    if [ -n "$counters" ]; then
      echo "garbage collections per side of ${seconds_each}s (+2 s warm-up), gen0/gen1/gen2, round by round: without $(cut -d, -f6 "$work/shadow.csv" | paste -sd' '), with $(cut -d, -f7 "$work/shadow.csv" | paste -sd' ')"
    fi
  fi

  if [ "$parts" = shadow-cpu ]; then
    hz=$(getconf CLK_TCK)
    cpu_ticks() { sed 's/.*) //' "/proc/$server/stat" | awk '{ print $12 + $13 }'; }
    shadow_runs() { curl -s "$url/v2/models/income_gbt/stats" | jq '.model_stats[0].execution_count // 0'; }
    echo "shadow-cpu: $rounds rounds of ${seconds_each}s per side at $cpu_rate/s (Poisson), $protocol; load average $(cut -d' ' -f1-3 /proc/loadavg)..." >&2
    : >"$work/shadow-cpu.csv"
    for r in $(seq 1 "$rounds"); do
      order="plain shadowed"
      [ $(( r % 2 )) = 0 ] && order="shadowed plain"
      for m in $order; do
        t0=$(cpu_ticks); g0=$(shadow_runs)
        "$loadtest" --url "$(target "$protocol")" --model "$m" --protocol "$protocol" --input "$work/clean.jsonl" \
          --rate "$cpu_rate" --arrival poisson --seed "$r" --duration "${seconds_each}s" --warmup 0s --no-progress \
          --json "$work/shadow-cpu-$r-$m.json" >"$work/shadow-cpu-$r-$m.txt" 2>&1 || true
        [ -s "$work/shadow-cpu-$r-$m.json" ] || { cat "$work/shadow-cpu-$r-$m.txt" >&2; echo "loadtest wrote no result" >&2; exit 1; }
        sleep 1
        t1=$(cpu_ticks); g1=$(shadow_runs)
        eval "ticks_$m=\$(( t1 - t0 )) runs_$m=\$(( g1 - g0 ))"
        eval "ok_$m=\$(run_json \"\$work/shadow-cpu-\$r-\$m.json\" '.summary.successes')"
      done
      # shellcheck disable=SC2154 # set by the eval above
      line=$(awk -v hz="$hz" -v tp="$ticks_plain" -v ts="$ticks_shadowed" -v np="$ok_plain" -v ns="$ok_shadowed" -v runs="$runs_shadowed" \
        'BEGIN { p = tp / hz * 1e6 / np; s = ts / hz * 1e6 / ns; printf "%.1f,%.1f,%.1f,%.1f", p, s, s - p, (runs > 0 ? ns / runs : 0) }')
      echo "$r,$line,$(cut -d' ' -f1 /proc/loadavg)" >>"$work/shadow-cpu.csv"
      echo "  round $r: CPU per request without $(cut -d, -f1 <<<"$line") us, with $(cut -d, -f2 <<<"$line") us: $(cut -d, -f3 <<<"$line") us per copy, $(cut -d, -f4 <<<"$line") copies per shadow run" >&2
    done
    echo
    echo "shadow-cpu: $protocol, $cpu_rate/s open loop (Poisson), $rounds interleaved rounds of ${seconds_each}s; load average at the end $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "| server CPU per request without shadow (median) | with a 100% shadow (median) | CPU per copy (median of paired rounds) | range | copies per shadow run (median) |"
    echo "|---|---|---|---|---|"
    printf '| %.1f us | %.1f us | %.1f us | %s | %.1f |\n' "$(cut -d, -f2 "$work/shadow-cpu.csv" | median)" "$(cut -d, -f3 "$work/shadow-cpu.csv" | median)" \
      "$(cut -d, -f4 "$work/shadow-cpu.csv" | median)" \
      "$(awk -F, '{ if (NR == 1 || $4 < lo) lo = $4; if (NR == 1 || $4 > hi) hi = $4 } END { printf "%.1f to %.1f us", lo, hi }' "$work/shadow-cpu.csv")" \
      "$(cut -d, -f5 "$work/shadow-cpu.csv" | median)"
  fi
  stop_server
fi

# ---------------------------------------------------------------------------------------------------------------
# rollback: a faulty canary deployed under load, per fixture and protocol
# ---------------------------------------------------------------------------------------------------------------
if [ "$parts" = rollback ] || [ "$parts" = all ]; then
  clean_rate=$(awk -v r="$rollback_rate" 'BEGIN { printf "%d", r * 0.95 }')
  marked_rate=$(awk -v r="$rollback_rate" 'BEGIN { printf "%d", r * 0.05 }')
  window=$(awk -v r="$marked_rate" -v c="$clean_rate" 'BEGIN { printf "%.1f", 100 / ((r + c) * 0.05) + 1 }')
  failed_trials=0
  rows=()
  for fixture in income_faulty income_slow; do
    for proto in $protocol_list; do
      echo "rollback: $fixture over $proto, $rollback_rate/s ($clean_rate clean + $marked_rate marked), canary deployed after ${deploy_after}s of ${duration}s..." >&2
      trial="$fixture-$proto"
      repo="$work/repository-$trial"
      mkdir -p "$repo"
      cp -r models/income "$repo/income"
      printf '\nversion_policy: { all: {} }\n' >>"$repo/income/config.pbtxt"
      cat >"$repo/income/routing.pbtxt" <<'EOF'
variant [ { name: "stable" version: 1 weight: 100 }, { name: "canary" version: 2 weight: 0 } ]
rollout { canary: "canary" steps: [ 5, 25, 50, 100 ] min_step_seconds: 60 }
EOF
      # shellcheck disable=SC2086 # the extra flags are separate words
      start_server "$repo" --model-control-mode explicit --load-model income $rollback_server_args
      wait_ready income
      for stream in clean marked; do
        stream_rate=$clean_rate
        [ "$stream" = marked ] && stream_rate=$marked_rate
        "$loadtest" --url "$(target "$proto")" --model income --protocol "$proto" --input "$work/$stream.jsonl" \
          --rate "$stream_rate" --arrival poisson --seed 13 --duration "${duration}s" --warmup 0s --sample-interval 1s \
          --no-progress --json "$work/$trial-$stream.json" >"$work/$trial-$stream.txt" 2>&1 &
        pids="$pids $!"
      done
      load_started=$(date +%s.%N)
      sleep "$deploy_after"

      mkdir -p "$repo/income/2"
      cp "tests/fixtures/onnx/$fixture.onnx" "$repo/income/2/model.onnx"
      deployed=$(date +%s.%N)
      status=$(curl -s -o "$work/$trial-load.txt" -w '%{http_code}' -X POST "$url/v2/repository/models/income/load" -m 60 || echo 000)
      [ "$status" = 200 ] || echo "  the load that deploys the canary answered $status: $(cat "$work/$trial-load.txt")" >&2

      rolled_back= reason= last_status=
      while [ -z "$rolled_back" ] && awk -v s="$load_started" -v d="$duration" -v n="$(date +%s.%N)" 'BEGIN { exit !(n - s < d) }'; do
        code=$(curl -s -o "$work/$trial-rollout.json" -w '%{http_code}' "$url$rollout_path" -m 2 || echo 000)
        if [ "$code" = 200 ] && jq -e "$rolled_back_jq" "$work/$trial-rollout.json" >/dev/null 2>&1; then
          rolled_back=$(date +%s.%N)
          reason=$(jq -r "$reason_jq" "$work/$trial-rollout.json" 2>/dev/null || true)
        else
          last_status="$code $(head -c 300 "$work/$trial-rollout.json" 2>/dev/null || true)"
          sleep 0.1
        fi
      done
      for p in $pids; do wait "$p" 2>/dev/null || true; done
      pids=
      cp "$work/$trial-rollout.json" "$work/$trial-rollout-final.json" 2>/dev/null || true
      stop_server

      for stream in clean marked; do
        [ -s "$work/$trial-$stream.json" ] || { cat "$work/$trial-$stream.txt" >&2; echo "loadtest wrote no result for the $stream stream" >&2; exit 1; }
      done
      requests=$(( $(run_json "$work/$trial-clean.json" '.summary.requests') + $(run_json "$work/$trial-marked.json" '.summary.requests') ))
      clean_failed=$(run_json "$work/$trial-clean.json" '.summary.errors')
      marked_failed=$(run_json "$work/$trial-marked.json" '.summary.errors')
      if [ "$fixture" = income_faulty ]; then own=$marked_failed other=$clean_failed; else own=0 other=$(( clean_failed + marked_failed )); fi
      if [ -n "$rolled_back" ]; then
        after="$(awk -v a="$deployed" -v b="$rolled_back" 'BEGIN { printf "%.1f", b - a }') s"
        # Failures in the 1 s intervals that began more than a second after the rollback was seen: there should be none.
        since=$(awk -v a="$load_started" -v b="$rolled_back" 'BEGIN { printf "%.1f", b - a + 1 }')
        late=$(( $(run_json "$work/$trial-clean.json" "[.timeSeries[] | select(.t > $since) | .errors] | add // 0") + $(run_json "$work/$trial-marked.json" "[.timeSeries[] | select(.t > $since) | .errors] | add // 0") ))
      else
        after="none in ${duration} s" late=-
        echo "  no rollback seen at $rollout_path (last answer: ${last_status:-none})" >&2
        failed_trials=$(( failed_trials + 1 ))
      fi
      [ "$other" = 0 ] || failed_trials=$(( failed_trials + 1 ))
      echo "  $trial: rollback after $after (gate window about $window s): ${reason:-no reason given}; requests $requests, canary's own failures $own, other failures $other, failures after the rollback $late" >&2
      run_json "$work/$trial-clean.json" '.errorsByKind[]? | "    clean stream failed: \(.kind) x\(.count) (\(.sample))"' >&2
      run_json "$work/$trial-marked.json" '.errorsByKind[]? | "    marked stream failed: \(.kind) x\(.count) (\(.sample))"' >&2
      rows+=("$(printf '| %s | %s | %s/s | %s | %s s | %s | %s | %s | %s | %s |' "$fixture" "$proto" "$rollback_rate" "$after" "$window" "${reason:-}" "$requests" "$own" "$other" "$late")")
    done
  done
  echo
  echo "rollback: income v1 stable, the fixture as canary v2 deployed under load after ${deploy_after}s (steps 5/25/50/100, 100 canary requests per gate window), ${duration}s per trial, 5% of requests marked, serve flags: ${rollback_server_args:-none}"
  echo "| canary | protocol | rate | rollback after the deploy | one gate window | reason | requests | canary's own failures | other failures | failures after the rollback |"
  echo "|---|---|---|---|---|---|---|---|---|---|"
  printf '%s\n' "${rows[@]}"
  [ "$failed_trials" = 0 ]
fi
