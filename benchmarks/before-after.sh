#!/usr/bin/env bash
# Before/after of a change, side by side in one run on one machine: this checkout ("after") against
# another checkout of the project ("before", e.g. `git worktree add ../before <commit>`), each built
# Release from its own sources.
#   1. raw backend throughput of `income` at batch 1 and 32 (the `raw-throughput` mode of each side's
#      benchmark project, one thread, same model folder), rounds interleaved;
#   2. server throughput, p50 and p99 of `income` over REST binary and gRPC at concurrency 1, 32 and 128:
#      both servers run at once on their own ports (idle while the other is measured) and ONE generator,
#      this checkout's `loadtest`, drives them in turn, the side that goes first alternating every
#      round; the table gives the medians of the rounds and the median (and range) of the rounds'
#      after/before ratios, each pair having run back to back;
#   3. optionally (CODECS=1) the REST and gRPC codec benchmarks (BenchmarkDotNet) of each side.
# Prints Markdown tables; every loadtest JSON result stays in the output folder.
#
# Usage: benchmarks/before-after.sh <before-checkout> [seconds-per-point] [rounds] [output-folder]
#   defaults: 8 3 benchmarks/before-after-results
# Environment: PORT (base port, default 18400: before +0/+1/+2, after +10/+11/+12),
#   CONCURRENCIES (default "1 32 128"), RAW_SECONDS (default 5), CODECS (0|1, default 0).
set -euo pipefail
cd "$(dirname "$0")/.."
source benchmarks/lib.sh
before_src=$(cd "${1:?usage: benchmarks/before-after.sh <before-checkout> [seconds] [rounds] [out]}" && pwd)
seconds=${2:-8}
rounds=${3:-3}
out=${4:-benchmarks/before-after-results}
port=${PORT:-18400}
concurrencies=${CONCURRENCIES:-1 32 128}
raw_seconds=${RAW_SECONDS:-5}

work=$(mktemp -d)
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"' EXIT
mkdir -p "$out"
rm -f "$out"/*.json "$out"/*.txt

echo "building both sides (Release)..." >&2
for side in before after; do
  src=$PWD
  [ "$side" = before ] && src=$before_src
  dotnet publish "$src/server/InferenceServer" -c Release -o "$work/$side-server" --nologo -v q >/dev/null
  dotnet build "$src/benchmarks/InferenceServer.Benchmarks" -c Release --nologo -v q >/dev/null
done
dotnet publish loadtests/InferenceServer.LoadTest -c Release -o "$work/loadtest" --nologo -v q >/dev/null
loadtest="$work/loadtest/loadtest"
# `income` only, the model measured: an older build fails on what came into models/ after it (routes, TorchScript,
# quantized variants), and a server with --exit-on-error (the default) then exits before it is ready.
mkdir -p "$work/repository"
cp -r models/income "$work/repository/"

echo "raw backend throughput, $rounds rounds of ${raw_seconds}s per batch size" >&2
for round in $(seq 1 "$rounds"); do
  sides="before after"
  [ $((round % 2)) = 0 ] && sides="after before"
  for side in $sides; do
    src=$PWD
    [ "$side" = before ] && src=$before_src
    (cd "$src" && dotnet run --project benchmarks/InferenceServer.Benchmarks -c Release --no-build -- raw-throughput \
      --model "$work/repository/income" --batch 1,32 --seconds "$raw_seconds") >"$out/raw-$side-r$round.txt" 2>&1 || true
  done
done

start_server() { # side base-port
  "$work/$1-server/inference-server" serve --model-repository "$work/repository" --http-address 127.0.0.1 \
    --http-port "$2" --grpc-port $(($2 + 1)) --metrics-port $(($2 + 2)) >"$work/$1.log" 2>&1 &
  pids+=($!)
}
start_server before "$port"
start_server after $((port + 10))
wait_ready "http://127.0.0.1:$port/v2/health/ready"
wait_ready "http://127.0.0.1:$((port + 10))/v2/health/ready"
sleep 1

url() { # side protocol
  local base=$port
  [ "$1" = after ] && base=$((port + 10))
  [ "$2" = grpc ] && base=$((base + 1))
  echo "http://127.0.0.1:$base"
}

for round in $(seq 1 "$rounds"); do
  for protocol in rest-binary grpc; do
    for c in $concurrencies; do
      # Alternate which side goes first, so a drift of the machine during a round favours neither.
      sides="before after"
      [ $((round % 2)) = 0 ] && sides="after before"
      for side in $sides; do
        echo "round $round: $side $protocol c=$c" >&2
        "$loadtest" --url "$(url "$side" "$protocol")" --model income --protocol "$protocol" --concurrency "$c" \
          --duration "${seconds}s" --warmup 2s --json "$out/$side-$protocol-c$c-r$round.json" >/dev/null 2>&1 || true
      done
    done
  done
done

if [ "${CODECS:-0}" = 1 ]; then
  for side in before after; do
    src=$PWD
    [ "$side" = before ] && src=$before_src
    echo "codec benchmarks: $side" >&2
    (cd "$src" && dotnet run --project benchmarks/InferenceServer.Benchmarks -c Release --no-build -- \
      --filter '*CodecBenchmarks*' --artifacts "$work/bdn-$side") >"$out/codecs-$side.txt" 2>&1 || true
    find "$work/bdn-$side" -name '*-report-github.md' -exec cat {} + >"$out/codecs-$side.md" 2>/dev/null || true
  done
fi

/usr/bin/python3 - "$out" "$rounds" "$concurrencies" <<'PY'
import json, os, re, statistics, sys
out, rounds, concurrencies = sys.argv[1], int(sys.argv[2]), [int(c) for c in sys.argv[3].split()]

def runs(side, protocol, c):
    found = {}
    for r in range(1, rounds + 1):
        try:
            with open(os.path.join(out, f"{side}-{protocol}-c{c}-r{r}.json")) as f:
                run = json.load(f)["runs"][0]
            found[r] = (run["summary"]["throughput"], run["latencyMs"]["p50"], run["latencyMs"]["p99"], run["summary"]["errors"])
        except (OSError, ValueError, KeyError, IndexError):
            pass
    return found

def med(values):
    return statistics.median(values) if values else float("nan")

def ratio(pairs):
    # The two sides of a round ran back to back, so their ratio cancels most of a shared machine's drift; the
    # median of the rounds' ratios, with their range.
    values = sorted(pairs)
    return f"{med(values):.2f}× ({values[0]:.2f}–{values[-1]:.2f})" if values else "—"

print(f"### Server: `income`, closed loop, {rounds} rounds (requests/s, p50 / p99 ms: medians of the rounds)\n")
print("| protocol | c | before | after | throughput after/before | p50 after/before | p99 after/before |")
print("|---|---|---|---|---|---|---|")
for protocol in ("rest-binary", "grpc"):
    for c in concurrencies:
        b, a = runs("before", protocol, c), runs("after", protocol, c)
        paired = sorted(set(b) & set(a))
        if not paired:
            print(f"| {protocol} | {c} | | | | | |")
            continue
        bt, bp50, bp99 = (med([b[r][k] for r in paired]) for k in range(3))
        at, ap50, ap99 = (med([a[r][k] for r in paired]) for k in range(3))
        errors = sum(a[r][3] + b[r][3] for r in paired)
        note = f" ({errors} errors)" if errors else ""
        print(f"| {protocol} | {c} | {bt:,.0f} ({bp50:.3f} / {bp99:.3f}) | {at:,.0f} ({ap50:.3f} / {ap99:.3f}){note} | "
              f"{ratio([a[r][0] / b[r][0] for r in paired])} | {ratio([a[r][1] / b[r][1] for r in paired])} | {ratio([a[r][2] / b[r][2] for r in paired])} |")

def raw(side):
    per_batch = {}
    for r in range(1, rounds + 1):
        try:
            text = open(os.path.join(out, f"raw-{side}-r{r}.txt")).read()
        except OSError:
            continue
        # The raw mode prints one line per batch size: "RAW batch=B runs=N seconds=S images_per_s=X ms_per_batch=M".
        for m in re.finditer(r"^RAW batch=(\d+) .*images_per_s=([0-9.]+)", text, re.M):
            batch = int(m.group(1))
            per_batch.setdefault(batch, []).append(float(m.group(2)) / batch)
    return {b: med(v) for b, v in per_batch.items()}

rb, ra = raw("before"), raw("after")
print(f"\n### Raw backend, `income`, one thread, median of {rounds} rounds (runs/s)\n")
print("| batch | before | after | after/before |")
print("|---|---|---|---|")
for batch in sorted(set(rb) | set(ra)):
    b, a = rb.get(batch), ra.get(batch)
    ratio = f"{a / b:.2f}×" if a and b else "—"
    print(f"| {batch} | {b:,.0f} | {a:,.0f} | {ratio} |" if a and b else f"| {batch} | {b or '—'} | {a or '—'} | — |")
PY
