"""Checkpoints from Python: exact resume, files the Python ecosystem reads (safetensors,
trainer_state.json in HF's layout), stateful callbacks, rotation, saves requested by a
callback, damaged checkpoints, and swifttrain.safetensors against the safetensors package."""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path
from typing import Any, Dict, List, Optional, Union

import numpy as np
import pytest
import safetensors.numpy

import swifttrain as st
from swifttrain import nn
from swifttrain.safetensors import load, load_file, save, save_file

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "safetensors"


class Interrupt(Exception):
    pass


class StopAt(st.TrainerCallback):
    """Raises at on_step_begin of the given global step (an interrupted process)."""

    def __init__(self, step):
        self.step = step

    def on_step_begin(self, args, state, control, **kwargs):
        if state.global_step == self.step:
            raise Interrupt()


def make_model(seed):
    st.manual_seed(seed)
    return nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Dropout(0.2), nn.Linear(32, 10))


def make_args(output_dir, **overrides):
    values = dict(output_dir=str(output_dir), num_train_epochs=3, per_device_train_batch_size=16,
                  gradient_accumulation_steps=2, learning_rate=3e-3, logging_steps=1,
                  save_steps=4, eval_strategy="steps", eval_steps=5, disable_tqdm=True)
    values.update(overrides)
    return st.TrainingArguments(**values)


def make_trainer(args, digits, seed=7, callbacks=None):
    X, y = digits.train
    Xt, yt = digits.test
    trainer = st.Trainer(make_model(seed), args, train_dataset=(X[:300], y[:300]),
                         eval_dataset=(Xt[:100], yt[:100]), callbacks=callbacks)
    trainer.pop_callback(st.PrinterCallback)
    return trainer


def history(trainer):
    return [{k: v for k, v in entry.items() if "runtime" not in k and not k.endswith("per_second")}
            for entry in trainer.state.log_history]


def weights(trainer):
    return {name: value.detach().numpy().copy() for name, value in trainer.model.state_dict().items()}


def assert_same_run(resumed, uninterrupted):
    a, b = history(resumed), history(uninterrupted)
    assert len(a) == len(b)
    for i, (x, y) in enumerate(zip(a, b)):
        assert x.keys() == y.keys(), f"entry {i}"
        for key in x:  # bit for bit (NaN equal to NaN)
            assert np.float64(x[key]).tobytes() == np.float64(y[key]).tobytes(), f"entry {i} {key}"
    wa, wb = weights(resumed), weights(uninterrupted)
    assert wa.keys() == wb.keys()
    for name in wa:
        assert wa[name].tobytes() == wb[name].tobytes(), name


@pytest.mark.parametrize("stop_at, overrides", [
    (14, {}),                                                     # mid-epoch (saved at 12)
    (9, {"gradient_accumulation_steps": 3}),                      # 7 updates/epoch: saved at 8
    (17, {"ema_decay": 0.9, "lr_scheduler_type": "reduce_lr_on_plateau",
          "lr_scheduler_kwargs": {"patience": 0, "factor": 0.5}, "eval_steps": 2}),
    (13, {"load_best_model_at_end": True, "early_stopping_patience": 3,
          "lr_scheduler_type": "cosine", "warmup_steps": 5, "num_train_epochs": 5}),
], ids=["mid-epoch", "accumulation-window", "ema-plateau", "best-model-early-stopping"])
def test_resume_is_bitwise_exact(digits, tmp_path, stop_at, overrides):
    uninterrupted = make_trainer(make_args(tmp_path / "reference", **overrides), digits)
    uninterrupted.train()

    args = make_args(tmp_path / "run", **overrides)
    first = make_trainer(args, digits, callbacks=[StopAt(stop_at)])
    with pytest.raises(Interrupt):
        first.train()
    st.manual_seed(999)
    resumed = make_trainer(args, digits, seed=1234)
    out = resumed.train(resume_from_checkpoint=True)
    assert out.global_step == uninterrupted.state.global_step
    assert_same_run(resumed, uninterrupted)
    assert resumed.state.best_metric == uninterrupted.state.best_metric


def test_resume_from_a_named_checkpoint_and_paths(digits, tmp_path):
    args = make_args(tmp_path, num_train_epochs=1)
    make_trainer(args, digits).train()
    resumed = make_trainer(make_args(tmp_path, num_train_epochs=2), digits)
    seen = []

    class AtStart(st.TrainerCallback):
        def on_train_begin(self, args, state, control, **kwargs):
            seen.append(state.global_step)

    resumed.add_callback(AtStart)
    resumed.train(resume_from_checkpoint=tmp_path / "checkpoint-8")  # an os.PathLike
    assert seen == [8]
    assert resumed.state.global_step == 20


def test_model_safetensors_is_read_by_the_safetensors_package(digits, tmp_path):
    trainer = make_trainer(make_args(tmp_path, num_train_epochs=1), digits)
    trainer.train()
    theirs = safetensors.numpy.load_file(str(tmp_path / "checkpoint-10" / "model.safetensors"))
    ours = weights(trainer)
    assert set(theirs) == set(ours) == {"0.weight", "0.bias", "3.weight", "3.bias"}
    for name, value in ours.items():
        assert theirs[name].dtype == np.float32 and theirs[name].shape == value.shape
        np.testing.assert_array_equal(theirs[name], value)
    with safetensors.safe_open(str(tmp_path / "checkpoint-10" / "model.safetensors"), "np") as f:
        assert f.metadata() == {"format": "pt"}

    # the optimizer state too: PyTorch's state names, one buffer per parameter and kind
    optimizer = safetensors.numpy.load_file(str(tmp_path / "checkpoint-10" / "optimizer.safetensors"))
    groups = json.loads((tmp_path / "checkpoint-10" / "optimizer.json").read_text())
    assert groups["type"] == "AdamW" and all(entry["step"] == 10 for entry in groups["state"].values())
    order = [i for group in groups["param_groups"] for i in group["params"]]
    assert sorted(order) == [0, 1, 2, 3]
    assert set(optimizer) == {f"state.{i}.{kind}" for i in order for kind in ("exp_avg", "exp_avg_sq")}
    assert optimizer["state.0.exp_avg"].shape in {v.shape for v in ours.values()}

    trainer.save_model(tmp_path / "exported")
    exported = safetensors.numpy.load_file(str(tmp_path / "exported" / "model.safetensors"))
    for name, value in ours.items():
        np.testing.assert_array_equal(exported[name], value)
    fresh = make_model(5)
    fresh.load_state_dict(load_file(tmp_path / "exported" / "model.safetensors"))
    for name, value in fresh.state_dict().items():
        np.testing.assert_array_equal(value.detach().numpy(), ours[name])


# HF's TrainerState dataclass fields (transformers/trainer_callback.py), which
# TrainerState.load_from_json passes as keyword arguments: extra keys would break it.
@dataclasses.dataclass
class HFTrainerState:
    epoch: Optional[float] = None
    global_step: int = 0
    max_steps: int = 0
    logging_steps: int = 500
    eval_steps: int = 500
    save_steps: int = 500
    train_batch_size: Optional[int] = None
    num_train_epochs: int = 0
    num_input_tokens_seen: int = 0
    total_flos: float = 0
    log_history: List[Dict[str, float]] = None
    best_metric: Optional[float] = None
    best_global_step: Optional[int] = None
    best_model_checkpoint: Optional[str] = None
    is_local_process_zero: bool = True
    is_world_process_zero: bool = True
    is_hyper_param_search: bool = False
    trial_name: Optional[str] = None
    trial_params: Dict[str, Union[str, float, int, bool]] = None
    stateful_callbacks: List[Any] = None


def python_state_text(state):
    """What TrainerState.save_to_json wrote when Python had its own writer: HF's fields,
    json.dumps(indent=2, sort_keys=True) and a newline."""
    data = {f.name: getattr(state, f.name, None) for f in dataclasses.fields(HFTrainerState)}
    data["log_history"] = state.log_history
    return json.dumps(data, indent=2, sort_keys=True) + "\n"


def test_save_to_json_is_the_librarys_text(digits, tmp_path):
    """A trainer's state: save_to_json writes what the library's st_trainer_state_json writes,
    byte for byte the text Python's own writer gave."""
    trainer = make_trainer(make_args(tmp_path, num_train_epochs=1, metric_for_best_model="accuracy",
                                     save_steps=5), digits)
    trainer.state.save_to_json(tmp_path / "before.json")
    assert (tmp_path / "before.json").read_text() == trainer._core.state_json()
    trainer.train()
    assert trainer.state.best_model_checkpoint is not None
    trainer.state.save_to_json(tmp_path / "state.json")
    text = (tmp_path / "state.json").read_text()
    assert text == trainer._core.state_json() == python_state_text(trainer.state)
    # a field only Python's state holds is written too, as before
    trainer.state.trial_name = "trial-é"
    trainer.state.save_to_json(tmp_path / "trial.json")
    assert (tmp_path / "trial.json").read_text() == python_state_text(trainer.state)
    assert json.loads((tmp_path / "trial.json").read_text())["trial_name"] == "trial-é"


def test_save_to_json_of_a_state_made_in_python(tmp_path):
    """A standalone state goes through the library's writer too
    (st_trainer_state_json_format), with the text Python's json module gave."""
    state = st.TrainerState(epoch=1.5, global_step=12, max_steps=40, train_batch_size=None)
    state.total_flos = 9.5e15  # a whole number Swift alone would write as 9.5e+15
    state.best_metric = float("nan")
    state.trial_params = {"lr": 1e-05, "name": 'a "quoted"\n\u00e9\U0001f600', "n": [1, 2.5, None, True]}
    state.stateful_callbacks = {"Z": {"args": {}, "attributes": {"b": 1, "a": -0.0}},
                                "A": {"args": {"x": float("inf")}}}
    state.save_to_json(tmp_path / "state.json")
    text = (tmp_path / "state.json").read_text()
    assert text == python_state_text(state)
    loaded = st.TrainerState.load_from_json(tmp_path / "state.json")
    loaded._read_log_history = lambda: [{"loss": float("nan"), "step": 3}, {"eval_loss": 0.25, "step": 4}]
    loaded.save_to_json(tmp_path / "again.json")
    assert (tmp_path / "again.json").read_text() == python_state_text(loaded)
    with pytest.raises(TypeError):  # not JSON: refused as Python's writer did
        state.trial_params = {"f": object()}
        state.save_to_json(tmp_path / "bad.json")
    assert st._swifttrain.format_trainer_state_json("{}") == python_state_text(
        HFTrainerState(epoch=0.0, logging_steps=0, eval_steps=0, save_steps=0, train_batch_size=0,
                       total_flos=0.0, log_history=[], stateful_callbacks={}))
    with pytest.raises(ValueError, match="loss"):
        st._swifttrain.format_trainer_state_json('{"loss": 1.0}')


def test_trainer_state_json_has_hfs_layout(digits, tmp_path):
    trainer = make_trainer(make_args(tmp_path, num_train_epochs=1, early_stopping_patience=5,
                                     metric_for_best_model="accuracy", save_steps=5), digits)
    trainer.train()
    text = (tmp_path / "checkpoint-10" / "trainer_state.json").read_text()
    data = json.loads(text)
    assert set(data) == {f.name for f in dataclasses.fields(HFTrainerState)}
    state = HFTrainerState(**data)  # what HF's TrainerState.load_from_json does
    assert state.global_step == 10 and state.max_steps == 10 and state.save_steps == 5
    assert state.logging_steps == 1 and state.eval_steps == 5 and state.train_batch_size == 16
    assert math.isclose(state.epoch, 1.0)
    assert state.best_global_step in (5, 10)
    assert state.best_model_checkpoint == str(tmp_path / f"checkpoint-{state.best_global_step}")
    assert trainer.state.best_model_checkpoint == state.best_model_checkpoint
    assert [e["step"] for e in state.log_history if "loss" in e] == list(range(1, 11))
    assert {"eval_loss", "eval_accuracy", "epoch", "step"} <= set(state.log_history[5])
    assert state.stateful_callbacks["EarlyStoppingCallback"]["attributes"] == {
        "early_stopping_patience_counter": 0 if state.best_global_step == 10 else 1}
    assert set(state.stateful_callbacks["TrainerControl"]["args"]) == {
        "should_training_stop", "should_epoch_stop", "should_save", "should_evaluate", "should_log"}
    assert text == json.dumps(data, indent=2, sort_keys=True) + "\n"  # HF's save_to_json text
    loaded = st.TrainerState.load_from_json(tmp_path / "checkpoint-10" / "trainer_state.json")
    assert loaded.global_step == 10 and loaded.log_history == data["log_history"]
    assert loaded.best_model_checkpoint == state.best_model_checkpoint
    loaded.save_to_json(tmp_path / "again.json")
    assert (tmp_path / "again.json").read_text() == text
    with pytest.raises(ValueError, match="save_safetensors"):
        st.TrainingArguments(save_safetensors=False)
    args = json.loads((tmp_path / "checkpoint-10" / "training_args.json").read_text())
    assert args["output_dir"] == str(tmp_path) and args["save_steps"] == 5
    assert args["learning_rate"] == 3e-3 and args["metric_for_best_model"] == "accuracy"
    manifest = json.loads((tmp_path / "checkpoint-10" / "manifest.json").read_text())
    assert manifest["format"] == "swifttrain-checkpoint" and manifest["format_version"] == 1
    files = {p.name for p in (tmp_path / "checkpoint-10").iterdir()} - {"manifest.json"}
    assert set(manifest["files"]) == files
    import hashlib
    for name, info in manifest["files"].items():
        content = (tmp_path / "checkpoint-10" / name).read_bytes()
        assert info == {"bytes": len(content), "sha256": hashlib.sha256(content).hexdigest()}


class HFStyleCounter(st.TrainerCallback):
    """Keeps its state as HF's ExportableState does."""

    def __init__(self):
        self.steps = 0
        self.at_train_begin = None

    def on_train_begin(self, args, state, control, **kwargs):
        self.at_train_begin = self.steps

    def on_step_end(self, args, state, control, **kwargs):
        self.steps += 1

    def state(self):
        return {"args": {}, "attributes": {"steps": self.steps}}


class PyMarlinStyleMemo(st.TrainerCallback):
    """Keeps its state as PyMarlin's get_state / update_state."""

    def __init__(self):
        self.losses = []
        self.restored = None

    def on_log(self, args, state, control, logs=None, **kwargs):
        if logs and "loss" in logs:
            self.losses.append(logs["loss"])

    def get_state(self):
        return {"losses": self.losses}

    def update_state(self, state):
        self.losses = list(state["losses"])
        self.restored = len(self.losses)


class ComposerStyleTally(st.TrainerCallback):
    """Keeps its state as Composer's state_dict / load_state_dict."""

    def __init__(self):
        self.batches = 0
        self.loaded_at_load = None

    def on_after_load(self, args, state, control, **kwargs):
        self.loaded_at_load = self.batches  # restored before Composer's AFTER_LOAD

    def on_before_train_batch(self, args, state, control, **kwargs):
        self.batches += 1

    def state_dict(self):
        return {"batches": self.batches}

    def load_state_dict(self, state):
        self.batches = state["batches"]


def test_stateful_callbacks_come_back_before_train_begin(digits, tmp_path):
    args = make_args(tmp_path)
    counter, memo, tally = HFStyleCounter(), PyMarlinStyleMemo(), ComposerStyleTally()
    first = make_trainer(args, digits, callbacks=[counter, memo, tally, StopAt(10)])
    with pytest.raises(Interrupt):
        first.train()
    counter2, memo2, tally2 = HFStyleCounter(), PyMarlinStyleMemo(), ComposerStyleTally()
    resumed = make_trainer(args, digits, callbacks=[counter2, memo2, tally2])
    resumed.train(resume_from_checkpoint=True)
    assert counter2.at_train_begin == 8  # saved at step 8
    assert counter2.steps == 30
    assert memo2.restored == 8 and len(memo2.losses) == 30
    assert memo2.losses[:8] == memo.losses[:8]
    assert tally2.loaded_at_load == 8 and tally2.batches == 30


def test_state_that_is_not_json_fails_the_save_with_a_clear_error(digits, tmp_path):
    class Bad(st.TrainerCallback):
        def state(self):
            return {"args": {}, "attributes": {"x": object()}}

    trainer = make_trainer(make_args(tmp_path), digits, callbacks=[Bad()])
    with pytest.raises(TypeError, match="JSON-serialisable"):
        trainer.train()
    assert not (tmp_path / "checkpoint-4").exists()


def test_a_callback_can_request_a_save(digits, tmp_path):
    saves = []

    class SaveAtThree(st.TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            if state.global_step == 3:
                control.should_save = True
            return control

        def on_save(self, args, state, control, **kwargs):
            saves.append(state.global_step)

    trainer = make_trainer(make_args(tmp_path, save_strategy="no", num_train_epochs=1), digits,
                           callbacks=[SaveAtThree()])
    trainer.train()
    assert saves == [3]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint-3"]


def test_rotation_keeps_the_best_and_save_strategy_best(digits, tmp_path):
    trainer = make_trainer(make_args(tmp_path / "limit", save_total_limit=1, save_steps=5,
                                     metric_for_best_model="loss", num_train_epochs=4), digits)
    trainer.train()
    left = sorted(p.name for p in (tmp_path / "limit").iterdir())
    best = Path(trainer.state.best_model_checkpoint).name
    assert best in left and "checkpoint-40" in left
    assert len(left) == (1 if best == "checkpoint-40" else 2)

    saves = []

    class Saves(st.TrainerCallback):
        def on_save(self, args, state, control, **kwargs):
            saves.append((state.global_step, state.best_global_step))

    best_only = make_trainer(make_args(tmp_path / "best", save_strategy="best", eval_steps=3),
                             digits, callbacks=[Saves()])
    best_only.train()
    assert saves and all(step == best_step for step, best_step in saves)
    assert sorted(int(p.name.split("-")[1]) for p in (tmp_path / "best").iterdir()) == \
        [step for step, _ in saves]


def test_damaged_checkpoints_are_refused_or_passed_over_with_a_warning(digits, tmp_path):
    make_trainer(make_args(tmp_path, num_train_epochs=1), digits).train()  # 4, 8, 10
    weights_file = tmp_path / "checkpoint-10" / "model.safetensors"
    data = bytearray(weights_file.read_bytes())
    data[-1] ^= 0xFF
    weights_file.write_bytes(bytes(data))
    resumed = make_trainer(make_args(tmp_path, num_train_epochs=2), digits)
    with pytest.raises(st.CorruptFileError, match="model.safetensors.*SHA-256"):
        resumed.train(resume_from_checkpoint=tmp_path / "checkpoint-10")
    with pytest.raises(ValueError):  # CorruptFileError is a ValueError
        resumed.train(resume_from_checkpoint=str(tmp_path / "checkpoint-10"))
    with pytest.warns(RuntimeWarning, match="checkpoint-8.*passed over.*checkpoint-10"):
        resumed.train(resume_from_checkpoint=True)
    assert resumed.state.global_step == 20
    with pytest.raises(ValueError, match="no valid checkpoint"):  # as HF
        make_trainer(make_args(tmp_path / "empty"), digits).train(resume_from_checkpoint=True)
    with pytest.raises(st.CheckpointNotFoundError, match="does not exist") as raised:
        make_trainer(make_args(tmp_path), digits).train(resume_from_checkpoint=tmp_path / "nope")
    assert isinstance(raised.value, st.NotFoundError) and isinstance(raised.value, ValueError)

    class Raises(st.TrainerCallback):  # a callback's own NotFoundError comes out as it was
        def on_train_begin(self, args, state, control, **kwargs):
            raise st.NotFoundError("mine")

    with pytest.raises(st.NotFoundError) as raised:
        make_trainer(make_args(tmp_path), digits, callbacks=[Raises()]).train(resume_from_checkpoint=True)
    assert not isinstance(raised.value, st.CheckpointNotFoundError)


def test_save_only_model_checkpoints_cannot_resume(digits, tmp_path):
    make_trainer(make_args(tmp_path, num_train_epochs=1, save_only_model=True), digits).train()
    assert sorted(p.name for p in (tmp_path / "checkpoint-10").iterdir()) == [
        "manifest.json", "model.safetensors", "swifttrain_args.json", "trainer_state.json", "training_args.json"]
    with pytest.raises(st.InvalidArgumentError, match="save_only_model"):
        make_trainer(make_args(tmp_path), digits).train(resume_from_checkpoint=True)


# ---- swifttrain.safetensors --------------------------------------------------------------

ARRAYS = {
    "f32": np.arange(12, dtype=np.float32).reshape(3, 4),
    "f64": np.array([1.5, -2.25]),
    "f16": np.array([[0.5, 1.0]], dtype=np.float16),
    "i64": np.array([-(2 ** 40), 7], dtype=np.int64),
    "i32": np.array(5, dtype=np.int32),
    "u8": np.array([0, 255], dtype=np.uint8),
    "bool": np.array([True, False, True]),
    "empty": np.zeros((0, 3), dtype=np.float32),
}


def test_our_files_are_read_by_the_safetensors_package(tmp_path):
    save_file(ARRAYS, tmp_path / "ours.safetensors", metadata={"format": "np", "note": "ü"})
    theirs = safetensors.numpy.load_file(str(tmp_path / "ours.safetensors"))
    assert theirs.keys() == ARRAYS.keys()
    for name, value in ARRAYS.items():
        assert theirs[name].dtype == value.dtype and theirs[name].shape == value.shape
        np.testing.assert_array_equal(theirs[name], value)
    with safetensors.safe_open(str(tmp_path / "ours.safetensors"), "np") as f:
        assert f.metadata() == {"format": "np", "note": "ü"}
    assert safetensors.numpy.load(save(ARRAYS)).keys() == ARRAYS.keys()


def test_we_read_the_safetensors_packages_files(tmp_path):
    safetensors.numpy.save_file(ARRAYS, str(tmp_path / "theirs.safetensors"), metadata={"k": "v"})
    ours = load_file(tmp_path / "theirs.safetensors")
    assert ours.keys() == ARRAYS.keys()
    for name, value in ARRAYS.items():
        assert ours[name].dtype == value.dtype and ours[name].shape == value.shape
        np.testing.assert_array_equal(ours[name], value)
    assert st.safetensors.metadata_of(tmp_path / "theirs.safetensors") == {"k": "v"}
    back = load(safetensors.numpy.save(ARRAYS))
    np.testing.assert_array_equal(back["i64"], ARRAYS["i64"])
    ours["f32"][0, 0] = 99  # arrays are writable copies
    # non-contiguous and big-endian arrays are stored as their values
    odd = {"t": np.arange(6, dtype=np.float32).reshape(2, 3).T, "be": np.array([1, 2], dtype=">i4")}
    again = load(save(odd))
    np.testing.assert_array_equal(again["t"], odd["t"])
    np.testing.assert_array_equal(again["be"], odd["be"])


def test_state_dicts_and_tensors_save_directly(tmp_path):
    st.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3))
    save_file(model.state_dict(), tmp_path / "m.safetensors")
    assert set(load_file(tmp_path / "m.safetensors")) == set(model.state_dict())
    other = nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3))
    other.load_state_dict(load_file(tmp_path / "m.safetensors"))
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(other.state_dict()[name].detach().numpy(), value.detach().numpy())


def test_pytorch_written_weights_load_and_compute_the_same_function():
    """Tests/fixtures/safetensors/torch_mlp.safetensors was written by
    safetensors.torch.save_file (Tests/fixtures/safetensors/make_safetensors_fixture.py)."""
    expected = json.loads((FIXTURES / "torch_mlp_expected.json").read_text())
    model = nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))
    model.load_state_dict(load_file(FIXTURES / "torch_mlp.safetensors"))
    out = model(st.tensor(np.array(expected["input"], dtype=np.float32))).detach().numpy()
    np.testing.assert_allclose(out, np.array(expected["output"], dtype=np.float32), rtol=1e-5, atol=1e-6)
    wrong = nn.Sequential(nn.Linear(64, 16), nn.ReLU(), nn.Linear(16, 10))
    with pytest.raises(st.StateDictError, match="0.weight"):
        wrong.load_state_dict(load_file(FIXTURES / "torch_mlp.safetensors"))


def _file(header, data=b""):
    text = json.dumps(header).encode() if not isinstance(header, bytes) else header
    return len(text).to_bytes(8, "little") + text + data


@pytest.mark.parametrize("data, message", [
    (b"\x01\x02", "fewer than the 8-byte"),
    ((2 ** 62).to_bytes(8, "little") + b"{}", "header length"),
    (_file(b"{not json}"), "not valid JSON"),
    (_file({"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}, b"\0" * 8), "truncated"),
    (_file({"a": {"dtype": "F32", "shape": [3], "data_offsets": [0, 16]}}, b"\0" * 16), "does not fit"),
    (_file({"a": {"dtype": "X9", "shape": [1], "data_offsets": [0, 4]}}, b"\0" * 4), "unknown dtype"),
    (_file({"a": {"dtype": "U8", "shape": [4], "data_offsets": [0, 4]},
            "b": {"dtype": "U8", "shape": [4], "data_offsets": [2, 6]}}, b"\0" * 6), "overlaps"),
    (_file({"a": {"dtype": "U8", "shape": [2 ** 40, 2 ** 40], "data_offsets": [0, 4]}}, b"\0" * 4),
     "does not fit"),
], ids=["short", "huge-header", "bad-json", "truncated", "shape-vs-bytes", "dtype", "overlap", "overflow"])
def test_hostile_files_raise_corrupt_file_error(tmp_path, data, message):
    with pytest.raises(st.CorruptFileError, match=message):
        load(data)
    (tmp_path / "bad.safetensors").write_bytes(data)
    with pytest.raises(st.CorruptFileError, match="bad.safetensors"):
        load_file(tmp_path / "bad.safetensors")


def test_save_file_rejects_what_safetensors_cannot_hold(tmp_path):
    with pytest.raises(ValueError, match="complex64"):
        save_file({"c": np.zeros(2, dtype=np.complex64)}, tmp_path / "c.safetensors")
    with pytest.raises(TypeError, match="numpy array"):
        save_file({"x": [1, 2]}, tmp_path / "x.safetensors")
    with pytest.raises(TypeError, match="str to str"):
        save_file({"x": np.zeros(1)}, tmp_path / "x.safetensors", metadata={"k": 1})
    with pytest.raises(st.FileError):
        save_file({"x": np.zeros(1)}, tmp_path / "missing" / "x.safetensors")
