#!/usr/bin/env bash
# Resident memory of the server across load/unload cycles of a mid-sized model through the REST
# repository API: does unloading give back what loading took?
#
# The model is an MLP generated here with Debian's python3-onnx: FP32 [-1,1024] -> 2048 -> 2048 ->
# 1024 with ReLUs, about 32 MB of weights (fixed seed). A Release build serves an otherwise empty
# repository in explicit mode; each cycle loads the model (POST .../load answers once it serves),
# runs one inference on it, unloads it (POST .../unload answers once its instances are released)
# and reads VmRSS from /proc/<pid>/status, after the load and after the unload (cycle 0: before any
# load). Settings reach the server through the environment, e.g. Server__NativeMmapThresholdBytes=0
# (glibc's dynamic mmap threshold, for comparison) or DOTNET_TieredCompilation=0.
#
# Usage: benchmarks/lifecycle-memory.sh [cycles] [csv]   (default 200, benchmarks/lifecycle-memory.csv)
# Environment: PORT (18011; metrics on PORT+2). Progress goes to stderr, the summary to stdout.
set -euo pipefail
cd "$(dirname "$0")/.."
cycles=${1:-200}
csv=${2:-benchmarks/lifecycle-memory.csv}
port=${PORT:-18011}

work=$(mktemp -d)
server=
trap '[ -n "$server" ] && kill "$server" 2>/dev/null; rm -rf "$work"' EXIT
mkdir -p "$work/repository/mlp/1"
/usr/bin/python3 - "$work/repository/mlp" <<'PY'
import sys
import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
folder = sys.argv[1]
rng = np.random.default_rng(6)
widths = [1024, 2048, 2048, 1024]
nodes, weights, last = [], [], "input"
for i, (n_in, n_out) in enumerate(zip(widths, widths[1:])):
    w = (rng.standard_normal((n_in, n_out)) * np.sqrt(2.0 / n_in)).astype(np.float32)
    weights.append(numpy_helper.from_array(w, f"w{i}"))
    nodes.append(helper.make_node("MatMul", [last, f"w{i}"], [f"h{i}"]))
    last = f"h{i}"
    if i < len(widths) - 2:
        nodes.append(helper.make_node("Relu", [last], [f"r{i}"]))
        last = f"r{i}"
nodes.append(helper.make_node("Identity", [last], ["output"]))
graph = helper.make_graph(nodes, "mlp",
                          [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", 1024])],
                          [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["batch", 1024])], weights)
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="lifecycle-memory.sh")
model.ir_version = 8
onnx.checker.check_model(model)
onnx.save(model, f"{folder}/1/model.onnx")
open(f"{folder}/config.pbtxt", "w").write(
    'backend: "onnxruntime"\nmax_batch_size: 8\n'
    'input [ { name: "input" data_type: TYPE_FP32 dims: [ 1024 ] } ]\n'
    'output [ { name: "output" data_type: TYPE_FP32 dims: [ 1024 ] } ]\n')
PY
printf '{"inputs": [{"name": "input", "datatype": "FP32", "shape": [1, 1024], "data": [%s]}]}' \
  "$(seq -s, 0 1023 | sed 's/[0-9]\+/0.001/g')" >"$work/request.json"
echo "model: $(du -h "$work/repository/mlp/1/model.onnx" | cut -f1)" >&2

echo "publishing the server (Release)..." >&2
dotnet publish server/InferenceServer -c Release -o "$work/server" --nologo -v q >/dev/null
"$work/server/inference-server" serve --model-repository "$work/repository" --model-control-mode explicit \
  --http-address 127.0.0.1 --http-port "$port" --metrics-port "$(( port + 2 ))" >"$work/server.log" 2>&1 &
server=$!
for _ in $(seq 1 300); do
  curl -sf "localhost:$port/v2/health/ready" >/dev/null && break
  kill -0 "$server" 2>/dev/null || { cat "$work/server.log" >&2; exit 1; }
  sleep 0.2
done

rss() { awk '/^VmRSS:/ {print $2}' "/proc/$server/status"; }
post() {
  local code
  code=$(curl -s -o "$work/out" -w '%{http_code}' -X POST -H 'Content-Type: application/json' "$@")
  [ "$code" = 200 ] || { echo "HTTP $code from $*: $(head -c 300 "$work/out")" >&2; exit 1; }
}

echo "cycle,rss_after_load_kb,rss_after_unload_kb" >"$csv"
echo "0,,$(rss)" >>"$csv"
started=$(date +%s)
for cycle in $(seq 1 "$cycles"); do
  post "localhost:$port/v2/repository/models/mlp/load"
  post "localhost:$port/v2/models/mlp/infer" --data-binary "@$work/request.json"
  loaded=$(rss)
  post "localhost:$port/v2/repository/models/mlp/unload" -d '{"parameters": {"unload_dependents": false}}'
  unloaded=$(rss)
  echo "$cycle,$loaded,$unloaded" >>"$csv"
  if [ $(( cycle % 20 )) = 0 ] || [ "$cycle" = 1 ]; then
    echo "cycle $cycle: RSS $(( loaded / 1024 )) MiB loaded, $(( unloaded / 1024 )) MiB unloaded ($(( $(date +%s) - started )) s)" >&2
  fi
done

# Summary: RSS after the first and the last unload, and the bound the issue sets (5 % plus 16 MiB).
awk -F, -v cycles="$cycles" 'NR == 2 { before = $3 } NR == 3 { first = $3; firstLoaded = $2 } $1 == int(cycles / 2) { half = $3 }
  NR > 2 { last = $3; lastLoaded = $2; if ($3 > peak) peak = $3 }
  END {
    bound = first * 1.05 + 16384
    printf "cycles: %d; RSS before the first load %.1f MiB\n", cycles, before / 1024
    printf "RSS after unload: first %.1f MiB, last %.1f MiB (%+.1f%%), highest %.1f MiB\n", first / 1024, last / 1024, (last - first) * 100 / first, peak / 1024
    printf "RSS after load:   first %.1f MiB, last %.1f MiB\n", firstLoaded / 1024, lastLoaded / 1024
    printf "bound (first x 1.05 + 16 MiB): %.1f MiB -> %s\n", bound / 1024, (last <= bound ? "met" : "NOT met")
    printf "second half: cycle %d %.1f MiB -> cycle %d %.1f MiB (%+.1f%%)\n", int(cycles / 2), half / 1024, cycles, last / 1024, (last - half) * 100 / half
  }' "$csv"
