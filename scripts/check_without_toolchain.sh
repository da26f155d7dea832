#!/usr/bin/env bash
# Proves that the installed Python package works without a Swift toolchain: in a private
# mount namespace, an empty tmpfs hides the toolchain's install directory (and PATH leaves it
# out), and a short training run on the digits must still work there.
# Usage: scripts/check_without_toolchain.sh PYTHON
set -euo pipefail
PY="$1"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
swift_bin="$(readlink -f "$(command -v swift)")"
toolchain="$(dirname "$(dirname "$(dirname "$swift_bin")")")"   # /opt/swift for /opt/swift/usr/bin/swift
if ! unshare --mount true 2>/dev/null; then
    echo "check_without_toolchain: SKIPPED: this machine does not allow 'unshare --mount' (needs root)"
    exit 0
fi
# PATH without the toolchain's directories, as on a machine that never had one.
PATH="$(tr ':' '\n' <<<"$PATH" | grep -v "^$toolchain" | paste -sd:)" unshare --mount bash -c '
    set -e
    mount -t tmpfs none "$1"
    [ -z "$(ls -A "$1")" ] || { echo "toolchain directory $1 is not hidden" >&2; exit 1; }
    cd /tmp
    "$2" - "$3" <<PYEOF
import sys, numpy as np, swifttrain as st
from swifttrain import nn
rows = np.loadtxt(sys.argv[1] + "/data/digits/train.csv", delimiter=",", dtype=np.float32)
x, y = rows[:, :64] / 16, rows[:, 64].astype(np.int64)
st.manual_seed(0)
model = nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))
args = st.TrainingArguments(output_dir="/tmp/st-no-toolchain", max_steps=20, learning_rate=5e-3,
                            per_device_train_batch_size=32, disable_tqdm=True, logging_steps=100)
out = st.Trainer(model=model, args=args, train_dataset=(x, y)).train()
assert out.global_step == 20, out
import shutil
assert shutil.which("swift") is None, "swift is still on PATH"
maps = open("/proc/self/maps").read()
assert "libswiftCore" not in maps, "a Swift runtime library was loaded"
print("without a Swift toolchain: trained", out.global_step, "steps, training loss", round(out.training_loss, 4))
PYEOF
' _ "$toolchain" "$PY" "$ROOT"
