#!/usr/bin/env bash
# Sets up, builds, and JIT-trains the bundled MNIST MLP (examples/mlp_mnist.pbtxt)
# on the bundled 8,000/2,000 digit split. Extra arguments go to `gradc train`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec "${GRADC_BUILD_DIR:-build}"/tools/gradc train examples/mlp_mnist.pbtxt --data mnist "$@"
