"""Every example config of examples/configs/ trains from Python (Trainer.from_config) to the
metric docs/configs.md states for it, as from the command line (Tests/cli/cli_test.sh) and
from C (Tests/c/example_configs.c)."""

import importlib.util
from pathlib import Path

import pytest

# the .npz writers of test_config_data.py (pytest's importlib mode puts no test directory on sys.path)
_spec = importlib.util.spec_from_file_location("_config_data", Path(__file__).with_name("test_config_data.py"))
_config_data = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_config_data)
make_digits_npz, make_sequences_npz = _config_data.make_digits_npz, _config_data.make_sequences_npz

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = ROOT / "examples" / "configs"

# (config, the .npz it reads from the working directory, metric, at least)
EXAMPLES = [
    ("digits_mlp", None, "eval_accuracy", 0.93),
    ("digits_cnn", None, "eval_accuracy", 0.90),
    ("digits_regression", None, "eval_r2", 0.6),
    ("digits_npz", make_digits_npz, "eval_accuracy", 0.93),
    ("sequence_classifier", make_sequences_npz, "eval_accuracy", 0.95),
]


def test_every_example_is_listed():
    assert sorted(p.stem for p in CONFIGS.glob("*.json")) == sorted(e[0] for e in EXAMPLES)


@pytest.mark.parametrize("name, make, metric, threshold", EXAMPLES, ids=[e[0] for e in EXAMPLES])
def test_the_example_trains_from_python_to_its_metric(name, make, metric, threshold, tmp_path, monkeypatch,
                                                      silent):
    import swifttrain as st
    if make is None:
        monkeypatch.chdir(ROOT)  # the CSV examples read data/digits/ from the working directory
    else:
        monkeypatch.chdir(tmp_path)
        make(tmp_path / f"{'digits' if name == 'digits_npz' else 'sequences'}.npz")
    trainer = silent(st.Trainer.from_config(CONFIGS / f"{name}.json",
                                            overrides={"trainer": {"output_dir": str(tmp_path / "out")}}))
    trainer.train()
    assert trainer.evaluate()[metric] >= threshold
