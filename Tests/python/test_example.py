"""examples/train_digits.py, the main demo, runs and reaches its accuracy."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "train_digits.py"


def test_train_digits_example(tmp_path):
    # Run from elsewhere: the example finds the data relative to its own location.
    result = subprocess.run([sys.executable, str(EXAMPLE)], cwd=tmp_path, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    match = re.search(r"held-out accuracy: (0\.\d{4})", result.stdout)
    assert match, result.stdout
    assert float(match.group(1)) >= 0.95
    assert "eval_accuracy" in result.stdout  # evaluated every epoch


def test_train_digits_example_resumes(tmp_path):
    """Two epochs, then --resume to 30: it continues from the last checkpoint."""
    first = subprocess.run([sys.executable, str(EXAMPLE), "--epochs", "2"], cwd=tmp_path,
                           capture_output=True, text=True, timeout=120)
    assert first.returncode == 1  # two epochs are not enough for 0.95
    assert sorted(p.name for p in (tmp_path / "runs" / "digits").iterdir()) == [
        "checkpoint-45", "checkpoint-90"]
    second = subprocess.run([sys.executable, str(EXAMPLE), "--resume"], cwd=tmp_path,
                            capture_output=True, text=True, timeout=120)
    assert second.returncode == 0, second.stdout + second.stderr
    assert re.search(r"resumed from .*checkpoint-90", second.stdout), second.stdout
    assert "trained 1350 steps" in second.stdout
    assert sorted(p.name for p in (tmp_path / "runs" / "digits").iterdir()) == [
        "checkpoint-1305", "checkpoint-1350"]


CHAR_LM = EXAMPLE.parent / "python" / "char_lm.py"


def test_char_lm_example_learns_the_text(tmp_path):
    """A model with a Python forward on token windows of a text file every Debian machine
    has: the held-out loss per character ends well below the unigram baseline."""
    result = subprocess.run([sys.executable, str(CHAR_LM), "--steps", "300",
                             "--output-dir", str(tmp_path / "lm")], cwd=tmp_path,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    match = re.search(r"held-out loss per character: (\d\.\d+) nats \(unigram baseline (\d\.\d+)",
                      result.stdout)
    assert match, result.stdout
    assert float(match.group(1)) < float(match.group(2)) - 0.5
    assert "greedy continuation: 'This License " in result.stdout
    assert sorted(p.name for p in (tmp_path / "lm").iterdir()) == ["checkpoint-200", "checkpoint-300"]


CALLBACKS = EXAMPLE.parent / "python" / "callbacks.py"


def test_callbacks_example(tmp_path):
    """examples/python/callbacks.py: mixup, gradient-norm logging and AllenNLP's epoch files
    train the digits to its accuracy."""
    result = subprocess.run([sys.executable, str(CALLBACKS), "--out", "out"], cwd=tmp_path,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    match = re.search(r"held-out accuracy: (0\.\d{4}); gradient norms logged (\d+) times", result.stdout)
    assert match and float(match.group(1)) >= 0.94 and int(match.group(2)) > 0, result.stdout
    files = sorted((tmp_path / "out" / "metrics").iterdir())
    assert len(files) == 30
    import json
    first = json.loads((tmp_path / "out" / "metrics" / "metrics_epoch_0.json").read_text())
    assert first["epoch"] == 0 and "training_loss" in first and "validation_accuracy" in first
    match = re.search(r"learning-rate finder: suggested rate ([0-9.e+-]+)", result.stdout)
    assert match and 1e-4 <= float(match.group(1)) <= 1e-1, result.stdout


def _load_callbacks():
    import importlib.util
    spec = importlib.util.spec_from_file_location("example_callbacks", CALLBACKS)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_example_label_smoothing_callback_equals_label_smoothing_factor(tmp_path, monkeypatch):
    import numpy as np
    import swifttrain as st
    from swifttrain import nn
    monkeypatch.chdir(tmp_path)
    callbacks = _load_callbacks()
    data = callbacks.load("train")

    def run(extra, **kwargs):
        st.manual_seed(0)
        model = nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))
        args = st.TrainingArguments(max_steps=15, save_strategy="no", disable_tqdm=True,
                                    logging_steps=1000, **kwargs)
        trainer = st.Trainer(model, args, train_dataset=data, callbacks=extra)
        trainer.train()
        return [np.array(p) for p in model.parameters()]

    by_callback = run([callbacks.LabelSmoothing(0.1)])
    by_argument = run([], label_smoothing_factor=0.1)
    for a, b in zip(by_callback, by_argument):
        np.testing.assert_allclose(a, b, atol=1e-5)
