#!/usr/bin/env bash
# Predict by entity (issue 14) for two or more builds side by side, in alternating order: the CPU each process spends
# per request (server, feature sidecar, Redis: user + system time from /proc/<pid>/stat over the measured run, divided
# by the requests answered), their voluntary context switches per request (wake-ups, summed over each process's
# threads from /proc/<pid>/task/*/status; threads that exit during the run are missed), and the closed-loop throughput and p99 at
# concurrency 32; then the c=1 p50 of predict by entity and of plain infer of the same entities, whose difference is the
# store hop's overhead, with each process's CPU and voluntary switches per request in those c=1 runs. Each build runs its own server and sidecar on one shared Redis. The servers run with
# --max-queue-batches 0, as in cpu-per-request.sh: a machine that stalls for 100 ms would otherwise start them shedding. On a loaded machine trust the
# CPU per request and the per-round ratios over throughput.
#
# Usage: benchmarks/features-cpu.sh <label>=<folder>[:<server-flag>,...] <label>=<folder> ...
#   each folder holding server/ and sidecar/, Release publishes of server/InferenceServer and
#   server/InferenceServer.FeatureSidecar (e.g. `dotnet publish server/InferenceServer -c Release -o F/server`).
# Environment: SECONDS_PER_RUN (default 8), ROUNDS (default 5), PORT (base, default 18800: build i uses PORT+10i..+2,
#   Redis PORT+90), OUT (default benchmarks/features-cpu-results), LOADTEST (default: a Release build of loadtests/),
#   ENTITIES (default 100000), C1 (1, the default; 0 skips the c=1 runs).
set -euo pipefail
cd "$(dirname "$0")/.."
source benchmarks/lib.sh
[ $# -ge 1 ] || { echo "usage: benchmarks/features-cpu.sh <label>=<folder> ..." >&2; exit 2; }
seconds=${SECONDS_PER_RUN:-8}
rounds=${ROUNDS:-5}
port=${PORT:-18800}
out=${OUT:-benchmarks/features-cpu-results}
entities=${ENTITIES:-100000}
ensure_loadtest
mkdir -p "$out"
rm -f "$out"/*.json "$out/runs.txt"
work=$(mktemp -d)
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; cp "$work"/*.log "$out"/ 2>/dev/null; rm -rf "$work"' EXIT

/usr/bin/python3 benchmarks/features_data.py "$work" "$entities"

redis_port=$((port + 90))
redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no >"$work/redis.log" 2>&1 &
redis_pid=$!
pids+=($!)
for _ in $(seq 1 50); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break; sleep 0.1; done
first_folder=${1#*=}
first_folder=${first_folder%%:*}
"$first_folder/sidecar/feature-sidecar" materialize --view income --model-repository models --from "$work/entities.csv" \
  --store "redis://127.0.0.1:$redis_port" >/dev/null 2>&1

declare -A server sidecar base
labels=()
i=0
for side in "$@"; do
  label=${side%%=*}
  rest=${side#*=}
  folder=${rest%%:*}
  # Server flags after a colon, comma-separated: a=F:--feature-sidecar-connections=1
  extra=()
  [ "$rest" != "$folder" ] && IFS=, read -r -a extra <<<"${rest#*:}"
  labels+=("$label")
  base[$label]=$((port + 10 * i))
  "$folder/sidecar/feature-sidecar" serve --socket "$work/$label.sock" --store "redis://127.0.0.1:$redis_port" >"$work/sidecar-$label.log" 2>&1 &
  sidecar[$label]=$!
  pids+=($!)
  for _ in $(seq 1 100); do [ -S "$work/$label.sock" ] && break; sleep 0.1; done
  "$folder/server/inference-server" serve --model-repository models --http-address 127.0.0.1 --http-port "${base[$label]}" \
    --grpc-port $((base[$label] + 1)) --metrics-port $((base[$label] + 2)) --feature-sidecar "$work/$label.sock" --max-queue-batches 0 "${extra[@]}" >"$work/server-$label.log" 2>&1 &
  server[$label]=$!
  pids+=($!)
  i=$((i + 1))
done
for label in "${labels[@]}"; do wait_ready "http://127.0.0.1:${base[$label]}/v2/health/ready"; done
# Voluntary only: a thread that blocks and is woken again. The involuntary ones follow the machine's other load.
switches() { cat /proc/"$1"/task/*/status 2>/dev/null | awk '/^voluntary_ctxt_switches/ { s += $2 } END { print s + 0 }'; }
run() { # label protocol input concurrency json
  "$LOADTEST" --url "http://127.0.0.1:${base[$1]}" --model income --protocol "$2" --input "$3" --concurrency "$4" \
    --duration "${seconds}s" --warmup 2s --json "$5" >/dev/null 2>&1 || true
}
hz=$(getconf CLK_TCK)
for label in "${labels[@]}"; do
  run "$label" rest-predict "$work/predict.jsonl" 32 /dev/null
  run "$label" rest-json "$work/infer.jsonl" 8 /dev/null
done
for round in $(seq 1 "$rounds"); do
  for label in "${labels[@]}"; do
    echo "round $round: $label c=32 (load $(cut -d' ' -f1 /proc/loadavg))" >&2
    procs=("${server[$label]}" "${sidecar[$label]}" "$redis_pid")
    before=(); for p in "${procs[@]}"; do before+=("$(cpu_ticks "$p") $(switches "$p")"); done
    json="$out/c32-$label-r$round.json"
    run "$label" rest-predict "$work/predict.jsonl" 32 "$json"
    after=(); for p in "${procs[@]}"; do after+=("$(cpu_ticks "$p") $(switches "$p")"); done
    /usr/bin/python3 - "$json" "$label" "$round" "$hz" "$seconds" "${before[@]}" "${after[@]}" <<'PY' | tee -a "$out/runs.txt"
import json, sys
path, label, rnd, hz, seconds = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), float(sys.argv[5])
vals = sys.argv[6:]
before, after = [tuple(map(int, v.split())) for v in vals[:3]], [tuple(map(int, v.split())) for v in vals[3:]]
run = json.load(open(path))["runs"][0]
s = run["summary"]
# The window holds the loadtest's warm-up too.
requests = s["sent"] + s.get("warmupRequests", 0)
parts = []
for name, b, a in zip(("server", "sidecar", "redis"), before, after):
    parts.append(f"{name} {(a[0] - b[0]) / hz * 1e6 / requests:.1f} us {(a[1] - b[1]) / requests:.2f} cs")
total = sum((a[0] - b[0]) for b, a in zip(before, after)) / hz * 1e6 / requests
print(f"c32 {label} r{rnd} tput {s['throughput']:.0f} p99 {run['latencyMs']['p99'] * 1000:.0f} errors {s['errors']} cpu/req {total:.1f} us | " + " | ".join(parts))
PY
  done
  [ "${C1:-1}" = 0 ] && continue
  for label in "${labels[@]}"; do
    procs=("${server[$label]}" "${sidecar[$label]}" "$redis_pid")
    # At c=1 the wake-ups are the latency: each process's CPU and voluntary switches per request, for both targets.
    before=(); for p in "${procs[@]}"; do before+=("$(cpu_ticks "$p") $(switches "$p")"); done
    run "$label" rest-predict "$work/predict.jsonl" 1 "$out/c1-predict-$label-r$round.json"
    middle=(); for p in "${procs[@]}"; do middle+=("$(cpu_ticks "$p") $(switches "$p")"); done
    run "$label" rest-json "$work/infer.jsonl" 1 "$out/c1-infer-$label-r$round.json"
    after=(); for p in "${procs[@]}"; do after+=("$(cpu_ticks "$p") $(switches "$p")"); done
    /usr/bin/python3 - "$out" "$label" "$round" "$hz" "${before[@]}" "${middle[@]}" "${after[@]}" <<'PY' | tee -a "$out/runs.txt"
import json, sys, os
out, label, rnd, hz = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
vals = [tuple(map(int, v.split())) for v in sys.argv[5:]]
before, middle, after = vals[0:3], vals[3:6], vals[6:9]
run = lambda k: json.load(open(os.path.join(out, f"c1-{k}-{label}-r{rnd}.json")))["runs"][0]
p50 = lambda k: run(k)["latencyMs"]["p50"] * 1000
def per_request(k, b, a):
    s = run(k)["summary"]
    requests = s["sent"] + s.get("warmupRequests", 0)
    return " ".join(f"{name} {(y[0] - x[0]) / hz * 1e6 / requests:.1f} us {(y[1] - x[1]) / requests:.2f} cs"
                    for name, x, y in zip(("server", "sidecar", "redis"), b, a))
print(f"c1 {label} r{rnd} predict p50 {p50('predict'):.0f} us infer p50 {p50('infer'):.0f} us overhead {p50('predict') - p50('infer'):+.0f} us"
      f" | predict: {per_request('predict', before, middle)} | infer: {per_request('infer', middle, after)}")
PY
  done
done
