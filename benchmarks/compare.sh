#!/usr/bin/env bash
# The side-by-side comparison of issue 5, in one run on one machine, against `income`:
#   - InferenceServer over REST JSON, REST binary and gRPC, without (`income`) and with dynamic
#     batching (`income_batched`: the same model file plus `dynamic_batching { }`);
#   - the FastAPI + uvicorn peer (benchmarks/peers/fastapi_income.py, same weights, v2 JSON);
#   - the upper bounds: a trivial Kestrel endpoint that answers every request at once after reading
#     its body (loadtest --ceiling: the HTTP and gRPC ceiling of this machine and generator, measured
#     just before each `income` point with the same bodies, protocol and concurrency),
#     and raw in-process ONNX Runtime throughput of the same model at the same batch sizes.
# Each point is a closed-loop `loadtest` run (throughput, p50, p99); then the capacity at the SLA
# p99 < 10 ms (open-loop `loadtest --find-max-rate`) of every target. The tables go to stdout in
# Markdown, and every loadtest JSON result stays in the output folder.
#
# Usage: benchmarks/compare.sh [seconds-per-point] [concurrencies] [output-folder]
#   defaults: 10 "1 8 32 128" benchmarks/compare-results
# Environment: PORT (base port, default 18300: server +0/+1/+2, peer +10),
#   PEER_WORKERS (uvicorn worker processes, default 1: Debian's uvicorn 0.17 in multi-worker mode
#   answers each request only after ~44 ms here, one worker is the peer at its best), CAPACITY_TRIALS
#   (per capacity search, default 12).
# Needs the .NET SDK; installs python3-fastapi, python3-uvicorn, python3-onnx, python3-numpy when root.
set -euo pipefail
cd "$(dirname "$0")/.."
source benchmarks/lib.sh
seconds=${1:-10}
concurrencies=${2:-1 8 32 128}
out=${3:-benchmarks/compare-results}
port=${PORT:-18300}
peer_workers=${PEER_WORKERS:-1}
sla="p99<10ms,errors<0.1%"

missing=()
for package in python3-fastapi python3-uvicorn python3-onnx python3-numpy; do
  dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  [ "$(id -u)" = 0 ] || { echo "install: apt-get install ${missing[*]}" >&2; exit 1; }
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

work=$(mktemp -d)
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"' EXIT
mkdir -p "$out"
rm -f "$out"/*.json

echo "building (Release)..." >&2
dotnet publish server/InferenceServer -c Release -o "$work/server" --nologo -v q >/dev/null
dotnet publish loadtests/InferenceServer.LoadTest -c Release -o "$work/loadtest" --nologo -v q >/dev/null
dotnet build benchmarks/InferenceServer.Benchmarks -c Release --nologo -v q >/dev/null
loadtest="$work/loadtest/loadtest"

cp -r models "$work/repository"
cp -r models/income "$work/repository/income_batched"
sed -i 's/^name: "income"/name: "income_batched"/' "$work/repository/income_batched/config.pbtxt"
printf '\n# Added by benchmarks/compare.sh: batch whatever queues while the instance is busy.\ndynamic_batching { }\n' >>"$work/repository/income_batched/config.pbtxt"

"$work/server/inference-server" serve --model-repository "$work/repository" --http-address 127.0.0.1 \
  --http-port "$port" --grpc-port $((port + 1)) --metrics-port $((port + 2)) >"$work/server.log" 2>&1 &
pids+=($!)
/usr/bin/python3 benchmarks/peers/fastapi_income.py --model models/income/1/model.onnx --port $((port + 10)) \
  --workers "$peer_workers" >"$work/peer.log" 2>&1 &
pids+=($!)
wait_ready "http://127.0.0.1:$port/v2/health/ready"
wait_ready "http://127.0.0.1:$((port + 10))/v2/health/ready"
sleep 1

ours_rest="http://127.0.0.1:$port"
ours_grpc="http://127.0.0.1:$((port + 1))"
peer="http://127.0.0.1:$((port + 10))"

# target label, url, model, protocol: one closed-loop run per concurrency, then a capacity search.
targets=(
  "ours|$ours_rest|income|rest-json"
  "ours|$ours_rest|income|rest-binary"
  "ours|$ours_grpc|income|grpc"
  "ours-batched|$ours_rest|income_batched|rest-json"
  "ours-batched|$ours_rest|income_batched|rest-binary"
  "ours-batched|$ours_grpc|income_batched|grpc"
  "fastapi|$peer|income|rest-json"
)

for target in "${targets[@]}"; do
  IFS='|' read -r label url model protocol <<<"$target"
  # For `income` the generator's ceiling is measured first, with the same bodies, protocol and concurrency.
  ceiling=()
  [ "$label" = ours ] && ceiling=(--ceiling --ceiling-duration "${seconds}s")
  for c in $concurrencies; do
    echo "closed loop: $label $protocol c=$c" >&2
    "$loadtest" --url "$url" --model "$model" --protocol "$protocol" --concurrency "$c" "${ceiling[@]}" \
      --duration "${seconds}s" --warmup 2s --json "$out/closed-$label-$protocol-c$c.json" >/dev/null 2>&1 || true
  done
done
for target in "${targets[@]}"; do
  IFS='|' read -r label url model protocol <<<"$target"
  echo "capacity at $sla: $label $protocol" >&2
  "$loadtest" --url "$url" --model "$model" --protocol "$protocol" --find-max-rate --sla "$sla" \
    --duration 4s --warmup 1s --precision 10% --max-trials "${CAPACITY_TRIALS:-12}" --json "$out/capacity-$label-$protocol.json" >/dev/null 2>&1 || true
done

echo "raw ONNX Runtime throughput" >&2
dotnet run --project benchmarks/InferenceServer.Benchmarks -c Release --no-build -- raw-throughput \
  --model models/income --batch "$(echo "$concurrencies" | tr ' ' ',')" --seconds 3 >"$out/raw-throughput.txt" 2>&1 || true

/usr/bin/python3 - "$out" "$concurrencies" "$sla" <<'PY'
import glob, json, os, re, sys
out, concurrencies, sla = sys.argv[1], [int(c) for c in sys.argv[2].split()], sys.argv[3]

def run_of(path):
    try:
        with open(path) as f:
            runs = json.load(f)["runs"]
        return runs[0] if runs else None
    except (OSError, ValueError, KeyError):
        return None

targets = []
for path in sorted(glob.glob(os.path.join(out, "closed-*.json"))):
    m = re.match(r"closed-(.+)-(rest-json|rest-binary|grpc)-c(\d+)\.json", os.path.basename(path))
    key = (m.group(1), m.group(2))
    if key not in targets:
        targets.append(key)
for protocol in ("rest-json", "rest-binary", "grpc"):
    if ("ours", protocol) in targets:
        targets.append(("kestrel-trivial", protocol))
order = {"ours": 0, "ours-batched": 1, "fastapi": 2, "kestrel-trivial": 3}
targets.sort(key=lambda t: (order.get(t[0], 9), ["rest-json", "rest-binary", "grpc"].index(t[1])))

def closed(label, protocol, c):
    if label == "kestrel-trivial":
        return trivial(protocol, c)
    return run_of(os.path.join(out, f"closed-{label}-{protocol}-c{c}.json"))

def trivial(protocol, c):
    """The ceiling measured before the `ours` point, in the shape of a run."""
    try:
        with open(os.path.join(out, f"closed-ours-{protocol}-c{c}.json")) as f:
            ceiling = json.load(f)["ceiling"]
    except (OSError, ValueError, KeyError):
        return None
    if not ceiling:
        return None
    e = ceiling[0]
    return {"summary": {"throughput": e["throughput"], "errors": e["errors"]}, "latencyMs": {"p50": e["p50Ms"], "p99": e["p99Ms"]}}

def capacity(label, protocol):
    run = run_of(os.path.join(out, f"capacity-{label}-{protocol}.json"))
    return (run or {}).get("capacity", {}) or {}

print(f"### Closed loop: requests/s (p50 / p99 ms)\n")
print("| target | protocol | " + " | ".join(f"c={c}" for c in concurrencies) + " |")
print("|---|---|" + "---|" * len(concurrencies))
for label, protocol in targets:
    cells = []
    for c in concurrencies:
        run = closed(label, protocol, c)
        if run is None:
            cells.append("—")
            continue
        s, l = run["summary"], run["latencyMs"]
        errors = f", {s['errors']} errors" if s["errors"] else ""
        cells.append(f"{s['throughput']:,.0f} ({l['p50']:.2f} / {l['p99']:.2f}{errors})")
    print(f"| {label} | {protocol} | " + " | ".join(cells) + " |")

print(f"\n### Capacity at {sla} (open loop, highest passing rate)\n")
print("| target | protocol | capacity req/s | vs FastAPI |")
print("|---|---|---|---|")
peer = capacity("fastapi", "rest-json").get("maxRate")
for label, protocol in targets:
    if label == "kestrel-trivial":
        continue
    rate = capacity(label, protocol).get("maxRate")
    ratio = f"{rate / peer:.1f}×" if rate and peer else "—"
    print(f"| {label} | {protocol} | {rate:,.0f} | {ratio} |" if rate else f"| {label} | {protocol} | none passed | — |")

print("\n### Ratios\n")
for protocol in ("rest-binary", "grpc", "rest-json"):
    best_ours = max(((closed("ours", protocol, c) or {}).get("summary", {}).get("throughput", 0), c) for c in concurrencies)
    best_trivial = max(((closed("kestrel-trivial", protocol, c) or {}).get("summary", {}).get("throughput", 0), c) for c in concurrencies)
    if best_trivial[0]:
        print(f"- {protocol}: best `income` throughput {best_ours[0]:,.0f}/s (c={best_ours[1]}) is "
              f"{best_ours[0] / best_trivial[0]:.0%} of the trivial Kestrel endpoint's {best_trivial[0]:,.0f}/s (c={best_trivial[1]})")
g1, b1 = closed("ours", "grpc", concurrencies[0]), closed("ours", "rest-binary", concurrencies[0])
if g1 and b1:
    print(f"- p50 at c={concurrencies[0]}: gRPC {g1['latencyMs']['p50']:.3f} ms vs REST binary {b1['latencyMs']['p50']:.3f} ms "
          f"({g1['latencyMs']['p50'] / b1['latencyMs']['p50']:.2f}×)")
cmax = concurrencies[-1]
g, b = closed("ours", "grpc", cmax), closed("ours", "rest-binary", cmax)
if g and b:
    print(f"- throughput at c={cmax}: gRPC {g['summary']['throughput']:,.0f}/s vs REST binary {b['summary']['throughput']:,.0f}/s "
          f"({g['summary']['throughput'] / b['summary']['throughput']:.2f}×)")

raw = os.path.join(out, "raw-throughput.txt")
if os.path.exists(raw):
    print("\n### Raw in-process ONNX Runtime (one instance, one thread calling Run)\n")
    print("```")
    print(open(raw).read().strip())
    print("```")
PY
