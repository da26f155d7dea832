#!/usr/bin/env bash
# Data-parallel training over Open MPI (docs/distributed.md), run as a user runs it:
#   mpi_test.sh DATA_PARALLEL_PROGRAM CASE [SWIFTTRAIN_PROGRAM SOURCE_DIR]
# Cases: uneven (a process whose share of a batch is empty; accumulation, micro-batches and
# the general path), same_weights (2 processes with batch 16 each end with the weights of one process
# with batch 32, and both processes hold the same weights; only process 0 writes files),
# resume (a 2-process run stopped at step 8 and resumed ends as one never stopped),
# failure (a process whose callback fails ends the whole job within 30 s, naming the rank),
# mismatch (processes with different models refuse to start, saying what differs), cli (the
# command line under mpirun: one set of output files and lines, from process 0), overlap (a
# model above ddp_bucket_cap_mb sums each gradient during the backward pass: the same weights),
# hang (a process that stops responding ends the job after ddp_timeout, naming the rank).
set -uo pipefail
program="$1"; case="$2"; cli="${3:-}"; root="${4:-}"
work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
# CI runs as root: Open MPI refuses that without these; 2 processes on 2 cores need no more.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
# Containers often forbid the cross-memory attach that Open MPI's shared-memory transport uses
# for large messages; copying through the shared segment works everywhere.
export OMPI_MCA_btl_vader_single_copy_mechanism=none
command -v mpirun >/dev/null || fail "mpirun not found: install Open MPI (Debian: apt-get install openmpi-bin)"
mpi() { mpirun --oversubscribe -np 2 "$@"; }
# compare A B TOLERANCE: the weights of two result files agree to TOLERANCE (relative, with a
# floor of 1e-3 in magnitude); prints the largest difference.
compare() {
    python3 - "$1" "$2" "$3" <<'PY' || fail "weights differ: $1 vs $2"
import sys
a, b = (open(p).read().split("\n")[1:] for p in sys.argv[1:3])
a, b = [float(x) for x in a if x], [float(x) for x in b if x]
assert len(a) == len(b) and a, (len(a), len(b))
worst = max(abs(x - y) / max(abs(x), abs(y), 1e-3) for x, y in zip(a, b))
print(f"{sys.argv[1]} vs {sys.argv[2]}: {len(a)} weights, largest relative difference {worst:.3g}")
sys.exit(0 if worst <= float(sys.argv[3]) else 1)
PY
}

case "$case" in
same_weights)
    mkdir -p "$work/one" "$work/two"
    "$program" "$work/one" "$work/out-one" 32 12 >"$work/log" 2>&1 || fail "one process: $(cat "$work/log")"
    mpi "$program" "$work/two" "$work/out-two-%r" 16 12 >"$work/log" 2>&1 || fail "two processes: $(cat "$work/log")"
    head -1 "$work/two/weights-0.txt" | grep -q "world_size 2 process_index 0 global_step 12" \
        || fail "process 0: $(head -1 "$work/two/weights-0.txt")"
    head -1 "$work/two/weights-1.txt" | grep -q "world_size 2 process_index 1 global_step 12" \
        || fail "process 1: $(head -1 "$work/two/weights-1.txt")"
    cmp -s <(tail -n +2 "$work/two/weights-0.txt") <(tail -n +2 "$work/two/weights-1.txt") \
        || fail "the two processes hold different weights"
    compare "$work/two/weights-0.txt" "$work/one/weights-0.txt" 1e-4
    # the loss each process reports is the whole batch's, as the single process's
    compare <(head -1 "$work/two/weights-0.txt" | awk '{print "loss"; print $8}') \
            <(head -1 "$work/one/weights-0.txt" | awk '{print "loss"; print $8}') 1e-4
    # the evaluation, each process on half of the held-out set, the sums added up: the
    # metrics of one process evaluating the whole set (the same on both processes)
    compare <(head -1 "$work/two/weights-0.txt" | awk '{print "eval"; print $10; print $12}') \
            <(head -1 "$work/one/weights-0.txt" | awk '{print "eval"; print $10; print $12}') 1e-4
    cmp -s <(head -1 "$work/two/weights-0.txt" | cut -d' ' -f9-) <(head -1 "$work/two/weights-1.txt" | cut -d' ' -f9-) \
        || fail "the processes' metrics differ: $(head -1 "$work/two/weights-0.txt") / $(head -1 "$work/two/weights-1.txt")"
    ls "$work/out-two-0" | grep -q "checkpoint-12" || fail "process 0 wrote no checkpoint: $(ls -R "$work")"
    [ ! -e "$work/out-two-1" ] || fail "process 1 wrote files: $(ls -R "$work/out-two-1")"
    ;;
uneven)
    # batch 100 x 2 on 1438 samples: the 8th global batch of each epoch has 38 samples, all
    # process 0's (process 1's share is empty); 10 steps cross the epoch's end. Then gradient
    # accumulation with micro-batches, on the general path (a callback on AFTER_BACKWARD).
    mkdir -p "$work/one" "$work/two" "$work/acc-one" "$work/acc-two"
    "$program" "$work/one" "$work/o1" 200 10 >"$work/log" 2>&1 || fail "one process: $(cat "$work/log")"
    mpi "$program" "$work/two" "$work/o2" 100 10 >"$work/log" 2>&1 || fail "two processes: $(cat "$work/log")"
    compare "$work/two/weights-0.txt" "$work/one/weights-0.txt" 1e-4
    cmp -s <(tail -n +2 "$work/two/weights-0.txt") <(tail -n +2 "$work/two/weights-1.txt") || fail "processes differ"
    "$program" "$work/acc-one" "$work/o3" 32 10 accumulate 2 micro 8 general >"$work/log" 2>&1 || fail "one: $(cat "$work/log")"
    mpi "$program" "$work/acc-two" "$work/o4" 16 10 accumulate 2 micro 8 general >"$work/log" 2>&1 || fail "two: $(cat "$work/log")"
    compare "$work/acc-two/weights-0.txt" "$work/acc-one/weights-0.txt" 1e-4
    ;;
resume)
    mkdir -p "$work/whole" "$work/cut"
    mpi "$program" "$work/whole" "$work/out-whole" 16 12 >"$work/log" 2>&1 || fail "whole run: $(cat "$work/log")"
    mpi "$program" "$work/cut" "$work/out-cut" 16 12 stop-at 8 >"$work/log" 2>&1 || fail "first part: $(cat "$work/log")"
    head -1 "$work/cut/weights-0.txt" | grep -q "global_step 8" || fail "did not stop at 8: $(head -1 "$work/cut/weights-0.txt")"
    mpi "$program" "$work/cut" "$work/out-cut" 16 12 resume >"$work/log" 2>&1 || fail "resumed part: $(cat "$work/log")"
    compare "$work/cut/weights-0.txt" "$work/whole/weights-0.txt" 0
    compare "$work/cut/weights-1.txt" "$work/whole/weights-1.txt" 0
    ;;
failure)
    start=$(date +%s)
    timeout 120 mpirun --oversubscribe -np 2 "$program" "$work" "$work/out" 16 40 fail-rank 1 >"$work/log" 2>&1
    code=$?; elapsed=$(( $(date +%s) - start ))
    [ "$code" != 0 ] || fail "the job succeeded though process 1 failed: $(cat "$work/log")"
    [ "$code" != 124 ] || fail "the job hung (killed by timeout after 120 s): $(cat "$work/log")"
    [ "$elapsed" -le 30 ] || fail "the job took $elapsed s to stop (more than 30)"
    grep -q "rank 1 of 2" "$work/log" || fail "no error names the failing rank: $(cat "$work/log")"
    echo "the job stopped in $elapsed s (exit $code)"
    ;;
overlap)
    # ddp_bucket_cap_mb 0.001 (the model has 0.01 MB of gradients): each gradient is summed
    # on the communication thread as the planned backward pass makes it; with the uneven last
    # batch (an empty share) and with accumulation
    mkdir -p "$work/one" "$work/two" "$work/acc-one" "$work/acc-two"
    "$program" "$work/one" "$work/o1" 200 10 >"$work/log" 2>&1 || fail "one process: $(cat "$work/log")"
    mpi "$program" "$work/two" "$work/o2" 100 10 bucket-cap 0.001 >"$work/log" 2>&1 || fail "two processes: $(cat "$work/log")"
    compare "$work/two/weights-0.txt" "$work/one/weights-0.txt" 1e-4
    cmp -s <(tail -n +2 "$work/two/weights-0.txt") <(tail -n +2 "$work/two/weights-1.txt") || fail "processes differ"
    "$program" "$work/acc-one" "$work/o3" 32 10 accumulate 2 micro 8 >"$work/log" 2>&1 || fail "one: $(cat "$work/log")"
    mpi "$program" "$work/acc-two" "$work/o4" 16 10 accumulate 2 micro 8 bucket-cap 0.001 >"$work/log" 2>&1 \
        || fail "two: $(cat "$work/log")"
    compare "$work/acc-two/weights-0.txt" "$work/acc-one/weights-0.txt" 1e-4
    ;;
hang)
    start=$(date +%s)
    timeout 120 mpirun --oversubscribe -np 2 "$program" "$work" "$work/out" 16 40 hang-rank 1 timeout 3 >"$work/log" 2>&1
    code=$?; elapsed=$(( $(date +%s) - start ))
    [ "$code" != 0 ] || fail "the job succeeded though process 1 hung: $(cat "$work/log")"
    [ "$code" != 124 ] || fail "the job hung (killed by timeout after 120 s): $(cat "$work/log")"
    [ "$elapsed" -le 30 ] || fail "the job took $elapsed s to stop (more than 30)"
    grep -q "rank 0 of 2: .* made no progress for [0-9]* s (ddp_timeout)" "$work/log" \
        || fail "no error names the waiting rank and ddp_timeout: $(cat "$work/log")"
    ls "$work/out" | grep -q "checkpoint-" || fail "no checkpoint was left: $(ls -R "$work")"
    echo "the job stopped in $elapsed s (exit $code)"
    ;;
mismatch)
    timeout 120 mpirun --oversubscribe -np 1 "$program" "$work" "$work/out" 16 4 hidden 32 : \
        -np 1 "$program" "$work" "$work/out" 16 4 hidden 16 >"$work/log" 2>&1
    [ $? != 0 ] || fail "processes with different models trained: $(cat "$work/log")"
    grep -q "do not train the same run: the model's parameter count differs" "$work/log" \
        || fail "the error does not say what differs: $(cat "$work/log")"
    ;;
cli)
    cd "$root"
    mpi -x OPENBLAS_NUM_THREADS=1 "$cli" train examples/configs/digits_mlp.json -s "$work/run" \
        -o '{"trainer": {"per_device_train_batch_size": 16, "num_train_epochs": 4, "disable_tqdm": true}}' \
        >"$work/out" 2>"$work/err" || fail "swifttrain train under mpirun: $(cat "$work/err")"
    [ "$(grep -c '^trained 180 steps' "$work/out")" = 1 ] || fail "expected one summary of 180 steps: $(cat "$work/out")"
    [ "$(grep -c '^step 45: loss=' "$work/out")" = 1 ] || fail "expected each log line once: $(cat "$work/out")"
    for f in config.json metrics.json model.safetensors checkpoint-180; do
        [ -e "$work/run/$f" ] || fail "no $f in the serialization directory: $(ls "$work/run")"
    done
    ;;
*) fail "unknown case $case" ;;
esac
echo "PASS $case"
