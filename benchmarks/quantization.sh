#!/usr/bin/env bash
# Quantized models and TorchScript (issue 17, "Measured"): FP32 against int8-dynamic, int8-static and fp16, for
# `income` (a small MLP) and `encoder` (the compute-bound sample, a 4-layer transformer encoder), side by side in one
# run; and the same encoder network on the TorchScript backend against ONNX Runtime.
#
# In this order:
#   samples    models/generate_compute.py writes the encoder (ONNX + TorchScript, same weights) and its evaluation and
#              calibration sets into benchmarks/.compute-repository (kept between runs; a rerun skips what is up to
#              date); models/generate_income_eval.py writes income's (held-out records with labels, training records)
#   variants   a fresh repository (benchmarks/.quantization-repository): each model's FP32 file as version 1, then
#              `inference-server quantize --json` writes int8-dynamic as version 2, int8-static as 3, fp16 as 4, each
#              through the accuracy gate on the evaluation set (with labels for income: AUC). The configs are the
#              samples' own plus `version_policy: { all { } }` (every version served) and dynamic batching, so the
#              server runs batches at concurrency 32 as a deployment would. A variant the quantizer or the gate
#              refuses is a row that says so.
#   raw        BenchmarkDotNet, QuantizedVariantBenchmarks over every variant file: one server instance called in a
#              loop at batch 1 and 32, no server in front (rows per second = batch / mean time per call)
#   server     the published server serving that repository; the load harness (loadtest, closed loop, REST binary,
#              batch-1 requests, CONCURRENCY workers) against each version in turn
#   table      size, gate figures, raw and server throughput, and each variant's ratio to its FP32 row from this run;
#              TorchScript against ONNX Runtime: throughput and the largest output difference on the evaluation set
#
# The figures of one run are comparable with each other only: the machine is shared and its speed drifts.
#
# Usage: benchmarks/quantization.sh [SECONDS per server point]    (default 15)
# Environment: CONCURRENCY (32), PORT (18300; metrics +2), OUT (a fresh temp folder; results and logs stay there),
#   SERVER (a published inference-server binary; default: publishes a Release build), LOADTEST (likewise),
#   MODELS ("income encoder"), SKIP_RAW=1 (no BenchmarkDotNet part).
set -euo pipefail
cd "$(dirname "$0")/.."
source benchmarks/lib.sh
seconds=${1:-15}
concurrency=${CONCURRENCY:-32}
port=${PORT:-18300}
models=${MODELS:-income encoder}
out=${OUT:-$(mktemp -d)}
mkdir -p "$out"
compute=benchmarks/.compute-repository
repository=$(pwd)/benchmarks/.quantization-repository
url="http://127.0.0.1:$port"
echo "results and logs: $out" >&2
echo "machine: $(lscpu | awk -F: '/Model name/ { gsub(/^ +/, "", $2); print $2; exit }'), $(nproc) cores; load average $(cut -d' ' -f1-3 /proc/loadavg)" | tee "$out/machine.txt" >&2

/usr/bin/python3 models/generate_compute.py "$compute" >&2
/usr/bin/python3 models/generate_income_eval.py "$out/income-data" >&2

ensure_server "$out"
ensure_loadtest

# --- variants -------------------------------------------------------------------------------------------------------
rm -rf "$repository"
mkdir -p "$repository"
# model folder, FP32 file, evaluation file, calibration file, label column ("" = none: the encoder's label is a class)
source_of() {
  case $1 in
    income) echo "models/income models/income/1/model.onnx $out/income-data/eval.jsonl $out/income-data/calibration.jsonl label" ;;
    encoder) echo "$compute/encoder $compute/encoder/1/model.onnx $compute/encoder.eval.jsonl $compute/encoder.calibration.jsonl -" ;;
    *) echo "unknown model '$1' in MODELS; expected income or encoder" >&2; exit 2 ;;
  esac
}
served() {   # the sample's config, every version served, batches formed from concurrent requests
  { grep -v '^version_policy\|^dynamic_batching' "$1/config.pbtxt"
    # A queue timeout of a minute: 32 requests wait for a model that runs a few dozen sequences a second (the
    # server's default of a second would turn the slow rows' waits into 503s rather than measure them).
    printf 'version_policy: { all { } }\ndynamic_batching {\n  max_queue_delay_microseconds: 500\n  default_queue_policy { default_timeout_microseconds: 60000000 }\n}\n'; } >"$2/config.pbtxt"
}
variants=()   # name=path pairs for the raw benchmark
rows=()       # model method version
for model in $models; do
  read -r folder fp32 eval calibration label < <(source_of "$model")
  mkdir -p "$repository/$model/1"
  cp "$fp32" "$repository/$model/1/model.onnx"
  served "$folder" "$repository/$model"
  variants+=("$model/fp32=$repository/$model/1/model.onnx")
  rows+=("$model fp32 1")
  version=2
  for method in int8-dynamic int8-static fp16; do
    flags=(--model-repository "$repository" --model "$model" --version 1 --method "$method" --output-version "$version"
           --eval "$eval" --calibration "$calibration" --json)
    [ "$label" = - ] || flags+=(--label "$label")
    echo "quantize $model $method -> version $version..." >&2
    status=0
    "$SERVER" quantize "${flags[@]}" >"$out/$model-$method.json" 2>"$out/$model-$method.err" || status=$?
    echo "$status" >"$out/$model-$method.status"
    if [ -f "$repository/$model/$version/model.onnx" ]; then
      variants+=("$model/$method=$repository/$model/$version/model.onnx")
    else
      echo "  no $method variant of $model (exit $status): $(head -c 300 "$out/$model-$method.err")" >&2
    fi
    rows+=("$model $method $version")
    version=$(( version + 1 ))
  done
done
# The same encoder network as TorchScript, when this server has the TorchScript backend.
torchscript=
if [[ " $models " == *" encoder "* ]] && [ -f "$compute/encoder_torchscript/1/model.pt" ]; then
  mkdir -p "$repository/encoder_torchscript/1"
  cp "$compute/encoder_torchscript/1/model.pt" "$repository/encoder_torchscript/1/model.pt"
  served "$compute/encoder_torchscript" "$repository/encoder_torchscript"
  torchscript=yes
  variants+=("encoder/torchscript=$repository/encoder_torchscript/1/model.pt")
fi

# --- raw ------------------------------------------------------------------------------------------------------------
if [ "${SKIP_RAW:-0}" != 1 ]; then
  echo "raw throughput (BenchmarkDotNet, $(( ${#variants[@]} * 2 )) cases)..." >&2
  dotnet build benchmarks/InferenceServer.Benchmarks -c Release --nologo -v q >/dev/null
  # In process: BenchmarkDotNet's default toolchain rebuilds the project and everything under it (LibTorch included)
  # in a fresh folder with /m:1, ten minutes on this machine; the in-process toolchain measures the build above.
  QUANTIZATION_VARIANTS=$(IFS=';'; echo "${variants[*]}") \
    dotnet benchmarks/InferenceServer.Benchmarks/bin/Release/net10.0/InferenceServer.Benchmarks.dll \
    --filter '*QuantizedVariantBenchmarks*' --inProcess --exporters json --artifacts "$out/bdn" >"$out/bdn.log" 2>&1 \
    || { echo "BenchmarkDotNet failed; see $out/bdn.log" >&2; tail -20 "$out/bdn.log" >&2; }
fi

# --- server ---------------------------------------------------------------------------------------------------------
server=
trap '[ -n "$server" ] && kill "$server" 2>/dev/null; true' EXIT
"$SERVER" serve --model-repository "$repository" --http-address 127.0.0.1 --http-port "$port" --grpc-port "$(( port + 1 ))" \
  --metrics-port "$(( port + 2 ))" >"$out/server.log" 2>&1 &
server=$!
targets=()
for row in "${rows[@]}"; do
  read -r model method version <<<"$row"
  [ -f "$repository/$model/$version/model.onnx" ] && targets+=("$model $method $version")
done
[ -n "$torchscript" ] && targets+=("encoder_torchscript torchscript 1")
for target in "${targets[@]}"; do
  read -r model method version <<<"$target"
  for _ in $(seq 1 300); do
    curl -sf "$url/v2/models/$model/versions/$version/ready" >/dev/null && break
    kill -0 "$server" 2>/dev/null || { echo "the server stopped:" >&2; tail -20 "$out/server.log" >&2; exit 1; }
    sleep 0.2
  done
  if ! curl -sf "$url/v2/models/$model/versions/$version/ready" >/dev/null; then
    echo "  $model version $version ($method) is not ready; skipped" >&2
    continue
  fi
  echo "server: $model version $version ($method), concurrency $concurrency, ${seconds}s..." >&2
  "$LOADTEST" --url "$url" --model "$model" --version "$version" --protocol rest-binary --concurrency "$concurrency" \
    --batch-size 1 --distinct-inputs 64 --seed 7 --duration "${seconds}s" --warmup 3s --no-progress \
    --json "$out/server-$model-$method.json" >"$out/server-$model-$method.txt" 2>&1 || true
done
curl -s "$url/v2/models/stats" >"$out/stats.json" || true

# TorchScript against ONNX Runtime, output by output: both versions of the encoder on its evaluation rows.
if [ -n "$torchscript" ]; then
  /usr/bin/python3 - "$url" "$compute/encoder.eval.jsonl" >"$out/torchscript-difference.txt" <<'PY' || true
import json, sys, urllib.request
url, path = sys.argv[1], sys.argv[2]
rows = [json.loads(line) for line in open(path)][:256]
largest = 0.0
for start in range(0, len(rows), 32):
    batch = rows[start:start + 32]
    data = [v for r in batch for v in r["tokens"]]
    shape = [len(batch), 64, 16]
    def infer(model, input_name, output):
        body = json.dumps({"inputs": [{"name": input_name, "datatype": "FP32", "shape": shape, "data": data}],
                           "outputs": [{"name": output}]}).encode()
        # Version 1: without one the server answers with the highest version, the int8 variant.
        request = urllib.request.Request(f"{url}/v2/models/{model}/versions/1/infer", body, {"Content-Type": "application/json"})
        return json.load(urllib.request.urlopen(request))["outputs"][0]["data"]
    a = infer("encoder", "tokens", "logits")
    b = infer("encoder_torchscript", "INPUT__0", "OUTPUT__0")
    largest = max(largest, max(abs(x - y) for x, y in zip(a, b)))
print(f"{largest:.3g} over {len(rows)} rows")
PY
fi
kill "$server" 2>/dev/null || true
server=

# --- table ----------------------------------------------------------------------------------------------------------
/usr/bin/python3 - "$out" "$concurrency" "$repository" "${rows[@]}" <<'PY'
import glob, json, os, sys
out, concurrency, repository, rows = sys.argv[1], int(sys.argv[2]), sys.argv[3], [r.split() for r in sys.argv[4:]]

raw = {}   # (variant name, batch) -> rows per second
for path in glob.glob(f"{out}/bdn/results/*QuantizedVariantBenchmarks*.json"):
    for b in json.load(open(path))["Benchmarks"]:
        p = dict(kv.split("=", 1) for kv in b["Parameters"].split("&"))
        if not b.get("Statistics"):
            continue   # a case that failed: its row shows a dash
        batch = int(p["Batch"])
        mean_ns = b["Statistics"]["Mean"]
        raw[(p["Variant"], batch)] = batch * 1e9 / mean_ns

def server(model, method):
    try:
        return json.load(open(f"{out}/server-{model}-{method}.json"))["runs"][0]["summary"]["throughput"]
    except (OSError, KeyError, IndexError, ValueError):
        return None

def gate(model, method):
    try:
        return json.load(open(f"{out}/{model}-{method}.json"))
    except (OSError, ValueError):
        return None

def size_text(n):
    return f"{n / 1e6:.2f} MB" if n >= 1e6 else f"{n / 1e3:.1f} KB"

def fmt(x, digits=0):
    return "—" if x is None else f"{x:,.{digits}f}"

def ratio(x, base):
    return "" if x is None or not base else f" ({x / base:.2f}×)"

print(open(f"{out}/machine.txt").read().strip())
print()
print(f"| model | variant | size | max abs error | mean abs error | agreement | AUC FP32 → variant | raw rows/s b=1 | raw rows/s b=32 | server rows/s c={concurrency} |")
print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
base = {}
for model, method, version in rows:
    name = f"{model}/{method}"
    r1, r32, s = raw.get((name, 1)), raw.get((name, 32)), server(model, method)
    if method == "fp32":
        base[model] = (r1, r32, s)
        size = os.path.getsize(f"{repository}/{model}/1/model.onnx")
        print(f"| {model} | FP32 | {size_text(size)} | | | | | {fmt(r1)} | {fmt(r32)} | {fmt(s)} |")
        continue
    b1, b32, bs = base.get(model, (None, None, None))
    g = gate(model, method)
    if g is None or "outputs" not in g:
        err = open(f"{out}/{model}-{method}.err").read().strip().splitlines()
        print(f"| {model} | {method} | not made: {(err[-1] if err else 'no output')[:120]} | | | | | | | |")
        continue
    o = g["outputs"][0]
    auc = "" if o.get("parent_auc") is None else f"{o['parent_auc']:.4f} → {o['variant_auc']:.4f}"
    refused = "" if g["passed"] else " (refused: " + "; ".join(g["failures"]) + ")"
    print(f"| {model} | {method}{refused} | {size_text(g['variant_bytes'])} ({g['size_ratio']:.2f}×) | {fmt(o['max_abs_error'], 4) if o['max_abs_error'] is not None else '—'} "
          f"| {o['mean_abs_error']:.2e} | {o['agreement'] * 100:.2f}% ({o['decision']}) | {auc} "
          f"| {fmt(r1)}{ratio(r1, b1)} | {fmt(r32)}{ratio(r32, b32)} | {fmt(s)}{ratio(s, bs)} |")

ts = (raw.get(("encoder/torchscript", 1)), raw.get(("encoder/torchscript", 32)), server("encoder_torchscript", "torchscript"))
if any(ts):
    b1, b32, bs = base.get("encoder", (None, None, None))
    diff = open(f"{out}/torchscript-difference.txt").read().strip() if os.path.exists(f"{out}/torchscript-difference.txt") else "—"
    print()
    print(f"| encoder backend | raw rows/s b=1 | raw rows/s b=32 | server rows/s c={concurrency} | largest output difference |")
    print("|---|---:|---:|---:|---|")
    print(f"| ONNX Runtime (FP32) | {fmt(b1)} | {fmt(b32)} | {fmt(bs)} | |")
    print(f"| TorchScript (LibTorch) | {fmt(ts[0])}{ratio(ts[0], b1)} | {fmt(ts[1])}{ratio(ts[1], b32)} | {fmt(ts[2])}{ratio(ts[2], bs)} | {diff} |")

# The issue's target on the compute-bound sample.
b1, b32, bs = base.get("encoder", (None, None, None))
best = []
for method in ("int8-dynamic", "int8-static"):
    g = gate("encoder", method)
    r32 = raw.get((f"encoder/{method}", 32))
    if g and "outputs" in g and r32 and b32:
        best.append((r32 / b32, g["outputs"][0]["agreement"], method))
if best:
    speed, agreement, method = max(best)
    met = speed >= 1.8 and agreement >= 0.99
    print()
    print(f"target (encoder, int8 >= 1.8x FP32 raw throughput at batch 32 with agreement >= 99%): "
          f"{'MET' if met else 'NOT MET'} by {method}: {speed:.2f}x, agreement {agreement * 100:.2f}%")
print()
print(f"load average after the run: {open('/proc/loadavg').read().split()[:3]}")
PY
