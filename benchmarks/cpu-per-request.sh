#!/usr/bin/env bash
# Server CPU time per request of `income`, for two or more server builds run side by side, in alternating order.
# On a machine where the load generator and the server share the cores, throughput at high concurrency is bound by
# the CPU the server spends per request; unlike throughput, that figure holds up while other work shares the machine.
# For each build, protocol, concurrency and round: a 2 s warm-up run, then a measured closed-loop run; the server's
# user + system CPU time (from /proc/<pid>/stat) and, where `perf` is installed, its context switches (`perf stat -e
# context-switches`, every thread, those that exit included) over the measured run are divided by the requests
# answered in it. Every server runs with
# --max-queue-batches 0: on a machine busy enough to stall for 100 ms a closed loop at concurrency 32 would otherwise be
# shed, and refusals cost less than answers. Linux only. Prints one line per run; the loadtest JSON results stay in
# the output folder.
#
# Usage: benchmarks/cpu-per-request.sh <label>=<published-server-folder> <label>=<folder> ... 
#   e.g. benchmarks/cpu-per-request.sh main=/tmp/main-server new=/tmp/new-server
# Environment: SECONDS_PER_RUN (default 8), ROUNDS (default 3), PROTOCOLS (default "rest-binary grpc"),
#   CONCURRENCIES (default "32"), PORT (base port, default 18700; build i uses PORT+10i .. +2), OUT (default
#   benchmarks/cpu-per-request-results), LOADTEST (default: a Release build of loadtests/).
set -euo pipefail
cd "$(dirname "$0")/.."
source benchmarks/lib.sh
[ $# -ge 2 ] || { echo "usage: benchmarks/cpu-per-request.sh <label>=<server-folder> <label>=<server-folder> ..." >&2; exit 2; }
seconds=${SECONDS_PER_RUN:-8}
rounds=${ROUNDS:-3}
port=${PORT:-18700}
out=${OUT:-benchmarks/cpu-per-request-results}
ensure_loadtest
mkdir -p "$out"
rm -f "$out"/*.json "$out/runs.txt"

work=$(mktemp -d)
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"' EXIT
mkdir -p "$work/repository"
cp -r models/income "$work/repository/"

declare -A pid base
labels=()
i=0
for side in "$@"; do
  label=${side%%=*}
  folder=${side#*=}
  labels+=("$label")
  base[$label]=$((port + 10 * i))
  # A build from before admission control (issue 12) has no shedding to turn off, and no flag for it.
  shedding=()
  if "$folder/inference-server" serve --help 2>/dev/null | grep -q -- '--max-queue-batches'; then shedding=(--max-queue-batches 0); fi
  "$folder/inference-server" serve --model-repository "$work/repository" "${shedding[@]}" --http-address 127.0.0.1 \
    --http-port "${base[$label]}" --grpc-port $((base[$label] + 1)) --metrics-port $((base[$label] + 2)) >"$out/$label.log" 2>&1 &
  pid[$label]=$!
  pids+=($!)
  i=$((i + 1))
done
for label in "${labels[@]}"; do wait_ready "http://127.0.0.1:${base[$label]}/v2/health/ready"; done
ticks_per_second=$(getconf CLK_TCK)

for round in $(seq 1 "$rounds"); do
  for protocol in ${PROTOCOLS:-rest-binary grpc}; do
    for c in ${CONCURRENCIES:-32}; do
      # Rotate which build goes first, and reverse every other round, so a drift of the machine favours none.
      k=$(((round - 1) % ${#labels[@]}))
      order=("${labels[@]:k}" "${labels[@]:0:k}")
      if [ $((round % 2)) = 0 ]; then
        mapfile -t order < <(printf '%s\n' "${order[@]}" | tac)
      fi
      for label in "${order[@]}"; do
        p=${base[$label]}
        [ "$protocol" = grpc ] && p=$((p + 1))
        "$LOADTEST" --url "http://127.0.0.1:$p" --model income --protocol "$protocol" --concurrency "$c" --duration 2s \
          --warmup 0s >/dev/null 2>&1 || true
        load=$(cut -d' ' -f1 /proc/loadavg)
        t0=$(cpu_ticks "${pid[$label]}")
        json="$out/$label-$protocol-c$c-r$round.json"
        perf_pid=""
        rm -f "$work/switches"
        if command -v perf >/dev/null; then
          perf stat -e context-switches -x, -o "$work/switches" -p "${pid[$label]}" >/dev/null 2>&1 &
          perf_pid=$!
        fi
        "$LOADTEST" --url "http://127.0.0.1:$p" --model income --protocol "$protocol" --concurrency "$c" \
          --duration "${seconds}s" --warmup 0s --json "$json" >/dev/null 2>&1 || true
        t1=$(cpu_ticks "${pid[$label]}")
        switches=-1
        if [ -n "$perf_pid" ]; then
          kill -INT "$perf_pid" 2>/dev/null || true
          wait "$perf_pid" 2>/dev/null || true
          switches=$(awk -F, '/context-switches/ { print $1 }' "$work/switches" 2>/dev/null || echo -1)
        fi
        /usr/bin/python3 - "$json" "$label" "$protocol" "$c" "$round" $((t1 - t0)) "$ticks_per_second" "${switches:--1}" "$load" <<'PY'
import json, sys
path, label, protocol, c, round_, ticks, hz, switches, load = sys.argv[1:]
run = json.load(open(path))["runs"][0]
s, latency = run["summary"], run["latencyMs"]
n = s["requests"]
print(f"r{round_} {protocol} c={c} {label}: cpu_us_per_request={int(ticks) * 1e6 / int(hz) / n:.1f} "
      f"switches_per_request={(f'{int(switches) / n:.2f}' if int(switches) >= 0 else 'n/a')} requests_per_s={s['throughput']:.0f} p50_ms={latency['p50']:.3f} "
      f"p99_ms={latency['p99']:.3f} requests={n} errors={s['errors']} load_average={load}", flush=True)
PY
      done 2>&1 | tee -a "$out/runs.txt"
    done
  done
done

# Medians of the rounds, and of each round's ratio to the first build (the two ran back to back in that round).
/usr/bin/python3 - "$out/runs.txt" "${labels[0]}" <<'PY'
import re, statistics, sys
runs = {}
for line in open(sys.argv[1]):
    m = re.match(r"r(\d+) (\S+) c=(\d+) (\S+): cpu_us_per_request=([0-9.]+) switches_per_request=(\S+) requests_per_s=(\d+) p50_ms=([0-9.]+)", line)
    if m:
        r, protocol, c, label, cpu, switches, rps, p50 = m.groups()
        runs[(protocol, int(c), label, int(r))] = (float(cpu), None if switches == "n/a" else float(switches), float(rps), float(p50))
base = sys.argv[2]
print(f"\n| protocol | c | build | CPU µs/request | switches/request | requests/s | p50 ms | CPU vs {base} | p50 vs {base} |")
print("|---|---|---|---|---|---|---|---|---|")
for protocol, c in sorted({(k[0], k[1]) for k in runs}):
    for label in dict.fromkeys(k[2] for k in runs if k[:2] == (protocol, c)):
        mine = {k[3]: v for k, v in runs.items() if k[:3] == (protocol, c, label)}
        theirs = {k[3]: v for k, v in runs.items() if k[:3] == (protocol, c, base)}
        med = lambda i: statistics.median(v[i] for v in mine.values() if v[i] is not None) if any(v[i] is not None for v in mine.values()) else float("nan")
        def ratio(i):
            values = sorted(mine[r][i] / theirs[r][i] for r in mine if r in theirs)
            return f"{statistics.median(values):.2f}× ({values[0]:.2f}–{values[-1]:.2f})" if label != base and values else "—"
        print(f"| {protocol} | {c} | {label} | {med(0):.1f} | {med(1):.2f} | {med(2):,.0f} | {med(3):.3f} | {ratio(0)} | {ratio(3)} |")
PY
