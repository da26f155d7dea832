#!/usr/bin/env bash
# The built wheel as a user gets it (docs/packaging.md): installed into a fresh virtual
# environment, it trains on the digits with the Swift toolchain hidden; with the system's
# OpenBLAS hidden as well, `import swifttrain` fails with what to install, and works again with
# the scipy-openblas32 wheel installed beside it. (scripts/build_wheel.sh has checked the tag,
# the stripping and the debug links.)
# Usage: scripts/check_wheel.sh WHEEL [PYTHON to make the environment with]
set -euo pipefail
WHEEL="$(realpath "$1")"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BASE_PY="${2:-$ROOT/.venv/bin/python}"
ENV_DIR="$(mktemp -d /tmp/swifttrain-wheel-XXXXXX)"
trap 'rm -rf "$ENV_DIR"' EXIT

echo "check_wheel: installing $(basename "$WHEEL") into a fresh environment"
"$BASE_PY" -m venv "$ENV_DIR"
PY="$ENV_DIR/bin/python"
"$PY" -m pip install -q "$WHEEL"

"$ROOT/scripts/check_without_toolchain.sh" "$PY"

if ! unshare --mount true 2>/dev/null; then
    echo "check_wheel: SKIPPED the run without OpenBLAS: 'unshare --mount' is not allowed here"
    exit 0
fi
# Every system OpenBLAS the library would load, resolved to its file, hidden behind /dev/null.
mapfile -t system_blas < <(ldconfig -p | awk '/libopenblasp?\.so(\.0)? / {print $NF}' \
                           | xargs -r readlink -f | sort -u)
check_import() {  # check_import EXPECT: "fails" or "works"
    unshare --mount bash -s "$PY" "$1" "${system_blas[@]}" <<'EOF'
set -e
py="$1" expect="$2"
shift 2
for file in "$@"; do mount --bind /dev/null "$file"; done
cd /tmp
"$py" - "$expect" <<'PYEOF'
import sys
expect = sys.argv[1]
try:
    import swifttrain as st
except ImportError as error:
    message = str(error)
    assert expect == "fails", f"import failed with the wheel's OpenBLAS installed: {message}"
    for hint in ("apt-get install libopenblas0-pthread", "dnf install openblas-threads",
                 "apk add openblas", "pacman -S openblas", "conda install",
                 "pip install scipy-openblas32"):
        assert hint in message, f"the message does not say '{hint}': {message}"
    print("without OpenBLAS: import swifttrain raised ImportError naming what to install")
else:
    assert expect == "works", "import swifttrain worked with every OpenBLAS hidden"
    loss = st.nn.Linear(4, 2)(st.ones(3, 4)).sum()
    loss.backward()
    assert "libscipy_openblas.so" in open("/proc/self/maps").read(), "not the wheel's OpenBLAS"
    print(f"with scipy-openblas32 beside it: {st._C.blas_config().split()[1]}, a matmul ran")
PYEOF
EOF
}
check_import fails
"$PY" -m pip install -q scipy-openblas32
check_import works
