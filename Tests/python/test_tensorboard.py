"""report_to="tensorboard": event files written by the library, read back with the
tensorboard package's own reader (a test-only dependency, as HF's safetensors reader is)."""

from pathlib import Path

import pytest

import swifttrain as st
from swifttrain import nn

event_accumulator = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")


def _tag(name):  # HF's rewrite_logs
    for prefix in ("eval_", "test_"):
        if name.startswith(prefix):
            return prefix[:-1] + "/" + name[len(prefix):]
    return "train/" + name


def test_every_logged_value_reaches_tensorboard(digits, quiet_args, silent, tmp_path):
    args = quiet_args(max_steps=30, logging_steps=10, eval_strategy="steps", eval_steps=15,
                      per_device_train_batch_size=32, save_strategy="no", report_to="tensorboard",
                      logging_dir=str(tmp_path / "tb"))
    st.manual_seed(0)
    trainer = silent(st.Trainer(nn.Sequential(nn.Linear(64, 10)), args, train_dataset=digits.train,
                                eval_dataset=digits.test))
    trainer.train()
    files = list((tmp_path / "tb").iterdir())
    assert len(files) == 1 and files[0].name.startswith("events.out.tfevents.")
    reader = event_accumulator.EventAccumulator(str(tmp_path / "tb"))
    reader.Reload()
    expected = {}
    for entry in trainer.state.log_history:
        for name, value in entry.items():
            if name != "step":
                expected.setdefault(_tag(name), []).append((entry["step"], value))
    assert set(reader.Tags()["scalars"]) == set(expected)
    for tag, points in expected.items():
        got = [(e.step, e.value) for e in reader.Scalars(tag)]
        assert [s for s, _ in got] == [s for s, _ in points], tag
        assert [v for _, v in got] == pytest.approx([v for _, v in points], rel=1e-6), tag
    assert {"train/loss", "train/learning_rate", "eval/loss", "eval/accuracy"} <= set(expected)


def test_the_default_logging_dir_is_hf_s(digits, quiet_args, silent, tmp_path):
    args = quiet_args(max_steps=2, output_dir=str(tmp_path), save_strategy="no",
                      report_to=["tensorboard"], logging_steps=1)
    trainer = silent(st.Trainer(nn.Sequential(nn.Linear(64, 10)), args, train_dataset=digits.train))
    trainer.train()
    runs = list((tmp_path / "runs").iterdir())
    assert len(runs) == 1 and list(runs[0].iterdir())[0].name.startswith("events.out.tfevents.")


def test_report_to_names_are_checked_by_the_library():
    with pytest.raises(ValueError, match="report_to.*tensorboard"):
        st.TrainingArguments(report_to="wandb")
    assert st.TrainingArguments(report_to=["tensorboard"]).to_core().as_dict()["report_to"] == "tensorboard"
