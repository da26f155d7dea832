#!/usr/bin/env bash
# Runs the whole test suite: Swift (swift test), C and CMake (ctest: header checks, the C
# digits trainer, bad-input cases, the shared-library checks, the find_package consumer),
# and Python (pytest against the pip-installed package). Installs what is missing first.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/scripts/bootstrap.sh"
cd "$ROOT"
JOBS="$(nproc)"

echo "== Swift tests"
swift test --parallel --num-workers "$JOBS"
# The default OpenBLAS core-type choice, whatever this machine's environment says.
env -u OPENBLAS_CORETYPE swift test --filter BLASTests

echo "== C and CMake tests"
cmake -S "$ROOT" -B "$ROOT/build/cmake" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$ROOT/build/cmake" -j "$JOBS"
ctest --test-dir "$ROOT/build/cmake" --output-on-failure -j "$JOBS"

echo "== Python tests"
"$VENV/bin/pip" install -q --no-build-isolation "$ROOT"
# Run from outside the source tree so the installed package, not the sources, is tested.
(cd "$ROOT/build" && "$VENV/bin/python" -m pytest -q "$ROOT/Tests/python")

echo "== Python package without a Swift toolchain"
"$ROOT/scripts/check_without_toolchain.sh" "$VENV/bin/python"
