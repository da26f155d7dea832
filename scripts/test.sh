#!/usr/bin/env bash
# Runs the whole test suite: Swift (swift test), C and CMake (ctest: header checks, the C
# digits trainer, bad-input cases, the shared-library checks, the find_package consumer, a
# valgrind run), the C tests again under AddressSanitizer + UBSan with the fuzz targets
# (build/asan), Python (pytest against the built wheel, installed) and the wheel in a fresh
# environment. Installs what is missing first.
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

echo "== C tests under AddressSanitizer and UBSan, and the fuzz targets (Tests/fuzz/README.md)"
# The toolchain's clang: its sanitizer runtimes are the ones swiftc instruments the library for.
TOOLCHAIN_BIN="$(dirname "$(readlink -f "$(command -v swift)")")"
cmake -S "$ROOT" -B "$ROOT/build/asan" -DCMAKE_BUILD_TYPE=Debug -DSWIFTTRAIN_SANITIZE=ON \
    -DCMAKE_C_COMPILER="$TOOLCHAIN_BIN/clang" -DCMAKE_CXX_COMPILER="$TOOLCHAIN_BIN/clang++" \
    -DSWIFTTRAIN_INSTALL=OFF -DSWIFTTRAIN_BUILD_EXAMPLES=OFF >/dev/null
cmake --build "$ROOT/build/asan" -j "$JOBS"
LSAN_OPTIONS="suppressions=$ROOT/Tests/c/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}" \
    ctest --test-dir "$ROOT/build/asan" --output-on-failure -j "$JOBS" -L '^(c|fuzz)$'

echo "== Python tests"
# The wheel to publish (manylinux, stripped, checked: docs/packaging.md), installed and tested.
"$ROOT/scripts/build_wheel.sh" "$ROOT/build/dist"
wheel=("$ROOT"/build/dist/swifttrain-*manylinux*.whl)
"$VENV/bin/python" -m pip install -q --force-reinstall --no-deps "${wheel[0]}"
# Run from outside the source tree so the installed package, not the sources, is tested.
(cd "$ROOT/build" && "$VENV/bin/python" -m pytest -q "$ROOT/Tests/python")

echo "== The wheel in a fresh environment, without a Swift toolchain or OpenBLAS"
"$ROOT/scripts/check_wheel.sh" "${wheel[0]}" "$VENV/bin/python"
