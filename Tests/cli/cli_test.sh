#!/usr/bin/env bash
# The swifttrain command line (tools/swifttrain.c -> st_cli_main), run as a user runs it:
#   cli_test.sh SWIFTTRAIN_PROGRAM SOURCE_DIR CASE [NPZ_WRITER]
# Cases: train (the digits MLP config reaches its accuracy; the progress bar's plain lines), recover (a run continued from its
# last checkpoint ends with the same weights and metrics logs as one never interrupted), interrupt (Ctrl-C saves
# the step, exits 130, and --recover goes on from it), describe, errors (bad configs and usage
# give the sysexits code and name the key path), npz_examples (digits_npz and sequence_classifier on the
# .npz files NPZ_WRITER, the C test program example_configs, writes: `NPZ_WRITER --write-npz DIR`).
set -uo pipefail
program="$1"; root="$2"; case="$3"; npz_writer="${4:-}"
work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT
cd "$root"
fail() { echo "FAIL: $*" >&2; exit 1; }
expect_exit() {  # expect_exit CODE NEEDLE -- ARGS...: runs, checks the exit code and stderr
    local code="$1" needle="$2"; shift 3
    "$program" "$@" >"$work/out" 2>"$work/err"; local got=$?
    [ "$got" = "$code" ] || fail "swifttrain $* exited $got, expected $code: $(cat "$work/err")"
    grep -qF -- "$needle" "$work/err" || fail "swifttrain $*: stderr lacks '$needle': $(cat "$work/err")"
}
number() { sed -n "s/.*\"$1\": \([0-9.e-]*\).*/\1/p" "$2" | head -1; }

case "$case" in
train)
    "$program" train examples/configs/digits_mlp.json -s "$work/run" >"$work/out" 2>"$work/err" || fail "train: $(cat "$work/err")"
    # the progress bar on stderr, not a terminal: plain lines (a tenth of the 900 steps each,
    # an evaluation per epoch, a final line), no carriage return
    grep -q $'\r' "$work/err" && fail "carriage returns in a file: $(head -3 "$work/err")"
    [ "$(grep -c '^train .*/900 \[.*it/s, loss=' "$work/err")" = 10 ] || fail "not 10 training lines: $(cat "$work/err")"
    [ "$(grep -c '^eval 100% 45/45 \[' "$work/err")" = 20 ] || fail "not 20 evaluation lines: $(cat "$work/err")"
    tail -1 "$work/err" | grep -q '^train 100% 900/900 \[' || fail "no final line: $(tail -1 "$work/err")"
    grep -q '^step 900: eval_loss=' "$work/out" || fail "the logs are on stdout: $(tail -3 "$work/out")"
    for f in config.json metrics.json model.safetensors checkpoint-900; do [ -e "$work/run/$f" ] || fail "no $f"; done
    accuracy="$(number best_validation_accuracy "$work/run/metrics.json")"
    awk -v a="$accuracy" 'BEGIN { exit !(a >= 0.93) }' || fail "best validation accuracy $accuracy < 0.93"
    grep -q '"learning_rate": 0.003' "$work/run/config.json" || fail "config.json lacks the resolved arguments"
    # the directory is not reused without --recover
    expect_exit 73 "already exists" -- train examples/configs/digits_mlp.json -s "$work/run"
    # evaluate and predict with the saved model: the last validation's accuracy, and predictions
    # that score the same against the labels
    "$program" evaluate "$work/run" data/digits/test.csv --output-file "$work/eval.json" >/dev/null || fail "evaluate"
    evaluated="$(number eval_accuracy "$work/eval.json")"
    last="$(number validation_accuracy "$work/run/metrics.json")"
    [ "$evaluated" = "$last" ] || fail "evaluate gives accuracy $evaluated, the run's last validation $last"
    "$program" predict "$work/run" data/digits/test.csv -o "$work/pred.csv" >/dev/null || fail "predict"
    rows="$(($(wc -l < "$work/pred.csv") - 1))"
    [ "$rows" = "$(wc -l < data/digits/test.csv)" ] || fail "predict wrote $rows rows"
    scored="$(paste -d, <(tail -n +2 "$work/pred.csv" | awk -F, '{print $NF}') <(awk -F, '{print $NF}' data/digits/test.csv) \
              | awk -F, '{ n++; if ($1 == $2) ok++ } END { printf "%.6f", ok / n }')"
    awk -v a="$scored" -v b="$evaluated" 'BEGIN { exit !(a - b < 1e-6 && b - a < 1e-6) }' \
        || fail "predictions score $scored, evaluate said $evaluated"
    expect_exit 66 "not a finished run" -- evaluate "$work/none" data/digits/test.csv
    "$program" train examples/configs/digits_cnn.json -s "$work/cnn" >"$work/out" || fail "cnn: $(cat "$work/out")"
    accuracy="$(number validation_accuracy "$work/cnn/metrics.json")"
    awk -v a="$accuracy" 'BEGIN { exit !(a >= 0.9) }' || fail "CNN validation accuracy $accuracy < 0.9"
    # a regression from a CSV: the digit's value as a float target (mse loss, r2 reported)
    "$program" train examples/configs/digits_regression.json -s "$work/reg" -o '{"trainer": {"disable_tqdm": true}}' \
        >"$work/out" 2>"$work/err" || fail "regression: $(cat "$work/err")"
    [ -s "$work/err" ] && fail "disable_tqdm: true still shows progress: $(head -3 "$work/err")"
    r2="$(number validation_r2 "$work/reg/metrics.json")"
    awk -v a="$r2" 'BEGIN { exit !(a >= 0.6) }' || fail "regression validation r2 $r2 < 0.6"
    "$program" predict "$work/reg" data/digits/test.csv -o "$work/reg.csv" >/dev/null || fail "regression predict"
    [ "$(head -1 "$work/reg.csv")" = "output_0" ] || fail "a regression's predictions are its outputs: $(head -1 "$work/reg.csv")"
    ;;
recover)
    # with metrics loggers (JSON lines and CSV), whose files the recovered run continues
    loggers='{"callbacks": [{"type": "metrics_logger"}, {"type": "metrics_logger", "path": "logs/m.csv"}]}'
    "$program" train examples/configs/digits_mlp.json -s "$work/whole" -o "$loggers" >/dev/null || fail "whole run"
    "$program" train examples/configs/digits_mlp.json -s "$work/cut" -o "$loggers" >/dev/null || fail "second run"
    # as if the run had been stopped after its checkpoint of step 495 (epoch 11) was written
    # (its logs have the rows up to step 900 then, which the recovered run logs again)
    rm -rf "$work/cut/checkpoint-900" "$work/cut/model.safetensors" "$work/cut/metrics.json"
    "$program" train examples/configs/digits_mlp.json -s "$work/cut" -o "$loggers" --recover >"$work/out" \
        || fail "recover: $(cat "$work/out")"
    cmp -s "$work/whole/model.safetensors" "$work/cut/model.safetensors" || fail "the recovered run's weights differ"
    # the logs of the recovered run are those of the whole one (no row lost, none twice), timings aside
    untimed() { sed -E 's/"[a-z_]*(runtime|per_second)": [^,}]*(, )?//g' "$1"; }
    [ "$(grep -c '"step": 495, "loss"' "$work/cut/metrics.jsonl")" = 1 ] || fail "the recovered log: $(cat "$work/cut/metrics.jsonl")"
    diff <(untimed "$work/whole/metrics.jsonl") <(untimed "$work/cut/metrics.jsonl") >"$work/diff" \
        || fail "the recovered run's metrics.jsonl differs from the whole run's: $(head -20 "$work/diff")"
    diff <(cut -d, -f1-11 "$work/whole/logs/m.csv") <(cut -d, -f1-11 "$work/cut/logs/m.csv") >"$work/diff" \
        || fail "the recovered run's m.csv differs from the whole run's: $(head -20 "$work/diff")"
    expect_exit 66 "does not exist" -- train examples/configs/digits_mlp.json -s "$work/none" --recover
    ;;
npz_examples)
    # the examples read their .npz from the working directory
    mkdir -p "$work/npz" && "$npz_writer" --write-npz "$work/npz" || fail "cannot write the .npz files"
    (cd "$work/npz" && "$program" train "$root/examples/configs/digits_npz.json" -s digits >"$work/out" 2>&1) \
        || fail "digits_npz: $(cat "$work/out")"
    accuracy="$(number best_validation_accuracy "$work/npz/digits/metrics.json")"
    awk -v a="$accuracy" 'BEGIN { exit !(a >= 0.93) }' || fail "digits_npz validation accuracy $accuracy < 0.93"
    (cd "$work/npz" && "$program" train "$root/examples/configs/sequence_classifier.json" -s sequences >"$work/out" 2>&1) \
        || fail "sequence_classifier: $(cat "$work/out")"
    accuracy="$(number best_validation_accuracy "$work/npz/sequences/metrics.json")"
    awk -v a="$accuracy" 'BEGIN { exit !(a >= 0.95) }' || fail "sequence_classifier validation accuracy $accuracy < 0.95"
    ;;
describe)
    "$program" describe examples/configs/digits_mlp.json >"$work/out" || fail "describe"
    grep -q "parameters: 4810" "$work/out" || fail "describe: no parameter count: $(cat "$work/out")"
    grep -q '"adam_beta1": 0.9' "$work/out" || fail "describe: no resolved defaults"
    grep -q "Linear" "$work/out" || fail "describe: no model summary"
    "$program" --help >/dev/null || fail "--help"
    ;;
errors)
    expect_exit 64 "unknown command" -- fly
    expect_exit 64 "needs -s DIR" -- train examples/configs/digits_mlp.json
    expect_exit 66 "cannot read the config" -- describe "$work/missing.json"
    expect_exit 65 "model.layers[2].out_features: expected an integer" -- describe examples/configs/digits_mlp.json \
        -o '{"model": {"layers": [{"type": "linear", "in_features": 64, "out_features": 64}, {"type": "relu"}, {"type": "linear", "in_features": 64, "out_features": "ten"}]}}'
    expect_exit 65 'model.layers[1].type: unknown layer type "relux"' -- describe examples/configs/digits_mlp.json \
        -o '{"model": {"layers": [{"type": "linear", "in_features": 64, "out_features": 10}, {"type": "relux"}]}}'
    expect_exit 65 "trainer.learning_rat: unknown training argument" -- describe examples/configs/digits_mlp.json \
        -o '{"trainer": {"learning_rat": 0.1}}'
    expect_exit 65 "train_data.shuffle: unknown key; accepted here: type, path" -- describe examples/configs/digits_mlp.json \
        -o '{"train_data": {"shuffle": true}}'
    expect_exit 65 "extra: unknown key" -- describe examples/configs/digits_mlp.json -o '{"extra": 1}'
    expect_exit 65 'optimizer.betas[1]: expected a number' -- describe examples/configs/digits_mlp.json \
        -o '{"optimizer": {"type": "adamw", "betas": [0.9, "x"]}}'
    expect_exit 65 'optimizer.lr: sets learning_rate, which trainer.learning_rate sets too' -- \
        describe examples/configs/digits_mlp.json -o '{"optimizer": {"type": "adamw", "lr": 0.01}}'
    expect_exit 65 'callbacks[0].type: unknown callback type "tqdm"; known: early_stopping' -- \
        describe examples/configs/digits_mlp.json -o '{"callbacks": [{"type": "tqdm"}]}'
    ;;
interrupt)
    # Ctrl-C: the step is saved, the exit code is 130, and --recover continues from that step
    long='{"trainer": {"num_train_epochs": 3000}}'
    # (a background job of a non-interactive shell ignores SIGINT, which the program keeps:
    # run it with SIGINT at its default, under a timeout, and interrupt it once it trains;
    # --foreground: timeout passes the signal to the program once, not also to its group)
    wait_for_step() { for _ in $(seq 200); do grep -q '^step ' "$1" 2>/dev/null && return 0; sleep 0.1; done; fail "no step in $1"; }
    (trap - INT; exec timeout --foreground 120 "$program" train examples/configs/digits_mlp.json -s "$work/run" -o "$long") >"$work/out" 2>&1 &
    pid=$!
    wait_for_step "$work/out"
    kill -INT "$pid"
    wait "$pid"; code=$?
    [ "$code" = 130 ] || fail "Ctrl-C: exit $code, expected 130: $(tail -3 "$work/out")"
    first="$(sed -n 's/^interrupted at step \([0-9]*\);.*--recover$/\1/p' "$work/out")"
    [ -n "$first" ] && [ -d "$work/run/checkpoint-$first" ] || fail "no checkpoint of the interrupted step: $(tail -3 "$work/out")"
    (trap - INT; exec timeout --foreground 120 "$program" train examples/configs/digits_mlp.json -s "$work/run" -o "$long" --recover) \
        >"$work/out2" 2>&1 &
    pid=$!
    sleep 0.5  # (the resumed run logs its first epoch again past the restored step)
    wait_for_step "$work/out2"
    kill -INT "$pid"
    wait "$pid"; code=$?
    [ "$code" = 130 ] || fail "Ctrl-C after --recover: exit $code: $(tail -3 "$work/out2")"
    second="$(sed -n 's/^interrupted at step \([0-9]*\);.*$/\1/p' "$work/out2")"
    [ -n "$second" ] && [ "$second" -gt "$first" ] || fail "--recover did not continue from step $first (stopped at '$second')"
    ;;
*) fail "unknown case $case" ;;
esac
echo "ok: $case"
