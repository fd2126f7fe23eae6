#!/usr/bin/env bash
# Sets up (apt, only what is missing), builds, and runs the whole test suite
# with one ctest: unit, numeric, lit/FileCheck, and end-to-end tests.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
scripts/setup.sh --tests
build="${GRADC_BUILD_DIR:-build}"
status=0
ctest --test-dir "$build" --output-on-failure -j"$(nproc)" "$@" || status=$?
echo "test.sh: setup, build and tests took $(( $(date +%s) - start )) s"
exit $status
