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
