"""Issue 16's done-when test: HF's example-script shape (examples/python/hf_port), ported by
changing the imports and the model, runs on the shipped digits and behaves as HF's would: a
custom callback, compute_metrics, early stopping, load_best_model_at_end, save_total_limit,
resume, log_metrics / save_metrics / save_state and a compute_loss override."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

import swifttrain as st
SCRIPT = Path(__file__).resolve().parents[2] / "examples" / "python" / "hf_port" / "run_digits_classification.py"
STEPS_PER_EPOCH = 45  # ceil(1438 / 32)


@pytest.fixture
def script():
    spec = importlib.util.spec_from_file_location("run_digits_classification", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _checkpoints(directory):
    return sorted(int(p.name.split("-")[1]) for p in directory.glob("checkpoint-*"))


def _json(path):
    with open(path) as f:
        return json.load(f)


def test_an_hf_example_script_runs_with_changed_imports(script, tmp_path, capsys):
    out = tmp_path / "run"
    first = script.main(["--output_dir", str(out), "--num_train_epochs", "3"])

    # the compute_loss override trained the model (and evaluated it)
    assert script.WeightedLossTrainer.compute_loss_calls >= 3 * STEPS_PER_EPOCH
    # HF's files
    for name in ("model.safetensors", "train_results.json", "eval_results.json", "all_results.json",
                 "trainer_state.json", "eval_log.jsonl"):
        assert (out / name).is_file(), name
    train, evaluation, every = (_json(out / f"{name}_results.json") for name in ("train", "eval", "all"))
    assert {"train_loss", "train_runtime", "train_samples_per_second", "epoch"} <= set(train)
    assert {"eval_loss", "eval_accuracy", "eval_misread", "eval_runtime"} <= set(evaluation)  # compute_metrics's
    assert every == {**train, **evaluation}
    printed = capsys.readouterr().out
    assert "***** train metrics *****" in printed and "***** eval metrics *****" in printed
    assert list(st.safetensors.load_file(str(out / "model.safetensors"))) == list(first.model.state_dict())
    # the custom callback saw every evaluation: one per epoch, then the script's own
    evaluations = [json.loads(line) for line in (out / "eval_log.jsonl").read_text().splitlines()]
    assert [entry["step"] for entry in evaluations] == [45, 90, 135, 135]
    # load_best_model_at_end: the final evaluation is the best one's; save_total_limit=2 keeps it
    state = _json(out / "trainer_state.json")
    best = max(evaluations[:3], key=lambda entry: entry["eval_accuracy"])
    assert state["best_metric"] == pytest.approx(best["eval_accuracy"])
    assert state["best_model_checkpoint"].endswith(f"checkpoint-{best['step']}")
    assert evaluations[-1]["eval_accuracy"] == pytest.approx(best["eval_accuracy"])
    assert evaluations[-1]["eval_loss"] == pytest.approx(best["eval_loss"], rel=1e-6)
    assert len(_checkpoints(out)) == 2 and best["step"] in _checkpoints(out)
    assert evaluation["eval_accuracy"] > 0.8

    # resume: from the newest checkpoint, with early stopping (patience 1) ending the run
    second = script.main(["--output_dir", str(out), "--num_train_epochs", "30",
                          "--early_stopping_patience", "1", "--resume_from_checkpoint"])
    assert second.resumed_from_checkpoint.endswith("checkpoint-135")
    steps = second.state.global_step
    assert 135 < steps < 30 * STEPS_PER_EPOCH and steps % STEPS_PER_EPOCH == 0  # stopped early
    history = second.state.log_history
    assert history[0]["step"] == 20  # the first run's logs, restored from the checkpoint
    accuracies = [entry["eval_accuracy"] for entry in history if "eval_accuracy" in entry][:-1]
    assert accuracies[-1] <= max(accuracies[:-1])  # the last evaluation did not improve
    kept = _checkpoints(out)
    assert len(kept) == 2 and kept[-1] == steps
    assert second.state.best_model_checkpoint.endswith(f"checkpoint-{second.state.best_global_step}")
    assert second.state.best_global_step in kept
    final = _json(out / "eval_results.json")
    assert final["eval_accuracy"] == pytest.approx(second.state.best_metric)
    np.testing.assert_array_equal(
        np.array(second.model.state_dict()["classifier.weight"].detach()),
        st.safetensors.load_file(str(out / "model.safetensors"))["classifier.weight"])
