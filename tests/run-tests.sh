#!/usr/bin/env bash
# Runs every test of the solution on a fresh Debian machine with the .NET SDK.
# The build installs what it needs itself: npm (Debian package, when missing and we are root)
# fetches the ONNX Runtime native library once into ~/.cache/inference-server.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v npm >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "npm is missing; installing the Debian package (it fetches the ONNX Runtime native library)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm >/dev/null
  else
    echo "npm is missing: install Node.js/npm (Debian: apt-get install npm); the build uses it to fetch ONNX Runtime" >&2
    exit 1
  fi
fi

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
