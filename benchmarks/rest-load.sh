#!/usr/bin/env bash
# Throughput and latency of the `income` model over REST at several concurrencies, measured with
# `wrk` (Debian package; microsecond latency percentiles, a lighter generator than hey on a
# 2-core machine) against a Release build of the server on loopback, closed loop.
#
# The server serves a copy of models/ plus `income_batched`: the same model file with a
# `dynamic_batching {}` block, so batching and not batching are measured side by side in one run.
#
# Usage: benchmarks/rest-load.sh [seconds-per-point] [concurrencies] [protocols] [models]
#   defaults: 10 "1 8 32" "json binary" "income"
#   the dynamic batching comparison: benchmarks/rest-load.sh 10 "1 8 32 128" binary "income income_batched"
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${1:-10}
concurrencies=${2:-1 8 32}
protocols=${3:-json binary}
models=${4:-income}
port=${PORT:-18000}
command -v wrk >/dev/null || { [ "$(id -u)" = 0 ] && apt-get update -qq && apt-get install -y -qq wrk >/dev/null; } || { echo "install wrk (apt-get install wrk)" >&2; exit 1; }

work=$(mktemp -d)
trap 'kill $server 2>/dev/null || true; rm -rf "$work"' EXIT
dotnet publish server/InferenceServer -c Release -o "$work/server" --nologo -v q >/dev/null
cp -r models "$work/repository"
cp -r models/income "$work/repository/income_batched"
sed -i 's/^name: "income"/name: "income_batched"/' "$work/repository/income_batched/config.pbtxt"
printf '\n# Added by benchmarks/rest-load.sh: batch whatever queues while the instance is busy.\ndynamic_batching { }\n' >>"$work/repository/income_batched/config.pbtxt"
"$work/server/inference-server" serve --model-repository "$work/repository" --http-address 127.0.0.1 --http-port "$port" >"$work/server.log" 2>&1 &
server=$!
for _ in $(seq 1 100); do
  curl -sf "localhost:$port/v2/health/ready" >/dev/null && break
  sleep 0.2
done

# One income row (58 features), as JSON and as binary (JSON header + 232 bytes of little-endian floats).
/usr/bin/python3 - "$work" <<'PY'
import json, struct, sys
work = sys.argv[1]
row = [0.1 * ((i * 7) % 11) - 0.5 for i in range(5)] + [1.0 if i in (6, 20, 31, 40, 51, 57) else 0.0 for i in range(5, 58)]
json.dump({"inputs": [{"name": "features", "datatype": "FP32", "shape": [1, 58], "data": row}]}, open(f"{work}/income.json", "w"))
header = json.dumps({"inputs": [{"name": "features", "datatype": "FP32", "shape": [1, 58], "parameters": {"binary_data_size": 232}}],
                     "outputs": [{"name": "probability", "parameters": {"binary_data": True}}]}).encode()
open(f"{work}/income.bin", "wb").write(header + struct.pack("<58f", *row))
open(f"{work}/income.bin.len", "w").write(str(len(header)))
PY

# wrk sends a fixed body from a Lua script; one script per protocol.
lua() { # body-file content-type [header-length]
  printf 'local f = io.open("%s", "rb"); wrk.body = f:read("*a"); f:close()\nwrk.method = "POST"\nwrk.headers["Content-Type"] = "%s"\n' "$1" "$2"
  if [ -n "${3:-}" ]; then printf 'wrk.headers["Inference-Header-Content-Length"] = "%s"\n' "$3"; fi
}
lua "$work/income.json" application/json >"$work/json.lua"
lua "$work/income.bin" application/octet-stream "$(cat "$work/income.bin.len")" >"$work/binary.lua"

to_ms() { # wrk prints 812.00us, 1.20ms or 1.01s
  awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) n *= 1; else if (v ~ /s$/) n *= 1000; printf "%.2f", n }'
}

echo "| model | protocol | concurrency | requests/s | p50 ms | p99 ms | non-2xx / socket errors |"
echo "|---|---|---|---|---|---|---|"
for model in $models; do
for protocol in $protocols; do
  url="http://127.0.0.1:$port/v2/models/$model/infer"
  for c in $concurrencies; do
    threads=$(( c < 2 ? 1 : 2 ))
    wrk -t "$threads" -c "$c" -d 2s -s "$work/$protocol.lua" "$url" >/dev/null   # warm-up
    out=$(wrk -t "$threads" -c "$c" -d "${duration}s" --latency -s "$work/$protocol.lua" "$url")
    rps=$(awk '/Requests\/sec/ {printf "%.0f", $2}' <<<"$out")
    p50=$(to_ms "$(awk '$1 == "50%" {print $2}' <<<"$out")")
    p99=$(to_ms "$(awk '$1 == "99%" {print $2}' <<<"$out")")
    non2xx=$(awk '/Non-2xx/ {print $NF}' <<<"$out")
    socket=$(awk '/Socket errors/ {gsub(",", ""); print $4 + $6 + $8 + $10}' <<<"$out")
    echo "| $model | REST $protocol | $c | $rps | $p50 | $p99 | ${non2xx:-0} / ${socket:-0} |"
  done
done
done
# Batches the server actually ran, per model (the statistics extension's batch_stats).
for model in $models; do
  curl -s "localhost:$port/v2/models/$model/stats" | /usr/bin/python3 -c '
import json, sys
s = json.load(sys.stdin)["model_stats"][0]
runs = [(b["batch_size"], b["compute_infer"]["count"]) for b in s["batch_stats"]]
batched = sum(n for size, n in runs if size > 1)
largest = max((size for size, _ in runs), default=0)
print("%s: %d inferences in %d executions (mean batch %.2f, largest %d, %.0f%% of executions batched)" % (
    s["name"], s["inference_count"], s["execution_count"], s["inference_count"] / max(1, s["execution_count"]),
    largest, 100.0 * batched / max(1, s["execution_count"])))'
done
