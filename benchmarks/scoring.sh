#!/usr/bin/env bash
# Batch scoring throughput (issue 15), in one run on one machine: `inference-server score` of `income` over ROWS
# generated raw records (UCI-Adult-style; the tests' generator, tests/InferenceServer.Tests.Common/IncomeData, through
# the benchmarks' `generate-income` mode; not committed) from Parquet and from CSV, against two baselines:
#   - raw ONNX Runtime in-process at the same batch size (the benchmarks' `raw-scoring` mode: the records encoded once
#     up front by income's feature view, then InferenceSession.Run over them batch after batch, by one calling thread
#     and by one per core (CALLERS, default nproc) at once with ONNX Runtime's default intra-op threads, and by one
#     per core with one intra-op thread each, the shape `score` runs its instances in; the best of the three): the
#     limit, as nothing is read, parsed, encoded or written;
#   - the 25,000 rows/s our users' Spark + pandas UDF job scores at.
# Then the peak RSS (/usr/bin/time -v) of scoring the CSV file, which is at least 10x larger than the run's
# --memory-limit (MEMORY_LIMIT), to show memory stays bounded by the flag, not the file, and of scoring the Parquet
# file (1M-row row groups) at the same limit. Last, the compute-bound
# sample: `income_slow` (tests/fixtures/onnx: income plus ~20 ms of work a run), where ONNX Runtime is nearly all of
# the cost, so `score` against raw ORT there shows what the pipeline costs when the model dominates.
# Every score run writes Parquet into a fresh folder. rows/s is the command's own (its --json summary: rows over the
# pipeline's time), and beside it the file's rows over the whole command's wall time (process start and model load
# included). Prints Markdown; the raw outputs stay in the output folder.
#
# Usage: benchmarks/scoring.sh [rows] [output-folder]
#   defaults: 10000000 benchmarks/scoring-results
# Environment: BATCH (rows per inference, default 256: income's max_batch_size, the score command's default and
#   most), RAW_SECONDS (the raw baseline's measured time, default 20), MEMORY_LIMIT (the RSS run's --memory-limit,
#   default 64MB), ROUNDS (score runs per format, default 1; the table gives the best), DATA (where the generated
#   files are kept between runs, default benchmarks/.scoring-data, ignored by git), SLOW_ROWS (rows of the
#   compute-bound sample, default 200000), CALLERS (the raw baseline's calling threads besides 1, default nproc; also taken with one intra-op thread each).
set -euo pipefail
cd "$(dirname "$0")/.."
rows=${1:-10000000}
out=${2:-benchmarks/scoring-results}
batch=${BATCH:-256}
raw_seconds=${RAW_SECONDS:-20}
memory_limit=${MEMORY_LIMIT:-64MB}
rounds=${ROUNDS:-1}
data=${DATA:-benchmarks/.scoring-data}
slow_rows=${SLOW_ROWS:-200000}
callers=${CALLERS:-$(nproc)}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$out" "$data"
rm -f "$out"/*.txt "$out"/*.jsonl "$out"/*.time "$out"/*.err

echo "building (Release)..." >&2
dotnet publish server/InferenceServer -c Release -o "$work/server" --nologo -v q >/dev/null
dotnet build benchmarks/InferenceServer.Benchmarks -c Release --nologo -v q >/dev/null
bench() { dotnet run --project benchmarks/InferenceServer.Benchmarks -c Release --no-build -- "$@"; }
# Only income: the sample repository also holds a route-only folder and models this run does not need.
mkdir -p "$work/repository"
cp -r models/income "$work/repository/"
# The compute-bound sample: income_slow under income's config and feature view.
mkdir -p "$work/repository/income_slow/1"
cp tests/fixtures/onnx/income_slow.onnx "$work/repository/income_slow/1/model.onnx"
cp models/income/features.pbtxt "$work/repository/income_slow/"
sed 's/^name: "income"/name: "income_slow"/' models/income/config.pbtxt >"$work/repository/income_slow/config.pbtxt"

# "-dictionary": the generator dictionary-encodes the text columns (as Spark and pyarrow do); files cached before it
# did were plain, and are not reused under this name.
parquet="$data/income-$rows-dictionary.parquet"
csv="$data/income-$rows.csv"
if [ ! -s "$parquet" ] || [ ! -s "$csv" ]; then
  echo "generating $rows rows into $data..." >&2
  bench generate-income --rows "$rows" --seed 1 --parquet "$parquet" --csv "$csv" | tee "$out/generate.txt" >&2
fi
slow_parquet="$data/income-$slow_rows-groups-10000-dictionary.parquet"
if [ ! -s "$slow_parquet" ]; then
  bench generate-income --rows "$slow_rows" --seed 2 --row-group 10000 --parquet "$slow_parquet" >&2
fi

echo "raw ONNX Runtime, batch $batch, ${raw_seconds}s..." >&2
raw() { # name model rows
  bench raw-scoring --model "$2" --rows "$3" --batch "$batch" --seconds "$raw_seconds" --callers 1 >"$out/$1.txt"
  if [ "$callers" -gt 1 ]; then
    bench raw-scoring --model "$2" --rows "$3" --batch "$batch" --seconds "$raw_seconds" --callers "$callers" >>"$out/$1.txt"
  fi
  # The shape score runs: single-threaded sessions' work, one caller per core.
  bench raw-scoring --model "$2" --rows "$3" --batch "$batch" --seconds "$raw_seconds" --callers "$callers" --intra-op 1 >>"$out/$1.txt"
}
raw raw "$work/repository/income" 1000000

score() { # name input memory-limit [model]
  local name=$1 input=$2 limit=$3 model=${4:-income} status=0
  rm -rf "$work/out-$name"
  echo "score $name ($input, --memory-limit $limit)..." >&2
  /usr/bin/time -v -o "$out/$name.time" "$work/server/inference-server" score --model-repository "$work/repository" \
    --model "$model" --input "$input" --output "$work/out-$name" --output-format parquet --batch-size "$batch" \
    --memory-limit "$limit" --json >"$out/$name.jsonl" 2>"$out/$name.err" || status=$?
  echo "$status" >"$out/$name.status"
  [ "$status" = 0 ] || echo "  failed (exit $status): $(tail -n 3 "$out/$name.err")" >&2
}
for round in $(seq 1 "$rounds"); do
  score "parquet-r$round" "$parquet" 256MB
  score "csv-r$round" "$csv" 256MB
done
score rss-csv "$csv" "$memory_limit"
# The same bound from Parquet: the generator's 1M-row row groups, read a page at a time.
score rss-parquet "$parquet" "$memory_limit"
echo "compute-bound sample: raw ONNX Runtime and score of income_slow..." >&2
raw raw-slow "$work/repository/income_slow" $((batch * 8))
score slow-parquet "$slow_parquet" 256MB income_slow

/usr/bin/python3 - "$out" "$rows" "$batch" "$rounds" "$memory_limit" "$csv" "$slow_rows" "$parquet" <<'PY'
import json, os, re, sys
out, rows, batch, rounds, memory_limit, csv = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5], sys.argv[6]
slow_rows = int(sys.argv[7])
SPARK = 25_000

def time_of(name):
    """(wall seconds, peak RSS bytes) from /usr/bin/time -v."""
    wall = rss = None
    try:
        for line in open(os.path.join(out, name + ".time")):
            line = line.strip()
            if line.startswith("Elapsed (wall clock) time"):
                parts = [float(p) for p in line.rsplit(" ", 1)[1].split(":")]
                wall = sum(p * 60 ** i for i, p in enumerate(reversed(parts)))
            elif line.startswith("Maximum resident set size"):
                rss = int(line.rsplit(" ", 1)[1]) * 1024
    except OSError:
        pass
    return wall, rss

def ok(name):
    try:
        return open(os.path.join(out, name + ".status")).read().strip() == "0"
    except OSError:
        return False

def summary(name):
    """The last JSON object the run printed (its summary), or None."""
    last = None
    try:
        for line in open(os.path.join(out, name + ".jsonl")):
            line = line.strip()
            if line.startswith("{"):
                try:
                    last = json.loads(line)
                except ValueError:
                    pass
    except OSError:
        pass
    return last

def raw_rates(name):
    """{(callers, intra-op threads or 'default'): rows/s} of a raw-scoring output."""
    rates = {}
    try:
        for line in open(os.path.join(out, name)):
            m = re.search(r"callers=(\d+) (?:intra_op=(\S+) )?.*rows_per_s=(\d+)", line)
            if m:
                rates[(int(m.group(1)), m.group(2) or "default")] = float(m.group(3))
    except OSError:
        pass
    return rates

def raw_label(key):
    callers, intra = key
    threads = "ONNX Runtime's default intra-op threads" if intra == "default" else f"{intra} intra-op thread{'s' if intra != '1' else ''}"
    return f"{callers} calling thread{'s' if callers > 1 else ''}, {threads}"

def raw_rate(name):
    rates = raw_rates(name)
    return max(rates.values()) if rates else None

raw = raw_rate("raw.txt")

def mb(b):
    return f"{b / 2**20:,.0f} MB" if b else "—"

print(f"### Batch scoring `income`: {rows:,} generated rows, batch {batch}\n")
print("| path | rows/s | / raw ORT | / 25K rows/s (Spark) | rows/s over the wall time | wall | peak RSS |")
print("|---|---:|---:|---:|---:|---:|---:|")
for key, rate in sorted(raw_rates("raw.txt").items()):
    print(f"| raw ONNX Runtime (pre-encoded, in-process), {raw_label(key)} | {rate:,.0f} | {rate / raw:.2f} | {rate / SPARK:,.1f}× | | | |")
for fmt in ("parquet", "csv"):
    best = None
    for r in range(1, rounds + 1):
        name = f"{fmt}-r{r}"
        wall, rss = time_of(name)
        if ok(name) and wall:
            if best is None or wall < best[0]:
                best = (wall, rss, name)
    if best is None:
        print(f"| `score` from {fmt.upper()} | failed (see {fmt}-r*.err) | | | | | |")
        continue
    wall, rss, name = best
    s = summary(name) or {}
    if s.get("rows") != rows:
        print(f"| `score` from {fmt.upper()} | scored {s.get('rows')} rows of {rows} (see {name}.jsonl) | | | | | |")
        continue
    rate = float(s.get("rows_per_second") or rows / wall)
    ratio = f"{rate / raw:.2f}" if raw else "—"
    print(f"| `score` from {fmt.upper()} | {rate:,.0f} | {ratio} | {rate / SPARK:,.1f}× | {rows / wall:,.0f} | {wall:.1f} s | {mb(rss)} |")

size = os.path.getsize(csv)
wall, rss = time_of("rss-csv")
units = {"KB": 2**10, "MB": 2**20, "GB": 2**30}
m = re.fullmatch(r"(\d+)\s*([KMG]B)", memory_limit.upper())
limit = int(m.group(1)) * units[m.group(2)] if m else None
print()
print(f"Peak RSS scoring the CSV file ({size / 2**20:,.0f} MB, {size / limit:.1f}× the limit) with --memory-limit {memory_limit}: "
      + (f"**{mb(rss)}** ({(summary('rss-csv') or {}).get('rows_per_second', 0):,.0f} rows/s)" if ok("rss-csv") and rss else "failed (see rss-csv.err)")
      + ("" if not limit or size >= 10 * limit else " — the file is less than 10× the limit: use more rows or a smaller MEMORY_LIMIT"))
wall, rss = time_of("rss-parquet")
psize = os.path.getsize(sys.argv[8])
print()
print(f"Peak RSS scoring the Parquet file ({psize / 2**20:,.0f} MB, 1M-row row groups) with --memory-limit {memory_limit}: "
      + (f"**{mb(rss)}** ({(summary('rss-parquet') or {}).get('rows_per_second', 0):,.0f} rows/s)" if ok("rss-parquet") and rss else "failed (see rss-parquet.err)"))
raw_slow = raw_rate("raw-slow.txt")
s = summary("slow-parquet") or {}
print()
if ok("slow-parquet") and s.get("rows") == slow_rows and raw_slow:
    rate = float(s["rows_per_second"])
    per = "; ".join(f"{v:,.0f} with {raw_label(key)}" for key, v in sorted(raw_rates("raw-slow.txt").items()))
    print(f"Compute-bound sample (`income_slow`, {slow_rows:,} rows from Parquet, batch {batch}): `score` {rate:,.0f} rows/s, "
          f"raw ONNX Runtime {per} rows/s: **{rate / raw_slow:.2f}** of the best.")
else:
    print(f"Compute-bound sample (`income_slow`): failed or incomplete (see slow-parquet.err, raw-slow.txt)")
for name in [f"{f}-r{r}" for f in ("parquet", "csv") for r in range(1, rounds + 1)] + ["rss-csv", "rss-parquet", "slow-parquet"]:
    s = summary(name)
    if s is not None:
        print(f"\n`{name}` summary: `{json.dumps(s, separators=(',', ':'))}`")
PY
