#!/usr/bin/env bash
# Installs what building and testing swifttrain needs, when it is missing:
#   - Debian packages: libopenblas-dev, cmake, pkg-config, openmpi-bin, valgrind (with sudo
#     when not root); the sanitizer and fuzzing build uses the Swift toolchain's own clang;
#   - a Python virtual environment in .venv with numpy, pytest and scikit-build-core.
# The Swift toolchain itself must already be installed (swift.org/install).
# Sourced by scripts/train_digits.sh and scripts/test.sh; safe to run repeatedly.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"

if ! command -v swift >/dev/null 2>&1; then
    echo "bootstrap: the Swift toolchain (6.x) is not on PATH; install it from swift.org and retry" >&2
    exit 1
fi

missing=()
dpkg -s libopenblas-dev >/dev/null 2>&1 || missing+=(libopenblas-dev)
command -v cmake >/dev/null 2>&1 || missing+=(cmake)
command -v pkg-config >/dev/null 2>&1 || missing+=(pkg-config)
# Open MPI: data-parallel training loads it at run time; the tests run mpirun.
command -v mpirun >/dev/null 2>&1 || missing+=(openmpi-bin)
python3 -c "import venv, ensurepip" >/dev/null 2>&1 || missing+=(python3-venv)
# valgrind: the C tests' memcheck run (c.valgrind.checkpoints, Tests/fuzz/README.md).
command -v valgrind >/dev/null 2>&1 || missing+=(valgrind)
if [ ${#missing[@]} -gt 0 ]; then
    echo "bootstrap: installing ${missing[*]}"
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if [ ! -x "$VENV/bin/python" ]; then
    echo "bootstrap: creating $VENV"
    python3 -m venv "$VENV"
fi
# safetensors (HF's reader) and tensorboard (its event reader), test-only dependencies, check
# that our files are readable by them.
if ! "$VENV/bin/python" -c "import numpy, pytest, scikit_build_core, safetensors, tensorboard" >/dev/null 2>&1; then
    echo "bootstrap: installing numpy, pytest, scikit-build-core, safetensors, tensorboard into $VENV"
    "$VENV/bin/pip" install -q --upgrade pip
    "$VENV/bin/pip" install -q numpy pytest "scikit-build-core>=0.10" safetensors tensorboard
fi
