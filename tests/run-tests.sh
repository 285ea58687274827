#!/usr/bin/env bash
# Runs every test of the solution on a fresh Debian machine with the .NET SDK.
# It installs what it needs itself (as root): the Debian packages below. ONNX Runtime comes from
# NuGet with the rest of the build.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages the tests use: python3-prometheus-client is the independent parser the metrics tests check /metrics with;
# python3-grpcio, python3-protobuf and python3-numpy make the independent gRPC client the gRPC
# functional tests drive the server with (tests/InferenceServer.FunctionalTests/Grpc/python).
need_debs=()
/usr/bin/python3 -c "import prometheus_client" 2>/dev/null || need_debs+=(python3-prometheus-client)
/usr/bin/python3 -c "import grpc" 2>/dev/null || need_debs+=(python3-grpcio)
/usr/bin/python3 -c "import google.protobuf" 2>/dev/null || need_debs+=(python3-protobuf)
/usr/bin/python3 -c "import numpy" 2>/dev/null || need_debs+=(python3-numpy)
# redis-server: the online store the feature sidecar's tests start and stop themselves (tests/InferenceServer.Tests.Common/RedisServer.cs).
command -v redis-server >/dev/null 2>&1 || need_debs+=(redis-server)
if [ ${#need_debs[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing Debian packages: ${need_debs[*]}"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_debs[@]}" >/dev/null
  else
    echo "missing Debian packages: ${need_debs[*]} (apt-get install ${need_debs[*]})" >&2
    exit 1
  fi
fi

# The solution holds every test project: unit, functional (real server on loopback) and the load generator's
# (tests/InferenceServer.LoadTest.Tests: histogram accuracy, fake-clock scheduling, and short load runs against the
# real server over REST and gRPC); the line at the end sums them all.
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
dotnet test InferenceServer.sln -c Release --nologo "$@" 2>&1 | tee "$log" || status=$?

# One closing line for CI dashboards, summed over the test projects.
awk '/(Passed|Failed)! +- +Failed:/ {
       for (i = 1; i <= NF; i++) { gsub(",", "", $(i+1));
         if ($i == "Failed:") f += $(i+1); if ($i == "Passed:") p += $(i+1); if ($i == "Skipped:") s += $(i+1) } }
     END { printf "%d passed, %d failed, %d skipped\n", p, f, s }' "$log"
exit $status
