#!/usr/bin/env bash
# Many models on one machine (issue 16, "Measured"): N variants of a 20 MB model, a memory budget that holds a few of
# them, Zipf-distributed traffic over all of them; hit rate, warm and cold latency, loads per second and peak RSS
# against the budget.
#
# In this order:
#   repository  models/generate_variants.py writes MODELS variants (about 20 MB of weights each) into
#               benchmarks/.variants-repository (kept between runs; a rerun skips what is up to date)
#   plain load  a server in explicit mode loads variant_0 through the repository API: the load's wall time and the
#               resident memory it added
#   capacity    the same server loads the warm set (the BUDGET_MODELS hottest variants): the footprint the budget is
#               sized from is what the server accounts for them (nv_model_memory_bytes, +2%), or, from a server without
#               that accounting, their resident memory over their number; a closed loop measures their throughput
#               (Zipf, as the run below): RATE is 70% of that unless given
#   cold start  (on-demand servers) a fresh server with the budget; the first request to variant_0 waits for its load,
#               and the server says how long in Inference-Cold-Start-Ms: cold start against the plain load above
#   run         DURATION of open-loop Poisson traffic at RATE, Zipf-distributed (s = ZIPF) over all MODELS variants,
#               after WARMUP (left out of the figures); the server's RSS is sampled every 0.2 s throughout, with its
#               anonymous and file-backed parts, and (where dotnet-counters is installed) the GC's committed memory
#   summary     hit rate, warm / cold p50 and p99, cold starts and loads per second (the harness's cold count; the
#               server's nv_model_eviction_count too), peak RSS against the budget, failures by status
#
# Load on demand and the budget come with issue 16's lifecycle work (--model-control-mode on-demand,
# --model-memory-budget). Against a server without them the script says so, and runs the same traffic over the warm
# set alone, loaded at start in explicit mode: the warm figures and the memory of the warm set, nothing cold.
#
# Usage: benchmarks/many-models.sh [DURATION] [RATE]     (default 5m; RATE: 70% of the warm set's capacity)
# Environment: MODELS (200), BUDGET_MODELS (20), BUDGET (bytes; default BUDGET_MODELS x the measured footprint),
#   ZIPF (1.1), WARMUP (30s), LOADTEST_ARGS (more flags for the run's loadtest), SERVER_ARGS (more flags for the on-demand server, e.g. "--eviction-min-idle 1"), CONCURRENCY (capacity probe workers, 8), PORT (18200; gRPC +1, metrics +2),
#   SERVER (a published inference-server binary; default: publishes a Release build), LOADTEST (likewise),
#   REPOSITORY (benchmarks/.variants-repository), OUT (a fresh temp folder; results, logs and samples stay there).
set -euo pipefail
cd "$(dirname "$0")/.."
source benchmarks/lib.sh
duration=${1:-5m}
rate=${2:-${RATE:-}}
models=${MODELS:-200}
budget_models=${BUDGET_MODELS:-20}
zipf=${ZIPF:-1.1}
warmup=${WARMUP:-30s}
concurrency=${CONCURRENCY:-8}
# More flags for the run's loadtest, e.g. "--connections 1024 --max-in-flight 4096": requests that wait out cold starts
# hold a connection each, and the default 256 fill up long before the schedule's rate is reached.
loadtest_args=${LOADTEST_ARGS:-}
port=${PORT:-18200}
repository=${REPOSITORY:-benchmarks/.variants-repository}
out=${OUT:-$(mktemp -d)}
mkdir -p "$out"
url="http://127.0.0.1:$port"
[ "$budget_models" -lt "$models" ] || { echo "BUDGET_MODELS ($budget_models) must be below MODELS ($models): the point is a budget that holds only some" >&2; exit 2; }

/usr/bin/python3 models/generate_variants.py "$repository" "$models" >&2
repository=$(cd "$repository" && pwd)

ensure_server "$out"
ensure_loadtest
on_demand=false
if "$SERVER" serve --help 2>/dev/null | grep -q 'on-demand'; then
  on_demand=true
fi

# One request for every variant: they share the signature FP32 [-1, 512].
/usr/bin/python3 -c "
import json
print(json.dumps({'inputs': [{'name': 'input', 'datatype': 'FP32', 'shape': [1, 512], 'data': [0.01 * (i % 100) for i in range(512)]}]}))" >"$out/request.jsonl"

server=
sampler=
stop_server() {
  if [ -n "$server" ]; then
    kill "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
    server=
  fi
}
trap 'stop_server; [ -n "$sampler" ] && kill "$sampler" 2>/dev/null; true' EXIT
start_server() {
  local log=$1
  shift
  "$SERVER" serve --model-repository "$repository" --http-address 127.0.0.1 --http-port "$port" \
    --grpc-port "$(( port + 1 ))" --metrics-port "$(( port + 2 ))" "$@" >"$log" 2>&1 &
  server=$!
  for _ in $(seq 1 600); do
    curl -sf "$url/v2/health/ready" >/dev/null && return 0
    kill -0 "$server" 2>/dev/null || { echo "the server exited:" >&2; tail -20 "$log" >&2; exit 1; }
    sleep 0.2
  done
  echo "the server was not ready within 120 s:" >&2
  tail -20 "$log" >&2
  exit 1
}
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$server/status"; }
# Resident KiB in three columns: all of it, anonymous (heaps: the models, the GC, the C allocator's arenas) and
# file-backed (the libraries' code and data pages, touched as the server first loads and runs a model).
rss_split_kb() { awk '/^VmRSS:/ {t = $2} /^RssAnon:/ {a = $2} /^RssFile:/ {f = $2} END {print t, a, f}' "/proc/$server/status"; }
post() {
  # Prints the wall time in seconds; fails on anything but 200.
  local code
  code=$(curl -s -o "$out/post.out" -w '%{http_code} %{time_total}' -X POST -H 'Content-Type: application/json' "$@")
  [ "${code%% *}" = 200 ] || { echo "HTTP ${code%% *} from $*: $(head -c 300 "$out/post.out")" >&2; exit 1; }
  echo "${code#* }"
}

# Plain load of one variant, and the memory it adds.
start_server "$out/server-explicit.log" --model-control-mode explicit
before=$(rss_kb)
empty_split=$(rss_split_kb)
plain_load_s=$(post "$url/v2/repository/models/variant_0/load")
post "$url/v2/models/variant_0/infer" --data-binary "@$out/request.jsonl" >/dev/null
first_kb=$(( $(rss_kb) - before ))
echo "plain load of variant_0: $(awk -v s="$plain_load_s" 'BEGIN { printf "%.0f", s * 1000 }') ms, RSS +$(( first_kb / 1024 )) MiB" >&2

# The warm set, and its capacity. The footprint is the warm set's memory over its size: the first load also pays
# ONNX Runtime's one-time set-up, which would make a budget sized from it alone too generous.
for i in $(seq 1 $(( budget_models - 1 ))); do
  post "$url/v2/repository/models/variant_$i/load" >/dev/null
done
warm_set="variant_{0..$(( budget_models - 1 ))}"
warm_rss_kb=$(rss_kb)
footprint_bytes=$(( (warm_rss_kb - before) * 1024 / budget_models ))
footprint_from="RSS"
# A server that accounts for its models' memory (nv_model_memory_bytes, issue 16) checks the budget against its own
# figures: size the budget from those, 2% over, so the warm set fits as that server counts it.
accounted=$(curl -s "http://127.0.0.1:$(( port + 2 ))/metrics" | awk '/^nv_model_memory_bytes\{.*device="cpu"/ { sum += $NF } END { printf "%.0f", sum }')
if [ "${accounted:-0}" -gt 0 ]; then
  footprint_bytes=$(( accounted * 102 / 100 / budget_models ))
  footprint_from="the server's nv_model_memory_bytes"
fi
budget=${BUDGET:-$(( budget_models * footprint_bytes ))}
echo "warm set of $budget_models: RSS +$(( (warm_rss_kb - before) / 1024 )) MiB; $(( footprint_bytes / 1048576 )) MiB a model by $footprint_from; budget $budget bytes" >&2
if [ -z "$rate" ]; then
  "$LOADTEST" --url "$url" --models "$warm_set" --model-distribution "zipf:$zipf" --input "$out/request.jsonl" \
    --concurrency "$concurrency" --duration 15s --warmup 3s --no-progress --json "$out/capacity.json" >"$out/capacity.txt"
  rate=$(/usr/bin/python3 -c "
import json
run = json.load(open('$out/capacity.json'))['runs'][0]
print(round(0.7 * run['summary']['throughput'], 1))")
  echo "warm set ($budget_models models): $(grep -m1 throughput "$out/capacity.txt" | sed 's/^ *//'); the run's rate: 70% = $rate/s" >&2
fi

if $on_demand; then
  stop_server
  # shellcheck disable=SC2086 # SERVER_ARGS is a list of flags
  start_server "$out/server-on-demand.log" --model-control-mode on-demand --model-memory-budget "$budget" ${SERVER_ARGS:-}
  cold_ms=$(curl -s -o /dev/null -D - -X POST -H 'Content-Type: application/json' --data-binary "@$out/request.jsonl" \
    "$url/v2/models/variant_0/infer" | awk 'tolower($1) == "inference-cold-start-ms:" { print $2 + 0 }')
  echo "cold start of variant_0: ${cold_ms:-?} ms (the server's Inference-Cold-Start-Ms)" >&2
  targets="variant_{0..$(( models - 1 ))}"
else
  echo "PENDING: this server has no --model-control-mode on-demand / --model-memory-budget (issue 16's lifecycle work);" >&2
  echo "         the traffic goes to the warm set only, loaded at start: no cold starts, no evictions to measure" >&2
  cold_ms=
  targets=$warm_set
fi

# RSS every 0.2 s, while the run lasts.
( while kill -0 "$server" 2>/dev/null; do echo "$(date +%s.%N) $(rss_split_kb)"; sleep 0.2; done ) >"$out/rss.txt" 2>/dev/null &
sampler=$!
# The managed heap's share, where dotnet-counters is installed (dotnet tool install -g dotnet-counters): the GC's
# committed memory after each collection, once a second.
counters=
if command -v dotnet-counters >/dev/null 2>&1; then
  dotnet-counters collect -p "$server" --counters System.Runtime --format csv -o "$out/counters.csv" --refresh-interval 1 >/dev/null 2>&1 &
  counters=$!
fi
echo "running $duration (+$warmup warm-up) at $rate/s over $targets, zipf:$zipf..." >&2
"$LOADTEST" --url "$url" --models "$targets" --model-distribution "zipf:$zipf" --input "$out/request.jsonl" \
  --rate "$rate" --arrival poisson --duration "$duration" --warmup "$warmup" --timeout 120s $loadtest_args \
  --no-progress --json "$out/run.json" >"$out/run.txt" || true
[ -s "$out/run.json" ] || { echo "loadtest wrote no results:" >&2; cat "$out/run.txt" >&2; exit 1; }
curl -s "http://127.0.0.1:$(( port + 2 ))/metrics" >"$out/metrics.txt" || true
kill "$sampler" 2>/dev/null || true
sampler=
[ -n "$counters" ] && { kill "$counters" 2>/dev/null; wait "$counters" 2>/dev/null || true; }
stop_server

/usr/bin/python3 - "$out" "$budget" "$footprint_bytes" "$plain_load_s" "${cold_ms:-}" "$on_demand" "$warm_rss_kb" "$budget_models" "$before" "$empty_split" <<'PY'
import json, os, sys
out, budget, footprint, plain_s, cold_ms, on_demand, warm_rss_kb, budget_models, empty_kb, empty_split = sys.argv[1:11]
budget, footprint, warm_rss, empty = int(budget), int(footprint), int(warm_rss_kb) * 1024, int(empty_kb) * 1024
run = json.load(open(f"{out}/run.json"))["runs"][0]
s, m = run["summary"], run.get("models", {})
target = run["target"]
samples = [[int(v) * 1024 for v in line.split()[1:4]] for line in open(f"{out}/rss.txt") if len(line.split()) == 4]
peak, peak_anon, peak_file = max(samples)
empty_anon, empty_file = (int(v) * 1024 for v in empty_split.split()[1:3])
evictions = None
for line in open(f"{out}/metrics.txt"):
    if line.startswith("nv_model_eviction_count"):
        evictions = float(line.split()[-1])
mib = lambda b: f"{b / 1048576:,.0f} MiB"
seconds = s["durationSeconds"]
print(f"models        {target.get('models', 1)} ({target.get('modelDistribution', 'one model')}), budget {mib(budget)} "
      f"({budget_models} x {mib(footprint)} footprint){'' if on_demand == 'true' else ' -- PENDING: not enforced by this server'}")
print(f"traffic       {run['load']['description']} for {seconds:.0f} s: {s['requests']:,} requests, {s['successes']:,} ok, "
      f"throughput {s['throughput']:.1f}/s")
if m and on_demand == "true":
    print(f"hit rate      {m['hitRate'] * 100:.2f}% ({m['warm']:,} warm, {m['coldStarts']:,} cold, {m['coldStartDeadlineMisses']:,} cold-start deadline misses (503))")
elif m:
    # Every model of the run was loaded at start: a 503 here is the server shedding load, not a missed cold start.
    print(f"hit rate      n/a (no on-demand mode: the warm set was loaded at start); {m['coldStartDeadlineMisses']:,} answers were 503 (load shed)")
if m:
    for kind in ("warm", "cold"):
        h = m[f"{kind}LatencyMs"]
        if h["count"]:
            print(f"{kind:<13} p50 {h['p50']:.2f} ms, p99 {h['p99']:.2f} ms, max {h['max']:.1f} ms ({h['count']:,})")
    print(f"loads/s       {m['coldStarts'] / seconds:.2f} (cold starts in the measured window)"
          + ("" if evictions is None else f"; evictions over the whole run: {evictions:.0f}"))
# The budget covers the models; the server itself (runtime, Kestrel, ONNX Runtime's libraries) is what it held empty.
models_peak = peak - empty
print(f"peak RSS      {mib(peak)}: the empty server's {mib(empty)} + {mib(models_peak)} for models, against the budget {mib(budget)} "
      f"(+10%: {mib(budget * 1.1)}) -> {'within' if models_peak <= budget * 1.1 else 'OVER'}; the warm set loaded explicitly: {mib(warm_rss)}")
gc_committed = 0
if os.path.exists(f"{out}/counters.csv"):
    for row in open(f"{out}/counters.csv"):
        cells = row.rstrip().split(",")
        if len(cells) >= 5 and cells[2].startswith("dotnet.gc.last_collection.memory.committed_size"):
            gc_committed = max(gc_committed, float(cells[4]))
print(f"  at the peak  anonymous {mib(peak_anon)} (empty server {mib(empty_anon)}: +{mib(peak_anon - empty_anon)}), file-backed {mib(peak_file)} "
      f"(empty server {mib(empty_file)}: +{mib(peak_file - empty_file)})"
      + (f"; the GC's committed memory peaked at {mib(gc_committed)}" if gc_committed else "; GC figures: install dotnet-counters"))
failures = [e for e in run["errorsByKind"]]
print("failures      " + ("; ".join(f"{e['kind']}: {e['count']:,} ({e.get('sample', '')[:120]})" for e in failures) if failures else "none"))
cold = f"{float(cold_ms):.0f} ms" if cold_ms else "PENDING (no on-demand mode in this server)"
print(f"cold start    variant_0: {cold} against a plain load of {float(plain_s) * 1000:.0f} ms")
print(f"files         {out}")
PY
