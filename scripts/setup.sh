#!/usr/bin/env bash
# Installs what gradc needs (Debian 12 packages only, and only those missing),
# then configures and builds it in ./build (or $GRADC_BUILD_DIR).
#
#   scripts/setup.sh            # build dependencies only
#   scripts/setup.sh --tests    # also what the test suite needs (lit tools, PyTorch)
set -euo pipefail
cd "$(dirname "$0")/.."

want_tests=0
[ "${1:-}" = "--tests" ] && want_tests=1

pkgs=(cmake ninja-build g++ llvm-19-dev libzstd-dev zlib1g-dev libprotobuf-dev
      protobuf-compiler libgtest-dev libbenchmark-dev)
if [ "$want_tests" = 1 ]; then
  # libopenblas0-pthread: numpy and torch then use OpenBLAS (as PyTorch users
  # have it) instead of the reference BLAS; bench/compare.py measures against it.
  pkgs+=(llvm-19-tools python3 python3-numpy python3-torch libopenblas0-pthread)
fi

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  sudo_cmd=""
  [ "$(id -u)" = 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

build="${GRADC_BUILD_DIR:-build}"
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE="${GRADC_BUILD_TYPE:-Release}" ${GRADC_CMAKE_ARGS:-} >/dev/null
cmake --build "$build" -j"$(nproc)"
