#!/usr/bin/env bash
# Online features (issue 14), side by side in one run on one machine, against `income` with its features in Redis:
#   - ours-predict: POST /v2/models/income/predict {"entity": {"id": K}}: client -> server -> feature sidecar (Unix
#     socket) -> Redis -> feature view -> model -> client;
#   - ours-record: the same predict with the entity's raw fields in the request (no store): the feature view alone;
#   - ours-infer: plain v2 JSON infer of the same model with the same entities' 58 encoded features in the request
#     (the baseline the predict path's overhead is measured against);
#   - fastapi-predict: the stack our users come from, FastAPI + uvicorn + redis-py (benchmarks/peers/
#     fastapi_features.py): the same keys from the same Redis, the training-time encoding in Python, the same
#     weights in numpy, the same predict bodies. One uvicorn worker: Debian's uvicorn 0.17 with 2 workers answers each
#     request only after ~44 ms here (22 requests/s at concurrency 1), so one worker is the Python stack at its best.
# First `feature-sidecar materialize` loads ENTITIES synthetic Adult-like rows from a CSV into Redis (its rows/s is
# reported). Then ROUNDS rounds of closed-loop `loadtest` runs at concurrency 1 and 32, the three targets
# interleaved in each round so the machine's drift falls on all of them alike; the table gives the medians (and the
# range) over rounds. Then each target's capacity at p99 < 10 ms (open-loop `loadtest --find-max-rate`, starting at
# half the target's closed-loop throughput at concurrency 32), and
# `feature-sidecar bench` at concurrency 128 (one key per lookup, Redis behind it). The report goes to stdout in
# Markdown; every loadtest JSON result stays in the output folder.
#
# Usage: benchmarks/features.sh [seconds-per-point] [rounds] [output-folder]
#   defaults: 10 3 benchmarks/features-results
# Environment: PORT (base port, default 18400: server +0/+1/+2, peer +10, Redis +20), ENTITIES (default 100000),
#   CAPACITY_TRIALS (per capacity search, default 12), STORE (tcp, the default: the sidecar reads Redis at
#   redis://127.0.0.1:PORT; unix: through Redis's Unix socket, redis+unix:), CONCURRENCIES (the closed-loop points,
#   default "1 32"; the tables follow it, so "1 2 4 8 16 32" finds the Python stack's best closed loop under 10 ms),
#   TARGETS (the labels to run, default all four), CAPACITY (1, the default; 0 skips the capacity searches and the sidecar bench at 128: the c=1
#   overhead alone is `CONCURRENCIES=1 CAPACITY=0 benchmarks/features.sh 10 5`).
# Needs the .NET SDK; installs redis-server, python3-fastapi, python3-uvicorn, python3-redis, python3-onnx and
# python3-numpy when root.
set -euo pipefail
cd "$(dirname "$0")/.."
source benchmarks/lib.sh
seconds=${1:-10}
rounds=${2:-3}
out=${3:-benchmarks/features-results}
port=${PORT:-18400}
entities=${ENTITIES:-100000}
sla="p99<10ms,errors<0.1%"

missing=()
for package in redis-server python3-fastapi python3-uvicorn python3-redis python3-onnx python3-numpy; do
  dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  [ "$(id -u)" = 0 ] || { echo "install: apt-get install ${missing[*]}" >&2; exit 1; }
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

work=$(mktemp -d)
pids=()
# The processes' logs stay beside the results (a crash's message is in them); the rest of the work folder goes.
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; cp "$work"/*.log "$out"/ 2>/dev/null; rm -rf "$work"' EXIT
mkdir -p "$out"
rm -f "$out"/*.json "$out"/*.txt

echo "building (Release)..." >&2
dotnet publish server/InferenceServer -c Release -o "$work/server" --nologo -v q >/dev/null
dotnet publish server/InferenceServer.FeatureSidecar -c Release -o "$work/sidecar" --nologo -v q >/dev/null
dotnet publish loadtests/InferenceServer.LoadTest -c Release -o "$work/loadtest" --nologo -v q >/dev/null
loadtest="$work/loadtest/loadtest"
sidecar="$work/sidecar/feature-sidecar"
redis_port=$((port + 20))
store="redis://127.0.0.1:$redis_port"
# What the sidecar serves from: the same Redis, over TCP or its Unix socket (materialize and the Python peer use TCP).
serve_store=$store
[ "${STORE:-tcp}" = unix ] && serve_store="redis+unix:$work/redis.sock"

echo "writing $entities entities and the request bodies..." >&2
/usr/bin/python3 benchmarks/features_data.py "$work" "$entities"

redis-server --port "$redis_port" --bind 127.0.0.1 --unixsocket "$work/redis.sock" --unixsocketperm 700 --save "" \
  --appendonly no >"$work/redis.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 50); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break; sleep 0.1; done

echo "materialize..." >&2
"$sidecar" materialize --view income --model-repository models --from "$work/entities.csv" --store "$store" \
  2>/dev/null | tr '\r' '\n' | grep '^materialized' | tee "$out/materialize.txt" >&2

"$sidecar" serve --socket "$work/features.sock" --store "$serve_store" >"$work/sidecar.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do [ -S "$work/features.sock" ] && break; sleep 0.1; done
"$work/server/inference-server" serve --model-repository models --http-address 127.0.0.1 --http-port "$port" \
  --grpc-port $((port + 1)) --metrics-port $((port + 2)) --feature-sidecar "$work/features.sock" >"$work/server.log" 2>&1 &
pids+=($!)
/usr/bin/python3 benchmarks/peers/fastapi_features.py --model models/income/1/model.onnx --redis "$store" \
  --port $((port + 10)) >"$work/peer.log" 2>&1 &
pids+=($!)
ours="http://127.0.0.1:$port"
peer="http://127.0.0.1:$((port + 10))"
wait_ready "$ours/v2/health/ready"
wait_ready "$peer/v2/health/ready"

# Both sides must answer the same entity alike before anything is timed.
first=$(head -1 "$work/predict.jsonl")
curl -sf "$ours/v2/models/income/predict" -d "$first" >"$out/check-ours.txt"
curl -sf "$peer/v2/models/income/predict" -d "$first" >"$out/check-fastapi.txt"

targets=(
  "ours-predict|$ours|rest-predict|$work/predict.jsonl"
  "ours-record|$ours|rest-predict|$work/record.jsonl"
  "ours-infer|$ours|rest-json|$work/infer.jsonl"
  "fastapi-predict|$peer|rest-predict|$work/predict.jsonl"
)
# Unrecorded warm-up of every path (JIT tiers, connection pools, Redis's and Python's first touches).
for target in "${targets[@]}"; do
  IFS='|' read -r label url protocol input <<<"$target"
  case " ${TARGETS:-$label} " in *" $label "*) ;; *) continue ;; esac
  echo "warm-up: $label" >&2
  "$loadtest" --url "$url" --model income --protocol "$protocol" --input "$input" --concurrency 8 --duration 5s \
    --warmup 0s >/dev/null 2>&1 || true
done
for round in $(seq 1 "$rounds"); do
  for c in ${CONCURRENCIES:-1 32}; do
    for target in "${targets[@]}"; do
      IFS='|' read -r label url protocol input <<<"$target"
      case " ${TARGETS:-$label} " in *" $label "*) ;; *) continue ;; esac
      echo "round $round: $label c=$c" >&2
      "$loadtest" --url "$url" --model income --protocol "$protocol" --input "$input" --concurrency "$c" \
        --duration "${seconds}s" --warmup 2s --json "$out/closed-$label-c$c-r$round.json" >/dev/null 2>&1 || true
    done
  done
done
# Each search starts at half the target's median closed-loop throughput at concurrency 32, so that its trials go to
# the boundary rather than to rates far below it, where a stall of the machine fails a trial as surely.
start_rate() { # label
  /usr/bin/python3 - "$out" "$1" "$rounds" <<'PY'
import json, os, statistics, sys
out, label, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])
rates = []
for i in range(1, rounds + 1):
    try:
        with open(os.path.join(out, f"closed-{label}-c32-r{i}.json")) as f:
            rates.append(json.load(f)["runs"][0]["summary"]["throughput"])
    except (OSError, ValueError, KeyError, IndexError):
        pass
print(max(100, int(statistics.median(rates) / 2)) if rates else 100)
PY
}
for target in "${targets[@]}"; do
  [ "${CAPACITY:-1}" = 0 ] && break
  IFS='|' read -r label url protocol input <<<"$target"
  case " ${TARGETS:-$label} " in *" $label "*) ;; *) continue ;; esac
  echo "capacity at $sla: $label" >&2
  "$loadtest" --url "$url" --model income --protocol "$protocol" --input "$input" --find-max-rate --sla "$sla" \
    --start-rate "$(start_rate "$label")" --duration 4s --warmup 1s --precision 10% --max-trials "${CAPACITY_TRIALS:-12}" \
    --json "$out/capacity-$label.json" >/dev/null 2>&1 || true
done

[ "${CAPACITY:-1}" = 0 ] || echo "sidecar bench at concurrency 128..." >&2
[ "${CAPACITY:-1}" = 0 ] || "$sidecar" bench --socket "$work/features.sock" --view income --concurrency 128 --duration "${seconds}s" \
  --fields age,education_num,hours_per_week,capital_gain,capital_loss,workclass,education,marital_status,occupation,relationship,sex \
  --keys "$(cat "$work/bench-key.txt")" | tee "$out/sidecar-bench.txt" >&2
curl -sf "http://127.0.0.1:$((port + 2))/metrics" | grep '^inference_server_feature' >"$out/server-feature-metrics.txt" || true

TARGETS=${TARGETS:-} CAPACITY=${CAPACITY:-1} /usr/bin/python3 - "$out" "$rounds" "$sla" ${CONCURRENCIES:-1 32} <<'PY'
import json, os, statistics, sys
out, rounds, sla = sys.argv[1], int(sys.argv[2]), sys.argv[3]
concurrencies = [int(c) for c in sys.argv[4:]]
# Only the targets that ran have rows.
chosen = os.environ.get("TARGETS", "").split()
labels = [l for l in ("ours-predict", "ours-record", "ours-infer", "fastapi-predict") if not chosen or l in chosen]

def run_of(path):
    try:
        with open(path) as f:
            runs = json.load(f)["runs"]
        return runs[0] if runs else None
    except (OSError, ValueError, KeyError):
        return None

def rounds_of(label, c):
    return [r for r in (run_of(os.path.join(out, f"closed-{label}-c{c}-r{i}.json")) for i in range(1, rounds + 1)) if r]

def med(values):
    return statistics.median(values) if values else float("nan")

def cell(values, fmt):
    if not values:
        return "—"
    return f"{fmt(med(values))} ({fmt(min(values))}–{fmt(max(values))})" if len(values) > 1 else fmt(values[0])

print(f"### Closed loop, medians of {rounds} rounds (range)\n")
print("| target | c | requests/s | p50 µs | p99 µs | errors |")
print("|---|---|---|---|---|---|")
for c in concurrencies:
    for label in labels:
        runs = rounds_of(label, c)
        tput = [r["summary"]["throughput"] for r in runs]
        p50 = [r["latencyMs"]["p50"] * 1000 for r in runs]
        p99 = [r["latencyMs"]["p99"] * 1000 for r in runs]
        errors = sum(r["summary"]["errors"] for r in runs)
        print(f"| {label} | {c} | {cell(tput, lambda v: f'{v:,.0f}')} | {cell(p50, lambda v: f'{v:,.0f}')} | "
              f"{cell(p99, lambda v: f'{v:,.0f}')} | {errors} |")

if "ours-infer" in labels and ("ours-predict" in labels or "ours-record" in labels):
    print("\n### Overhead over plain infer, per round (p50 µs, same round)\n")
for label in [l for l in ("ours-predict", "ours-record") if l in labels and "ours-infer" in labels]:
    for c in concurrencies:
        deltas = []
        for i in range(1, rounds + 1):
            p, q = (run_of(os.path.join(out, f"closed-{l}-c{c}-r{i}.json")) for l in (label, "ours-infer"))
            if p and q:
                deltas.append((p["latencyMs"]["p50"] - q["latencyMs"]["p50"]) * 1000)
        print(f"- {label} c={c}: " + (", ".join(f"{d:+.0f}" for d in deltas) + f" µs; median {med(deltas):+.0f} µs" if deltas else "—"))

print("\n### Best closed-loop throughput with a median p99 under 10 ms\n")
print("| target | requests/s | at | vs FastAPI |")
print("|---|---|---|---|")
def best(label):
    points = []
    for c in concurrencies:
        runs = rounds_of(label, c)
        if runs and med([r["latencyMs"]["p99"] for r in runs]) < 10:
            points.append((med([r["summary"]["throughput"] for r in runs]), c))
    return max(points) if points else None
peer_best = best("fastapi-predict")
for label in labels:
    b = best(label)
    ratio = f"{b[0] / peer_best[0]:.1f}×" if b and peer_best else "—"
    print(f"| {label} | {b[0]:,.0f} | c={b[1]} | {ratio} |" if b else f"| {label} | none under 10 ms | — | — |")

def capacity(label):
    run = run_of(os.path.join(out, f"capacity-{label}.json"))
    return ((run or {}).get("capacity", {}) or {}).get("maxRate")
if os.environ.get("CAPACITY", "1") != "0":
    print(f"\n### Capacity at {sla} (open loop, highest passing rate)\n")
    print("| target | capacity req/s | vs FastAPI |")
    print("|---|---|---|")
    peer = capacity("fastapi-predict")
    for label in labels:
        rate = capacity(label)
        ratio = f"{rate / peer:.1f}×" if rate and peer else "—"
        print(f"| {label} | {rate:,.0f} | {ratio} |" if rate else f"| {label} | none passed | — |")

for name in ("materialize.txt", "sidecar-bench.txt", "check-ours.txt", "check-fastapi.txt"):
    try:
        with open(os.path.join(out, name)) as f:
            print(f"\n{name}: {f.read().strip()}")
    except OSError:
        pass
PY
