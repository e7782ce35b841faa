#!/usr/bin/env bash
# Runs every test project and ends with one line: "tests: N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."

# The cluster tests start silos from artifacts/silo: publish it (only when a source is newer) before the tests build.
deploy/local/cluster.sh publish || { echo "tests: 0 passed, 1 failed"; exit 1; }

log=$(mktemp)
dotnet test SslOrleans.sln -c Release --nologo 2>&1 | tee "$log"
status=${PIPESTATUS[0]}

# dotnet test prints one summary per test assembly: "Passed!  - Failed: 0, Passed: 89, Skipped: 0, Total: 89, …"
passed=$(grep -E '^(Passed|Failed)! +- ' "$log" | sed -E 's/.*Passed: *([0-9]+).*/\1/' | awk '{s+=$1} END {print s+0}')
failed=$(grep -E '^(Passed|Failed)! +- ' "$log" | sed -E 's/.*Failed: *([0-9]+), Passed.*/\1/' | awk '{s+=$1} END {print s+0}')
assemblies=$(grep -cE '^(Passed|Failed)! +- ' "$log")
rm -f "$log"
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
  failed=1   # the build or a test host failed before any test could report
fi
if [ "$assemblies" -eq 0 ] && [ "$status" -eq 0 ]; then
  echo "no test assembly reported results" >&2
  status=1; failed=1
fi
echo "tests: ${passed} passed, ${failed} failed"
exit $status
