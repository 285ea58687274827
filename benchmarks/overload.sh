#!/usr/bin/env bash
# Open-loop overload at a multiple of capacity (issue 12, defect 4): the server pinned to one core, the generator
# (loadtest) and the probes on another, so the generator can outrun the server.
#
# For one server binary and one model it measures, in this order:
#   capacity   closed-loop throughput at a concurrency that keeps the model busy without overloading it
#   unloaded   open loop (Poisson) at a quarter of capacity: p50 / p99
#   overload   open loop (Poisson) at FACTOR x capacity: goodput (answers that succeeded, per second), p99 of those,
#              errors by kind; meanwhile a probe on the generator's core times a /metrics scrape, /v2/health/ready and a
#              lone infer request (how fast a refusal comes) every 100 ms
#   recovery   the first infer request after the overload stops: status and latency
#   capacity   again, closed loop as before: goodput is given against the capacity before and against the mean of both
#   instance   around the unloaded and the overload phase, the model instance thread's run time and run-queue wait
#              per execution (/proc/PID/task/TID/schedstat over nv_inference_exec_count), and during the overload how
#              many other server threads were runnable beside it (benchmarks/instance_sched.py): how long a run stood
#              ready while other threads had the core, a figure a loaded machine disturbs less than goodput
#
# Models: `slow` (the test fixture that loops tanh(X@X) ITERATIONS times: the model is the bottleneck, as for any
# model that costs something) or `income` (a 58->1 MLP of a few µs: the HTTP stack is the bottleneck). Both without
# dynamic batching, one CPU instance: Triton's default scheduler, the case the issue measured.
#
# Usage: benchmarks/overload.sh SERVER-BINARY LABEL [slow|income] [FACTOR] [SECONDS]
#   e.g. benchmarks/overload.sh /tmp/after/inference-server after slow 3 20
# Environment: LOADTEST (default: builds loadtests/ and uses it), PORT (18100), SERVER_CPU (0), CLIENT_CPU (1),
#   SLOW_ITERATIONS (400), SERVER_ARGS (more flags for the server, e.g. --request-thread-nice 10),
#   WARM_OVERLOAD (seconds of the same overload before the measured phases, default 0, so that the refusal path has
#   run as in a server that has served a while; two quiet pairs did not tell it apart from the noise: RESULTS.md,
#   issue 12, stop 32; nor did 45 s of it in stop 34), WARM_SECONDS (10: the closed-loop warm-up before the capacity),
#   GENERATOR_SPIN (loadtest's --spin-window in the open-loop phases, default 0ms: see below),
#   OUT (a fresh temp folder; the JSON results and logs stay there).
set -euo pipefail
cd "$(dirname "$0")/.."
source benchmarks/lib.sh
server_bin=$1
label=$2
model=${3:-slow}
factor=${4:-3}
seconds=${5:-20}
port=${PORT:-18100}
server_cpu=${SERVER_CPU:-0}
client_cpu=${CLIENT_CPU:-1}
iterations=${SLOW_ITERATIONS:-400}
out=${OUT:-$(mktemp -d)}
mkdir -p "$out"
ensure_loadtest
url="http://127.0.0.1:$port"

repo="$out/repository"
rm -rf "$repo"
mkdir -p "$repo"
if [ "$model" = slow ]; then
  slow_model "$repo"
  slow_request "$iterations" >"$out/slow.jsonl"
  inputs=(--input "$out/slow.jsonl")
  capacity_concurrency=2
else
  cp -r models/income "$repo/income"
  inputs=()
  capacity_concurrency=16
fi
body=$(if [ "$model" = slow ]; then cat "$out/slow.jsonl"; else /usr/bin/python3 -c "
import json; print(json.dumps({'inputs': [{'name': 'features', 'datatype': 'FP32', 'shape': [1, 58], 'data': [0.1] * 58}]}))"; fi)

taskset -c "$server_cpu" "$server_bin" serve --model-repository "$repo" --http-address 127.0.0.1 --http-port "$port" \
  --grpc-port $((port + 1)) --metrics-port $((port + 2)) ${SERVER_ARGS:-} >"$out/$label-server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 1 150); do
  curl -sf "$url/v2/models/$model/ready" >/dev/null && break
  sleep 0.2
done

# Open-loop phases send on timers (--spin-window 0): the generator shares its one core with the probes, and spinning
# before each send (loadtest's default, 2 ms) kept that core busy and delivered the start of the overload late and in
# bunches, so that the server's core idled in stretches while three times its capacity was offered (RESULTS.md,
# issue 12, stop 34).
open_loop=(--arrival poisson --spin-window "${GENERATOR_SPIN:-0ms}")
lt() { # name, then loadtest flags
  local name=$1
  shift
  taskset -c "$client_cpu" "$LOADTEST" --url "$url" --model "$model" --protocol rest-binary "${inputs[@]}" --no-progress \
    --json "$out/$label-$name.json" "$@" >"$out/$label-$name.txt" 2>&1 || true
}
field() { # json file, python expression over r (the first run)
  /usr/bin/python3 -c "import json,sys; r=json.load(open(sys.argv[1]))['runs'][0]; print($2)" "$1"
}

lt warm --concurrency "$capacity_concurrency" --duration "${WARM_SECONDS:-10}s" --warmup 0s
lt capacity --concurrency "$capacity_concurrency" --duration 8s --warmup 2s
capacity=$(field "$out/$label-capacity.json" "round(r['summary']['throughput'])")
if [ "${WARM_OVERLOAD:-0}" -gt 0 ]; then
  lt warm-overload --rate $((capacity * factor)) "${open_loop[@]}" --duration "${WARM_OVERLOAD}s" --warmup 0s
fi
# The instance thread's schedstat and the model's executions around each open-loop phase: the run-queue wait per
# execution says how long a run stood runnable while other threads had the core.
executions() {
  curl -s "http://127.0.0.1:$((port + 2))/metrics" | awk -v m="model=\"$model\"" '/^nv_inference_exec_count/ && index($0, m) { n += $NF } END { print n + 0 }'
}
sched() { echo "$(/usr/bin/python3 benchmarks/instance_sched.py snapshot "$server") $(executions)"; }
sched_before=$(sched)
lt unloaded --rate $((capacity / 4)) "${open_loop[@]}" --duration 10s --warmup 1s
sched_unloaded=$(sched)

# The probe: every 100 ms a scrape, a readiness check and a lone infer request, each timed (seconds), on the client core.
probe() {
  while :; do
    m=$(curl -s -o /dev/null -m 10 -w '%{http_code} %{time_total}' "http://127.0.0.1:$((port + 2))/metrics" || echo "000 10")
    h=$(curl -s -o /dev/null -m 10 -w '%{http_code} %{time_total}' "$url/v2/health/ready" || echo "000 10")
    i=$(curl -s -o /dev/null -m 10 -w '%{http_code} %{time_total}' -H 'Content-Type: application/json' --data-binary "$body" "$url/v2/models/$model/infer" || echo "000 10")
    echo "$m $h $i"
    sleep 0.1
  done
}
export port url model body
taskset -c "$client_cpu" bash -c "$(declare -f probe); probe" >"$out/$label-probe.txt" &
prober=$!
taskset -c "$client_cpu" /usr/bin/python3 benchmarks/instance_sched.py sample "$server" $((seconds + 2)) >"$out/$label-runnable.txt" &
sampler=$!
sched_start=$(sched)
lt overload --rate $((capacity * factor)) "${open_loop[@]}" --duration "${seconds}s" --warmup 2s
sched_overload=$(sched)
wait $sampler 2>/dev/null || true
kill $prober 2>/dev/null || true
wait $prober 2>/dev/null || true
recovery=$(curl -s -o /dev/null -w '%{http_code} %{time_total}' -H 'Content-Type: application/json' --data-binary "$body" "$url/v2/models/$model/infer")
failures=$(curl -s "http://127.0.0.1:$((port + 2))/metrics" | grep '^nv_inference_request_failure' | grep -v ' 0$' | tr '\n' ' ' || true)
# The capacity again, right after: on a shared VM it drifts by 10-20% within a minute, so goodput is also given against
# the mean of the two measurements that bracket the overload.
lt capacity-after --concurrency "$capacity_concurrency" --duration 8s --warmup 2s
capacity_after=$(field "$out/$label-capacity-after.json" "round(r['summary']['throughput'])")
bracket=$(( (capacity + capacity_after) / 2 ))

echo "== $label, model $model, ${factor}x capacity, server on CPU $server_cpu, generator on CPU $client_cpu, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "capacity (closed loop, c=$capacity_concurrency): $capacity/s before, $capacity_after/s after (mean $bracket/s); p50 $(field "$out/$label-capacity.json" "r['latencyMs']['p50']") ms"
echo "unloaded ($((capacity / 4))/s open loop): p50 $(field "$out/$label-unloaded.json" "r['latencyMs']['p50']") ms, p99 $(field "$out/$label-unloaded.json" "r['latencyMs']['p99']") ms, errors $(field "$out/$label-unloaded.json" "r['summary']['errors']")"
field "$out/$label-overload.json" "'overload (%d/s offered): goodput %.0f/s = %.0f%% of the capacity before, %.0f%% of the mean of before and after; accepted p50 %.2f ms, p99 %.2f ms, max %.0f ms; sent %d, ok %d, errors %s' % ($((capacity * factor)), r['summary']['throughput'], 100 * r['summary']['throughput'] / $capacity, 100 * r['summary']['throughput'] / $bracket, r['latencyMs']['p50'], r['latencyMs']['p99'], r['latencyMs']['max'], r['summary']['sent'], r['summary']['successes'], ', '.join('%s: %d' % (e['kind'], e['count']) for e in r['errorsByKind']) or 'none')"
/usr/bin/python3 - "$out/$label-probe.txt" <<'PY'
import sys
rows = [line.split() for line in open(sys.argv[1]) if len(line.split()) == 6]
def stats(values):
    if not values:
        return "none"
    values = sorted(values)
    return "n=%d p50 %.1f ms, p90 %.1f ms, max %.1f ms" % (len(values), 1000 * values[len(values) // 2], 1000 * values[int(len(values) * 0.9)], 1000 * values[-1])
print("during overload: /metrics %s (non-200: %d)" % (stats([float(r[1]) for r in rows]), sum(r[0] != "200" for r in rows)))
print("                 /v2/health/ready %s (non-200: %d)" % (stats([float(r[3]) for r in rows]), sum(r[2] != "200" for r in rows)))
print("                 lone infer refused (503): %s; served (200): %s; other: %d" % (
    stats([float(r[5]) for r in rows if r[4] == "503"]), stats([float(r[5]) for r in rows if r[4] == "200"]), sum(r[4] not in ("200", "503") for r in rows)))
PY
/usr/bin/python3 - "$sched_before" "$sched_unloaded" "$sched_start" "$sched_overload" <<'PY'
import sys
def per_run(a, b):
    a, b = [int(x) for x in a.split()], [int(x) for x in b.split()]
    runs = b[4] - a[4]
    if runs <= 0:
        return "no executions"
    return "run %.0f µs, run-queue wait %.0f µs, on-CPU slices %.1f per execution (%d executions, nice %d)" % (
        (b[0] - a[0]) / 1000 / runs, (b[1] - a[1]) / 1000 / runs, (b[2] - a[2]) / runs, runs, b[3])
print("instance thread, unloaded: " + per_run(sys.argv[1], sys.argv[2]))
print("instance thread, overload: " + per_run(sys.argv[3], sys.argv[4]))
PY
echo "runnable during overload: $(cat "$out/$label-runnable.txt")"
echo "recovery: first request after the overload: $recovery"
echo "failure counters: ${failures:-none}"
echo "(results in $out)"
