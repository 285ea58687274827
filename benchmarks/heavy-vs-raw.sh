#!/usr/bin/env bash
# Server throughput against raw in-process ONNX Runtime throughput on a compute-heavy model
# (ResNet-50, random weights, from models/generate_heavy.py), at the same batch sizes.
#
# Raw: the benchmarks program's raw-throughput mode, which loads the model through our own
# OnnxRuntimeBackend (the server's code) and calls IModelInstance.Run in a loop on one thread.
# Server: a Release build serving the heavy repository, driven by wrk with binary-extension
# requests ([B,3,224,224] FP32, binary output), one request in flight (c=1, the raw loop's work
# pattern) and two (c=2: the next body uploads while the current batch computes).
# The machine this was written on is a shared 2-core VM whose speed drifts by 2x within a minute,
# so each batch size is measured in rounds, raw then server c=1 then server c=2 back to back, and
# the table gives medians and per-round ratios. Server images/s come from wrk's mean latency by
# Little's law (c requests always in flight: throughput = c / mean latency), which, unlike wrk's
# request count, does not lose the request still in flight when time is up (a second-long batch
# in a 10 s window would otherwise read up to 10 % low); wrk's count-based figure is logged too.
# Neither side sets ONNX Runtime thread counts: the config has no parameters, and the raw mode
# passes the config's parameters exactly as the server's loader does.
#
# Usage: benchmarks/heavy-vs-raw.sh [seconds-per-point] [batch sizes] [rounds]   (default 10, "1 8 32", 3)
# Environment: PORT (18001; metrics on PORT+2). Progress goes to stderr, the table to stdout.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-10}
batches=${2:-1 8 32}
rounds=${3:-3}
port=${PORT:-18001}
repository=benchmarks/.heavy-repository
command -v wrk >/dev/null || { [ "$(id -u)" = 0 ] && apt-get update -qq && apt-get install -y -qq wrk >/dev/null; } || { echo "install wrk (apt-get install wrk)" >&2; exit 1; }

/usr/bin/python3 models/generate_heavy.py "$repository" >&2

work=$(mktemp -d)
server=
trap '[ -n "$server" ] && kill "$server" 2>/dev/null; rm -rf "$work"' EXIT
echo "publishing the server and the benchmarks program (Release)..." >&2
dotnet publish server/InferenceServer -c Release -o "$work/server" --nologo -v q >/dev/null
dotnet publish benchmarks/InferenceServer.Benchmarks -c Release -o "$work/bench" --nologo -v q >/dev/null

"$work/server/inference-server" serve --model-repository "$repository" --http-address 127.0.0.1 --http-port "$port" --metrics-port "$(( port + 2 ))" >"$work/server.log" 2>&1 &
server=$!
for _ in $(seq 1 300); do
  curl -sf "localhost:$port/v2/models/resnet50/ready" >/dev/null && break
  kill -0 "$server" 2>/dev/null || { cat "$work/server.log" >&2; exit 1; }
  sleep 0.2
done
curl -sf "localhost:$port/v2/models/resnet50/ready" >/dev/null || { echo "resnet50 did not become ready" >&2; cat "$work/server.log" >&2; exit 1; }

# One binary request per batch size: JSON header, then B*3*224*224 little-endian floats with the
# values the raw mode feeds (element i = (i mod 251) / 125 - 1).
/usr/bin/python3 - "$work" $batches <<'PY'
import json, sys
import numpy as np
work, batches = sys.argv[1], [int(b) for b in sys.argv[2:]]
per_image = 3 * 224 * 224
for b in batches:
    data = ((np.arange(b * per_image, dtype=np.int64) % 251) / np.float32(125) - np.float32(1)).astype("<f4").tobytes()
    header = json.dumps({"inputs": [{"name": "input", "datatype": "FP32", "shape": [b, 3, 224, 224],
                                     "parameters": {"binary_data_size": len(data)}}],
                         "outputs": [{"name": "probabilities", "parameters": {"binary_data": True}}]}).encode()
    open(f"{work}/b{b}.bin", "wb").write(header + data)
    open(f"{work}/b{b}.len", "w").write(str(len(header)))
PY

url="http://127.0.0.1:$port/v2/models/resnet50/infer"
# wrk's mean latency runs from the first byte written to the last byte read, over completed requests
# only, so unlike its request count it is not cut short by the request in flight when time is up.
done_hook='done = function(s, latency) local e = s.errors; io.write(string.format("LITTLE %d %.1f %d\n", s.requests, latency.mean, e.connect + e.read + e.write + e.status + e.timeout)) end'
for b in $batches; do
  printf 'local f = io.open("%s", "rb"); wrk.body = f:read("*a"); f:close()\nwrk.method = "POST"\nwrk.headers["Content-Type"] = "application/octet-stream"\nwrk.headers["Inference-Header-Content-Length"] = "%s"\n%s\n' \
    "$work/b$b.bin" "$(cat "$work/b$b.len")" "$done_hook" >"$work/b$b.lua"
  # One request by hand first: it must succeed and carry B x 1000 floats after its JSON header.
  code=$(curl -s -o "$work/b$b.out" -D "$work/b$b.headers" -w '%{http_code}' -H 'Content-Type: application/octet-stream' \
    -H "Inference-Header-Content-Length: $(cat "$work/b$b.len")" --data-binary "@$work/b$b.bin" "$url")
  header_length=$(awk -F': ' 'tolower($1) == "inference-header-content-length" {print $2 + 0}' "$work/b$b.headers")
  size=$(stat -c %s "$work/b$b.out")
  if [ "$code" != 200 ] || [ $(( size - ${header_length:-0} )) != $(( b * 1000 * 4 )) ]; then
    echo "batch $b: HTTP $code, $size bytes (header ${header_length:-?}); expected 200 and $(( b * 4000 )) bytes of output" >&2
    head -c 400 "$work/b$b.out" >&2; echo >&2; exit 1
  fi
done

# Medians over the rounds; ratios are taken per round (raw and server measured minutes apart at most).
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.2f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
range() { sort -g | awk 'NR == 1 { lo = $1 } { hi = $1 } END { printf "%s-%s", lo, hi }'; }
rows=()
threads_line=
for b in $batches; do
  raw_all=() ms_all=() ips1_all=() ips2_all=() ratio1_all=() ratio2_all=() requests=(0 0) bad=0
  for round in $(seq 1 "$rounds"); do
    raw=$("$work/bench/InferenceServer.Benchmarks" raw-throughput --model "$repository/resnet50" --batch "$b" --seconds "$seconds" --warmup 2)
    [ -n "$threads_line" ] || { threads_line=$(grep -E '^(parameters|intra_op|threads)' <<<"$raw"); echo "$threads_line" >&2; }
    line=$(grep '^RAW ' <<<"$raw"); echo "round $round $line" >&2
    raw_ips=$(sed -E 's/.*images_per_s=([0-9.]+).*/\1/' <<<"$line")
    raw_ms=$(sed -E 's/.*ms_per_batch=([0-9.]+).*/\1/' <<<"$line")
    raw_all+=("$raw_ips") ms_all+=("$raw_ms")
    for c in 1 2; do
      if [ "$round" = 1 ]; then   # the first requests of a new batch size grow ONNX Runtime's arena
        wrk -t "$c" -c "$c" -d "$(awk -v ms="$raw_ms" 'BEGIN { d = int(3 * ms / 1000) + 1; print d < 3 ? 3 : d }')s" --timeout 120s -s "$work/b$b.lua" "$url" >/dev/null
      fi
      out=$(wrk -t "$c" -c "$c" -d "${seconds}s" --timeout 120s -s "$work/b$b.lua" "$url")
      read -r n mean_us errors < <(awk '$1 == "LITTLE" { print $2, $3, $4 }' <<<"$out")
      counted=$(awk '/Requests\/sec/ { print $2 }' <<<"$out")
      # Little's law for a closed loop with c requests always in flight: throughput = c / mean latency.
      ips=$(awk -v c="$c" -v b="$b" -v us="$mean_us" 'BEGIN { printf "%.2f", c * b * 1e6 / us }')
      ratio=$(awk -v s="$ips" -v r="$raw_ips" 'BEGIN { printf "%.1f", 100 * s / r }')
      echo "round $round SERVER batch=$b c=$c requests=$n mean_ms=$(awk -v us="$mean_us" 'BEGIN { printf "%.1f", us / 1000 }') images_per_s=$ips (wrk count: $(awk -v r="$counted" -v b="$b" 'BEGIN { printf "%.2f", r * b }')) ratio=$ratio% errors=$errors" >&2
      requests[c - 1]=$(( requests[c - 1] + n )); bad=$(( bad + errors ))
      if [ "$c" = 1 ]; then ips1_all+=("$ips") ratio1_all+=("$ratio"); else ips2_all+=("$ips") ratio2_all+=("$ratio"); fi
    done
  done
  m() { printf '%s\n' "$@" | median; }
  r() { printf '%s\n' "$@" | range; }
  note=; [ "$bad" = 0 ] || note=" ($bad errors)"
  rows+=("| $b | $(m "${raw_all[@]}") | $(m "${ms_all[@]}") | $(m "${ips1_all[@]}") | $(m "${ratio1_all[@]}") % ($(r "${ratio1_all[@]}")) | $(m "${ips2_all[@]}") | $(m "${ratio2_all[@]}") % ($(r "${ratio2_all[@]}")) | ${requests[0]} / ${requests[1]}$note |")
done

echo
echo "Medians of $rounds rounds of ${seconds} s per point; ratio = server/raw per round, median (min-max)."
echo
echo "| batch | raw images/s | raw ms/batch | server images/s c=1 | server/raw c=1 | server images/s c=2 | server/raw c=2 | server requests c=1 / c=2 |"
echo "|---:|---:|---:|---:|---:|---:|---:|---|"
printf '%s\n' "${rows[@]}"
