#!/usr/bin/env bash
# Hot-swap under load (issue 6, "Measured"): while `income` is driven open loop at about 70% of its
# capacity over REST binary, a new version replaces the serving one 20 times — dropped into the
# repository in poll mode, then loaded through the repository API in explicit mode. Targets: no failed
# request, and the p99 of the run during the swaps at most 2x the p99 of a steady-state run at the same rate.
#
# Per phase, a Release build serves a temporary repository holding only a copy of models/income
# (default version policy `latest { num_versions: 1 }`, so each new version retires the previous one):
#   1. steady: `loadtest --rate R` for STEADY seconds (after 2 s of warm-up); its p99 is the reference;
#   2. swaps:  the same load started in the background with a long --duration; after its warm-up the
#      20 swaps run one after another, one starting every EVERY seconds (default 1), each waiting
#      until the repository index shows version N+1 READY
#      and version N UNAVAILABLE (retired and drained); then the load is stopped with SIGINT, which
#      makes loadtest report what it measured so far, so the window is exactly the swap period.
#   poll:     version folder N+1 gets model.onnx then the marker file DONE (--repository-poll-marker
#             DONE), the server notices it through file-system events or the 1 s rescan.
#   explicit: version folder N+1 gets model.onnx, then POST /v2/repository/models/income/load
#             (a reload: answers once the new version serves).
# R is 70% of the capacity found with `loadtest --find-max-rate --sla "p99<10ms,errors<0.1%"` against the
# poll server (short trials), unless given.
#
# Usage: benchmarks/hot-swap.sh [rate|find] [swaps] [steady-seconds]   (defaults: find 20 20)
# Environment: PORT (18020; metrics on PORT+2), SHARE (0.7), EVERY (1: a swap starts every EVERY
# seconds, or as soon as the previous one is done if that takes longer; 0: back to back), KEEP=1 keeps the work folder (logs, JSON).
# Progress goes to stderr, the summary table to stdout.
set -euo pipefail
cd "$(dirname "$0")/.."
rate_arg=${1:-find}
swaps=${2:-20}
steady=${3:-20}
port=${PORT:-18020}
share=${SHARE:-0.7}
every=${EVERY:-1}

work=$(mktemp -d)
server=
load=
cleanup() {
  [ -n "$load" ] && kill "$load" 2>/dev/null
  [ -n "$server" ] && kill "$server" 2>/dev/null
  wait 2>/dev/null
  if [ "${KEEP:-0}" = 1 ]; then echo "work folder kept: $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT

echo "publishing the server and loadtest (Release)..." >&2
dotnet publish server/InferenceServer -c Release -o "$work/server" --nologo -v q >/dev/null
dotnet publish loadtests/InferenceServer.LoadTest -c Release -o "$work/loadtest" --nologo -v q >/dev/null
loadtest="$work/loadtest/loadtest"
url="http://127.0.0.1:$port"

start_server() { # phase, extra serve arguments...
  local phase=$1; shift
  rm -rf "$work/repository"
  mkdir -p "$work/repository"
  cp -r models/income "$work/repository/income"
  touch "$work/repository/income/1/DONE"
  "$work/server/inference-server" serve --model-repository "$work/repository" \
    --http-address 127.0.0.1 --http-port "$port" --metrics-port "$(( port + 2 ))" "$@" >"$work/server-$phase.log" 2>&1 &
  server=$!
  for _ in $(seq 1 300); do
    curl -sf "$url/v2/models/income/ready" >/dev/null && return 0
    kill -0 "$server" 2>/dev/null || { cat "$work/server-$phase.log" >&2; exit 1; }
    sleep 0.2
  done
  echo "server ($phase) not ready after 60 s" >&2; exit 1
}
stop_server() {
  kill "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
  server=
}

# Open-loop load at $rate, REST binary, Poisson arrivals; stdout/JSON into $work/<name>.{txt,json}.
run_load() { # name, duration, extra flags...
  local name=$1 duration=$2; shift 2
  "$loadtest" --url "$url" --model income --protocol rest-binary --rate "$rate" --arrival poisson --seed 6 \
    --duration "$duration" --warmup 2s --no-progress --json "$work/$name.json" "$@" >"$work/$name.txt" 2>&1
}

# The swap loop, in one Python process (no process start per index poll): prints per-swap seconds.
swap() { # mode (poll|explicit)
  /usr/bin/python3 - "$1" "$swaps" "$url" "$work/repository/income" "$every" <<'PY'
import json, shutil, sys, time, urllib.request, urllib.error
mode, swaps, url, folder, every = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], float(sys.argv[5])

def post(path, body=b"{}"):
    req = urllib.request.Request(url + path, data=body, method="POST", headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=120) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()

def states():
    status, body = post("/v2/repository/index")
    if status != 200:
        raise SystemExit(f"index: HTTP {status} {body[:300]!r}")
    return {int(r["version"]): (r.get("state"), r.get("reason", "")) for r in json.loads(body)
            if r.get("name") == "income" and r.get("version")}

times = []
first = time.monotonic()
for n in range(2, swaps + 2):
    time.sleep(max(0.0, first + (n - 2) * every - time.monotonic()))   # swap k starts at k * every
    started = time.monotonic()
    shutil.copytree(f"{folder}/1", f"{folder}/{n}", ignore=shutil.ignore_patterns("DONE"))
    if mode == "poll":
        open(f"{folder}/{n}/DONE", "w").close()   # the marker, written last
    else:
        status, body = post("/v2/repository/models/income/load")
        if status != 200:
            raise SystemExit(f"swap {n - 1}: load answered HTTP {status} {body[:300]!r}")
    while True:
        s = states()
        if s.get(n, ("",))[0] == "READY" and s.get(n - 1, ("",))[0] == "UNAVAILABLE":
            break
        if s.get(n, ("",))[0] == "UNAVAILABLE":
            raise SystemExit(f"swap {n - 1}: version {n} failed: {s[n][1]}")
        if time.monotonic() - started > 60:
            raise SystemExit(f"swap {n - 1}: version {n} not serving (or {n - 1} not retired) after 60 s: {s}")
        time.sleep(0.05)
    times.append(time.monotonic() - started)
print(f"{len(times)} swaps, seconds each: min {min(times):.2f}, mean {sum(times) / len(times):.2f}, max {max(times):.2f}",
      file=sys.stderr)
PY
}

# loadtest stops on SIGINT and still writes its results; a background job of a script inherits SIGINT
# ignored (and .NET keeps it so), hence the disposition is reset before exec.
start_background_load() { # name
  /usr/bin/python3 -c 'import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); os.execv(sys.argv[1], sys.argv[1:])' \
    "$loadtest" --url "$url" --model income --protocol rest-binary --rate "$rate" --arrival poisson --seed 7 \
    --duration 600s --warmup 2s --no-progress --json "$work/$1.json" >"$work/$1.txt" 2>&1 &
  load=$!
}

field() { # json-file, jq filter over the first run
  jq -r ".runs[0] | $2" "$1"
}

rows=()
phase() { # name, serve arguments...
  local name=$1; shift
  start_server "$name" "$@"
  if [ -z "${rate:-}" ]; then
    # A cold server and generator (JIT, connections) fail the first trial whatever its rate: warm both first.
    echo "warming up (5 s at 500/s), then the capacity search (p99<10ms, errors<0.1%, 3 s trials)..." >&2
    "$loadtest" --url "$url" --model income --protocol rest-binary --rate 500 --duration 5s --warmup 0s --no-progress >/dev/null 2>&1 || true
    "$loadtest" --url "$url" --model income --protocol rest-binary --find-max-rate --sla "p99<10ms,errors<0.1%" \
      --start-rate 2000 --duration 3s --warmup 1s --no-progress --json "$work/capacity.json" >"$work/capacity.txt" 2>&1 || true
    capacity=$(field "$work/capacity.json" '.capacity.maxRate // empty')
    [ -n "$capacity" ] && [ "$capacity" != null ] || { cat "$work/capacity.txt" >&2; echo "capacity search found no rate" >&2; exit 1; }
    rate=$(awk -v c="$capacity" -v s="$share" 'BEGIN { printf "%d", c * s }')
    echo "capacity $capacity/s -> rate $rate/s" >&2
  fi
  echo "$name: steady state, $steady s at $rate/s..." >&2
  run_load "$name-steady" "${steady}s" || true
  echo "$name: $swaps swaps under the same load..." >&2
  start_background_load "$name-swaps"
  sleep 3   # the warm-up (2 s) and a second of undisturbed load
  local swap_ok=1
  swap "$name" || swap_ok=0
  sleep 1
  kill -INT "$load" 2>/dev/null || true
  wait "$load" || true
  load=
  [ "$swap_ok" = 1 ] || echo "$name: the swaps did not complete (see above)" >&2
  local versions
  versions=$(curl -s -X POST "$url/v2/repository/index" | jq -c '[.[] | select(.name == "income") | "\(.version):\(.state)"] | .[-3:]')
  echo "$name: index at the end (last 3): $versions" >&2
  stop_server
  for part in steady swaps; do
    local f="$work/$name-$part.json"
    [ -s "$f" ] || { cat "$work/$name-$part.txt" >&2; echo "no result for $name-$part" >&2; exit 1; }
    field "$f" '.errorsByKind[]? | "  \(.kind): \(.count) (\(.sample))"' | sed "s/^/$name-$part errors/" >&2
  done
  local sp wp
  sp=$(field "$work/$name-steady.json" '.latencyMs.p99')
  wp=$(field "$work/$name-swaps.json" '.latencyMs.p99')
  rows+=("$(awk -v n="$name" -v sp="$sp" -v wp="$wp" -v ok="$swap_ok" \
    -v sreq="$(field "$work/$name-steady.json" '.summary.requests')" -v serr="$(field "$work/$name-steady.json" '.summary.errors')" \
    -v wreq="$(field "$work/$name-swaps.json" '.summary.requests')" -v werr="$(field "$work/$name-swaps.json" '.summary.errors')" \
    -v wsec="$(field "$work/$name-swaps.json" '.summary.durationSeconds')" -v late="$(field "$work/$name-swaps.json" '.schedule.lateShare // 0')" \
    -v wmax="$(field "$work/$name-swaps.json" '.latencyMs.max')" -v sps="$(field "$work/$name-steady.json" '.latencyMs.p50')" -v wps="$(field "$work/$name-swaps.json" '.latencyMs.p50')" \
    'BEGIN { r = wp / sp
      printf "| %s | %s | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %d / %d | %d / %d | %.0f s | %.1f%% | %s |",
        n, (ok ? "yes" : "NO"), sps, sp, wps, wp, r, wmax, serr, sreq, werr, wreq, wsec, late * 100,
        (werr == 0 && ok && r <= 2 ? "met" : "NOT met") }')")
}

rate=
[ "$rate_arg" != find ] && rate=$rate_arg
phase poll --model-control-mode poll --repository-poll-secs 1 --repository-poll-marker DONE
phase explicit --model-control-mode explicit --load-model income

echo
echo "rate: $rate/s open loop (Poisson), REST binary${capacity:+; capacity $capacity/s at p99<10ms, errors<0.1%}; $swaps swaps per phase, one every ${every} s"
echo
echo "| phase | swaps done | steady p50 ms | steady p99 ms | swaps p50 ms | swaps p99 ms | p99 ratio | swaps max ms | steady failed / requests | swaps failed / requests | swap window | late starts (swaps) | target (0 failed, ratio <= 2) |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|"
printf '%s\n' "${rows[@]}"
