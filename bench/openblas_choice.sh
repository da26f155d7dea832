#!/usr/bin/env bash
# W1-W3 of swifttrain-bench with the system's OpenBLAS and with the scipy-openblas32 wheel's,
# in one run, interleaved (system, wheel, system, wheel, ...), and the median steps per second
# of each with their ratio. The library loads the wheel's copy through SWIFTTRAIN_OPENBLAS.
# Usage: bench/openblas_choice.sh [RUNS] [PYTHON with scipy-openblas32 installed]
# (after `swift build -c release --product swifttrain-bench`).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
RUNS="${1:-3}"
PY="${2:-$ROOT/.venv/bin/python}"
BENCH="$ROOT/.build/release/swifttrain-bench"
WHEEL="$("$PY" -c 'import os, scipy_openblas32 as s
print(os.path.join(s.get_lib_dir(), s.get_library(fullname=True)))')"
echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) CPUs;" \
     "threads: ${SWIFTTRAIN_NUM_THREADS:-default}; load before: $(cut -d' ' -f1-3 /proc/loadavg)"
declare -A results
for workload in W1 W2 W3; do
    for run in $(seq "$RUNS"); do
        for library in system wheel; do
            if [ "$library" = wheel ]; then export SWIFTTRAIN_OPENBLAS="$WHEEL"; else unset SWIFTTRAIN_OPENBLAS; fi
            line="$("$BENCH" "$workload" | grep '^RESULT')"
            rate="$(sed -E 's/.*steps_per_s=([0-9.]+).*/\1/' <<<"$line")"
            core="$(sed -E 's/.*blas_core=([A-Za-z0-9]+).*/\1/' <<<"$line")"
            results[$workload.$library]+="$rate "
            echo "$workload $library run $run: $rate steps/s ($core kernels)"
        done
    done
done
unset SWIFTTRAIN_OPENBLAS
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '| workload | system OpenBLAS steps/s | scipy-openblas32 steps/s | wheel / system |\n|---|---|---|---|\n'
for workload in W1 W2 W3; do
    python3 - "$workload" ${results[$workload.system]} -- ${results[$workload.wheel]} <<'PYEOF'
import statistics, sys
w, rest = sys.argv[1], sys.argv[2:]
cut = rest.index("--")
system, wheel = [float(x) for x in rest[:cut]], [float(x) for x in rest[cut + 1:]]
ms, mw = statistics.median(system), statistics.median(wheel)
print(f"| {w} | {ms:.4g} (runs {', '.join(f'{x:.4g}' for x in system)}) "
      f"| {mw:.4g} (runs {', '.join(f'{x:.4g}' for x in wheel)}) | {mw / ms:.3f} |")
PYEOF
done
