#!/usr/bin/env bash
# What one refused request costs the server (issue 12, defect 4): under overload most requests are refused, and the CPU
# each refusal takes is CPU the model does not get. Goodput at 3x capacity (overload.sh) measures this only through the
# capacity of a shared VM, which drifts more than the effect; this measures it directly.
#
# The `slow` model (one CPU instance, no batching, as overload.sh) is kept busy by one long request, one more waits, and
# the next is refused, so the model sheds load. Then a closed loop of REST binary requests, every one of them refused,
# runs for SECONDS. Reported: the refusals per second and their latency, and the server's CPU time per refusal, counted
# over every thread of the server except the model's instance thread (whose run is the busy request's, not the
# refusals'), from /proc/PID/task/*/stat (clock ticks of 10 ms: the count of refusals makes up for it).
#
# Usage: benchmarks/refusal-cost.sh SERVER-BINARY LABEL [SECONDS] [CONCURRENCY]
#   e.g. benchmarks/refusal-cost.sh /tmp/after/inference-server after 10 16
# Environment: LOADTEST (default: builds loadtests/ and uses it), PORT (18120), SERVER_CPU (0), CLIENT_CPU (1),
#   OUT (a fresh temp folder; the JSON results and logs stay there), RATE (unset: the closed loop above; set: an open
#   loop of RATE refusals/s with Poisson arrivals instead, as in overload.sh, where a refusal often finds the server
#   idle and pays for waking it).
set -euo pipefail
cd "$(dirname "$0")/.."
source benchmarks/lib.sh
server_bin=$1
label=$2
seconds=${3:-10}
concurrency=${4:-16}
port=${PORT:-18120}
server_cpu=${SERVER_CPU:-0}
client_cpu=${CLIENT_CPU:-1}
out=${OUT:-$(mktemp -d)}
mkdir -p "$out"
ensure_loadtest
url="http://127.0.0.1:$port"

repo="$out/repository"
rm -rf "$repo"
slow_model "$repo"
slow_request 400 >"$out/refused.jsonl"
# Long enough to outlast the measurement on a slow machine: the busy request is cancelled at the end.
slow_request 50000000 >"$out/busy.json"
slow_request 1 >"$out/queued.json"

if curl -s -o /dev/null "$url/v2/health/live"; then
  echo "something already answers on port $port" >&2
  exit 1
fi
taskset -c "$server_cpu" "$server_bin" serve --model-repository "$repo" --http-address 127.0.0.1 --http-port "$port" \
  --grpc-port $((port + 1)) --metrics-port $((port + 2)) --max-queue-wait-ms 0 >"$out/$label-server.log" 2>&1 &
server=$!
pids=()
# Killed outright: a graceful stop would wait for the busy request's run.
trap 'kill -9 $server 2>/dev/null || true; kill "${pids[@]}" 2>/dev/null || true; wait $server 2>/dev/null || true' EXIT
for _ in $(seq 1 150); do
  curl -sf "$url/v2/models/slow/ready" >/dev/null && break
  sleep 0.2
done

post() { # body file
  curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' --data-binary "@$1" "$url/v2/models/slow/infer"
}
post "$out/busy.json" >/dev/null &
pids+=($!)
sleep 0.5
post "$out/queued.json" >/dev/null &
pids+=($!)
sleep 0.3
first=$(post "$out/refused.jsonl")
[ "$first" = 503 ] || { echo "the model did not start shedding (got $first)" >&2; exit 1; }

# CPU ticks of every thread but the instance's ("instance slow #0", cut to 15 characters by the kernel).
ticks() {
  /usr/bin/python3 - "$server" <<'PY'
import os, sys
pid = sys.argv[1]
total = 0
for task in os.listdir(f"/proc/{pid}/task"):
    try:
        stat = open(f"/proc/{pid}/task/{task}/stat").read()
    except OSError:
        continue
    comm = stat[stat.index("(") + 1:stat.rindex(")")]
    fields = stat[stat.rindex(")") + 2:].split()
    if not comm.startswith("instance"):
        total += int(fields[11]) + int(fields[12])
print(total)
PY
}
if [ -n "${RATE:-}" ]; then
  load=(--rate "$RATE" --arrival poisson)
else
  load=(--concurrency "$concurrency")
fi
before=$(ticks)
taskset -c "$client_cpu" "$LOADTEST" --url "$url" --model slow --protocol rest-binary --input "$out/refused.jsonl" --no-progress \
  "${load[@]}" --duration "${seconds}s" --warmup 0s --json "$out/$label-refusals.json" >"$out/$label-refusals.txt" 2>&1 || true
after=$(ticks)
hz=$(getconf CLK_TCK)

/usr/bin/python3 - "$out/$label-refusals.json" "$before" "$after" "$hz" "$label" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["runs"][0]
before, after, hz, label = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
refused = sum(e["count"] for e in r["errorsByKind"] if e.get("code") == 503)
other = r["summary"]["requests"] - refused
cpu = (after - before) / hz
rate = refused / r["summary"]["durationSeconds"]
# The loadtest's percentiles are of successes; in a closed loop the mean time per request is the workers over the rate.
concurrency = r["load"].get("concurrency") or 0
pace = (f"mean {1000 * concurrency / max(rate, 1):.2f} ms each at concurrency {concurrency}" if r["load"].get("mode", "closed") == "closed" and concurrency
        else f"open loop, {r['load'].get('description')}, {r['load'].get('connections')} connections")
print(f"== {label}: {refused} refused in {r['summary']['durationSeconds']} s ({rate:.0f}/s, {pace}), other answers {other}; "
      f"server CPU outside the instance {cpu:.2f} s = {1e6 * cpu / max(refused, 1):.0f} us per refusal")
PY
echo "(results in $out)"
