#!/usr/bin/env bash
# The main job: install what is missing, build and install the Python package, and train an
# MLP on the shipped digits data through the HF-style Python API (progress bar, evaluation
# each epoch, final held-out accuracy).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/scripts/bootstrap.sh"
cd "$ROOT"
echo "building and installing swifttrain into .venv ..."
"$VENV/bin/pip" install -q --no-build-isolation "$ROOT"
"$VENV/bin/python" "$ROOT/examples/train_digits.py" "$@"
