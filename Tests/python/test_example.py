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
