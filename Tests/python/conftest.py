"""Shared fixtures of the Python tests.

The tests exercise the installed package (``pip install .``), never the source tree:
pyproject.toml runs pytest with ``--import-mode=importlib``, and the check below stops the
run if ``swifttrain`` was imported from ``bindings/python``.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

import swifttrain as st
from swifttrain import nn

REPO = Path(__file__).resolve().parents[2]
DIGITS = REPO / "data" / "digits"


def pytest_configure(config):
    package = Path(st.__file__).resolve().parent
    if (REPO / "bindings") in package.parents:
        pytest.exit(f"swifttrain was imported from the source tree ({package}); install it "
                    f"with `pip install {REPO}` and run pytest from another directory",
                    returncode=2)


def _load_digits(name: str):
    """64 pixels (0..16) scaled to [0, 1] as float32, and the int64 labels."""
    table = np.loadtxt(DIGITS / f"{name}.csv", delimiter=",", dtype=np.int64)
    return (table[:, :64] / 16).astype(np.float32), np.ascontiguousarray(table[:, 64])


@pytest.fixture(scope="session")
def digits():
    """``digits.train`` and ``digits.test``: ``(X, y)`` tuples from data/digits."""
    return SimpleNamespace(train=_load_digits("train"), test=_load_digits("test"))


@pytest.fixture
def mlp():
    """A fresh ``Linear(64, 64) - ReLU - Linear(64, 10)`` seeded with 42."""
    st.manual_seed(42)
    return nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10))


@pytest.fixture
def builtin_bar(monkeypatch):
    """ProgressCallback's built-in bar, as without tqdm (which the tests' environment may have)."""
    from swifttrain import _progress_bar
    monkeypatch.setattr(_progress_bar, "_tqdm", None)


@pytest.fixture
def quiet_args():
    """``TrainingArguments`` with no progress output by default."""
    def make(**kwargs):
        kwargs.setdefault("disable_tqdm", True)
        kwargs.setdefault("logging_steps", 10_000)
        return st.TrainingArguments(**kwargs)
    return make


@pytest.fixture
def silent():
    """Removes the default printing callback from a trainer and returns the trainer."""
    def strip(trainer):
        trainer.pop_callback(st.PrinterCallback)
        trainer.pop_callback(st.ProgressCallback)
        return trainer
    return strip


@pytest.fixture(autouse=True)
def _in_a_temporary_directory(tmp_path, monkeypatch):
    """Every test runs in its own directory: training writes checkpoints to
    ./trainer_output by default (HF's output_dir and save_strategy)."""
    monkeypatch.chdir(tmp_path)
