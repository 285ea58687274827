# Pieces the benchmark scripts share. Sourced by them after they `cd` to the repository root.

# Sets LOADTEST to a Release build of the load generator, unless the caller gave one.
ensure_loadtest() {
  if [ -z "${LOADTEST:-}" ]; then
    echo "building loadtest (Release)..." >&2
    dotnet build loadtests/InferenceServer.LoadTest -c Release --nologo -v q >/dev/null
    LOADTEST=loadtests/InferenceServer.LoadTest/bin/Release/net10.0/loadtest
  fi
}

# Sets SERVER to a Release publish of the server in FOLDER/server, unless the caller gave one.
ensure_server() { # FOLDER
  if [ -z "${SERVER:-}" ]; then
    echo "publishing the server (Release)..." >&2
    dotnet publish server/InferenceServer -c Release -o "$1/server" --nologo -v q >/dev/null
    SERVER="$1/server/inference-server"
  fi
}

# Writes the `slow` test model into REPOSITORY/slow: tanh(X·X) looped ITERATIONS times over a 64×64 FP32 X, one CPU
# instance, no batching (Triton's default scheduler), so that the model, not HTTP, is the bottleneck.
slow_model() { # REPOSITORY
  mkdir -p "$1/slow/1"
  cp tests/fixtures/onnx/slow.onnx "$1/slow/1/model.onnx"
  cat >"$1/slow/config.pbtxt" <<'PBTXT'
max_batch_size: 0
input [ { name: "X" data_type: TYPE_FP32 dims: [ 64, 64 ] }, { name: "ITERATIONS" data_type: TYPE_INT64 dims: [ 1 ] } ]
output [ { name: "Y" data_type: TYPE_FP32 dims: [ 64, 64 ] } ]
instance_group [ { count: 1 kind: KIND_CPU } ]
PBTXT
}

# Prints one v2 JSON request for `slow` (X filled with 0.01) that loops ITERATIONS times.
slow_request() { # ITERATIONS
  /usr/bin/python3 -c "
import json
print(json.dumps({'inputs': [{'name': 'X', 'datatype': 'FP32', 'shape': [64, 64], 'data': [0.01] * 4096},
                             {'name': 'ITERATIONS', 'datatype': 'INT64', 'shape': [1], 'data': [$1]}]}))"
}

wait_ready() { # URL: waits up to 30 s for it to answer, else stops the script
  for _ in $(seq 1 150); do
    curl -sf "$1" >/dev/null && return 0
    sleep 0.2
  done
  echo "not ready: $1" >&2
  exit 1
}

cpu_ticks() { # PID: its user + system CPU so far, in clock ticks
  awk '{ print $14 + $15 }' "/proc/$1/stat"
}
