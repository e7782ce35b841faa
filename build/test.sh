#!/usr/bin/env bash
# Runs every test project and ends with one line: "tests: N passed, N failed".
#
# SSLO_TEST_KERNELS (default "native") lists the CPU kernel families to run the whole suite with, in turn:
#   native  the kernels libtorch picks for this processor (with the project's oneDNN guard);
#   avx2    oneDNN, MKL and ATen held to AVX2: the kernels an AMD EPYC runs under the guard, and other summation
#           orders than an AVX-512 Intel machine's. A test that passes with one family and fails with the other
#           depends on the processor's rounding (docs/architecture.md, "Numerics on every processor").
# .ci/run sets "native avx2". The chaos test (Category=Chaos, deploy/local/chaos.sh) and the tests that kill and add
# silos (Category=Failover) compare a disturbed run with an undisturbed one on the same kernels, which another family
# changes in both alike, so they run in the first family's pass only; so do the operations tests (Category=Operations:
# metrics, traces, the run page) and the plumbing tests (Category=Plumbing: blob stores, silo processes and scripts,
# config files, the data path's files), whose outcome no kernel family changes.
set -uo pipefail
cd "$(dirname "$0")/.."

# The cluster tests start silos from artifacts/silo and the chaos test runs artifacts/bin/sslo: publish both (only
# when a source is newer) before the tests build.
deploy/local/chaos.sh publish || { echo "tests: 0 passed, 1 failed"; exit 1; }

# Every temporary file of the tests (run folders, Azurite's data, silo logs, packed shards…) goes into one folder of
# this run, removed when it ends: a run leaves nothing behind in /tmp, and runs cannot fill the disk between them.
run_tmp=$(mktemp -d "${TMPDIR:-/tmp}/sslo-test-run.XXXXXX") || { echo "tests: 0 passed, 1 failed"; exit 1; }
trap 'rm -rf "$run_tmp"' EXIT
export TMPDIR="$run_tmp"

kernel_env() {
  case "$1" in
    native) echo "" ;;
    avx2) echo "ONEDNN_MAX_CPU_ISA=AVX2 MKL_ENABLE_INSTRUCTIONS=AVX2 ATEN_CPU_CAPABILITY=avx2" ;;
    *) echo "build/test.sh: SSLO_TEST_KERNELS: unknown kernel family '$1' (native, avx2)" >&2; return 1 ;;
  esac
}

passed=0; failed=0; status=0; build=""; filter=()
for kernels in ${SSLO_TEST_KERNELS:-native}; do
  vars=$(kernel_env "$kernels") || { echo "tests: ${passed} passed, $((failed + 1)) failed"; exit 2; }
  echo "== tests with ${kernels} kernels${vars:+ ($vars)}"
  log=$(mktemp)
  # shellcheck disable=SC2086 # vars is a list of NAME=VALUE words for env
  env $vars dotnet test SslOrleans.sln -c Release --nologo $build "${filter[@]+"${filter[@]}"}" 2>&1 | tee "$log"
  run_status=${PIPESTATUS[0]}
  build="--no-build"   # later families test the same build
  filter=(--filter "Category!=Chaos&Category!=Failover&Category!=Operations&Category!=Plumbing")

  # dotnet test prints one summary per test assembly: "Passed!  - Failed: 0, Passed: 89, Skipped: 0, Total: 89, …"
  p=$(grep -E '^(Passed|Failed)! +- ' "$log" | sed -E 's/.*Passed: *([0-9]+).*/\1/' | awk '{s+=$1} END {print s+0}')
  f=$(grep -E '^(Passed|Failed)! +- ' "$log" | sed -E 's/.*Failed: *([0-9]+), Passed.*/\1/' | awk '{s+=$1} END {print s+0}')
  assemblies=$(grep -cE '^(Passed|Failed)! +- ' "$log")
  rm -f "$log"
  if [ "$run_status" -ne 0 ] && [ "$f" -eq 0 ]; then
    f=1   # the build or a test host failed before any test could report
  fi
  if [ "$assemblies" -eq 0 ] && [ "$run_status" -eq 0 ]; then
    echo "no test assembly reported results" >&2
    run_status=1; f=1
  fi
  echo "== ${kernels} kernels: ${p} passed, ${f} failed"
  passed=$((passed + p)); failed=$((failed + f))
  [ "$run_status" -ne 0 ] && status=$run_status
done
echo "tests: ${passed} passed, ${failed} failed"
exit $status
