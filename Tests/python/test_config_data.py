"""Config data from NumPy's .npy / .npz files (docs/configs.md), written here with NumPy, and
the example config examples/configs/digits_npz.json trained from them; the optimizer and
callbacks objects through Trainer.from_config."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
PROGRAM = Path(sys.executable).parent / "swifttrain"
EXAMPLE = ROOT / "examples" / "configs" / "digits_npz.json"


def digits(name):
    rows = np.loadtxt(ROOT / "data" / "digits" / f"{name}.csv", delimiter=",")
    return rows[:, :-1].reshape(-1, 1, 8, 8), rows[:, -1].astype(np.int64)  # pixels 0-16, labels


def make_digits_npz(path, save=np.savez):
    """What digits_npz.json reads: x_train [1438, 1, 8, 8] float64, y_train int64, x_test, y_test."""
    (x_train, y_train), (x_test, y_test) = digits("train"), digits("test")
    save(path, x_train=x_train, y_train=y_train, x_test=x_test.astype(np.float32), y_test=y_test.astype(np.int32))


def train(config, cwd, *more):
    return subprocess.run([str(PROGRAM), "train", str(config), "-s", "run", *more], cwd=cwd,
                          capture_output=True, text=True, timeout=300)


def test_the_npz_example_trains_from_the_command_line(tmp_path):
    make_digits_npz(tmp_path / "digits.npz")
    out = train(EXAMPLE, tmp_path)
    assert out.returncode == 0, out.stderr
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["best_validation_accuracy"] >= 0.93


def test_the_npz_example_trains_from_python(tmp_path, silent):
    import swifttrain as st
    make_digits_npz(tmp_path / "digits.npz")  # (the test runs in tmp_path: paths start there)
    trainer = silent(st.Trainer.from_config(EXAMPLE, overrides={"trainer": {"output_dir": str(tmp_path / "out")}}))
    trainer.train()
    assert trainer.evaluate()["eval_accuracy"] >= 0.93


def test_a_compressed_npz_is_refused_with_what_to_do(tmp_path):
    make_digits_npz(tmp_path / "digits.npz", save=np.savez_compressed)
    out = train(EXAMPLE, tmp_path)
    assert out.returncode == 65
    assert "train_data.path: 'digits.npz': the array 'x_train' is compressed (np.savez_compressed)" in out.stderr
    assert "save with np.savez" in out.stderr


def test_npy_files_and_their_errors(tmp_path, silent):
    import swifttrain as st
    x, y = digits("train")
    np.save(tmp_path / "x.npy", (x / 16).astype(np.float32).reshape(len(x), 64))
    np.save(tmp_path / "y.npy", y.astype(np.int32))
    np.save(tmp_path / "y_float.npy", y.astype(np.float64))
    np.save(tmp_path / "x_fortran.npy", np.asfortranarray(x.reshape(len(x), 64)))
    config = {"model": {"type": "linear", "in_features": 64, "out_features": 10},
              "train_data": {"type": "npy", "features": "x.npy", "labels": "y.npy"},
              "trainer": {"max_steps": 300, "learning_rate": 0.01, "save_strategy": "no",
                          "output_dir": str(tmp_path / "out")}}
    trainer = silent(st.Trainer.from_config(config))
    trainer.train()
    assert trainer.evaluate(trainer.train_dataset)["eval_accuracy"] > 0.9
    with pytest.raises(ValueError, match=r"train_data\.labels: 'y_float\.npy' is float64; classification needs integer"):
        st.Trainer.from_config(config, overrides={"train_data": {"labels": "y_float.npy"}})
    with pytest.raises(ValueError, match=r"train_data\.features: 'x_fortran\.npy' is in Fortran order"):
        st.Trainer.from_config(config, overrides={"train_data": {"features": "x_fortran.npy"}})
    with pytest.raises(ValueError, match=r"train_data\.features: .*missing\.npy"):
        st.Trainer.from_config(config, overrides={"train_data": {"features": "missing.npy"}})
    # float targets for a regression
    np.save(tmp_path / "value.npy", y.astype(np.float32)[:, None])
    regression = silent(st.Trainer.from_config(config, overrides={
        "model": {"out_features": 1}, "loss": "mse",
        "train_data": {"labels": "value.npy", "task": "regression"}}))
    regression.train()
    assert regression.evaluate(regression.train_dataset)["eval_r2"] > 0.3


def test_optimizer_and_callbacks_objects_through_from_config(tmp_path, silent):
    import swifttrain as st
    make_digits_npz(tmp_path / "digits.npz")
    trainer = silent(st.Trainer.from_config(EXAMPLE, overrides={
        "optimizer": {"type": "sgd", "lr": 0.05, "momentum": 0.9, "nesterov": True},
        "learning_rate_scheduler": {"type": "cosine", "warmup_steps": 10},
        "callbacks": [{"type": "early_stopping", "early_stopping_patience": 3}],
        "trainer": {"learning_rate": None}}))
    args = trainer.args
    assert (args.optim, args.learning_rate, args.optim_args) == ("sgd", 0.05, "nesterov=true")
    assert (args.lr_scheduler_type, args.warmup_steps, args.early_stopping_patience) == ("cosine", 10, 3)
    # a callback that registers on a trainer is added to the Python one (test_config_registry.py)
    st.Trainer.from_config(EXAMPLE, overrides={"callbacks": [{"type": "metrics_logger"}],
                                               "trainer": {"output_dir": str(tmp_path / "logged")}})


SEQUENCES = ROOT / "examples" / "configs" / "sequence_classifier.json"


def make_sequences_npz(path):
    """What sequence_classifier.json reads: 12 tokens of 10 (int64), labelled with how many
    are token 7 (0, 1, 2, or 3 and more): 2000 training and 500 test sequences."""
    rng = np.random.default_rng(0)

    def sequences(n):
        x = rng.integers(0, 10, size=(n, 12))
        return x, np.minimum((x == 7).sum(axis=1), 3)

    (x_train, y_train), (x_test, y_test) = sequences(2000), sequences(500)
    np.savez(path, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)


def test_the_sequence_example_trains_from_the_command_line_and_python(tmp_path, silent):
    """Embedding -> TransformerEncoderLayer -> Flatten -> Linear, the optimizer, schedule and
    early stopping as config objects: at least 95% validation accuracy (a majority guess is 37%)."""
    import swifttrain as st
    make_sequences_npz(tmp_path / "sequences.npz")
    out = train(SEQUENCES, tmp_path)
    assert out.returncode == 0, out.stderr
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["best_validation_accuracy"] >= 0.95
    described = subprocess.run([str(PROGRAM), "describe", str(SEQUENCES)], cwd=tmp_path, capture_output=True,
                               text=True, timeout=300)
    assert "TransformerEncoderLayer" in described.stdout and "Embedding(10, 16)" in described.stdout
    trainer = silent(st.Trainer.from_config(SEQUENCES, overrides={"trainer": {"output_dir": str(tmp_path / "py")}}))
    trainer.train()
    assert trainer.evaluate()["eval_accuracy"] >= 0.95
