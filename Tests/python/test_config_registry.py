"""Model and callback types of configs registered from Python (swifttrain.register_model,
register_callback) in the library's one registry, used by Trainer.from_config, and their
errors; the library's registering callbacks (metrics_logger) added to a Python trainer."""

import json
from pathlib import Path

import pytest

import swifttrain as st
from swifttrain import nn

ROOT = Path(__file__).resolve().parents[2]
DIGITS = ROOT / "data" / "digits"


def config(**more):
    base = {"model": {"type": "py_mlp", "hidden": 32},
            "train_data": {"type": "csv", "path": str(DIGITS / "train.csv"), "feature_scale": 0.0625},
            "validation_data": {"type": "csv", "path": str(DIGITS / "test.csv"), "feature_scale": 0.0625},
            "trainer": {"num_train_epochs": 10, "learning_rate": 0.003, "per_device_train_batch_size": 32,
                        "save_strategy": "no", "logging_strategy": "epoch", "disable_tqdm": True}}
    base.update(more)
    return base


class StepCounter(st.TrainerCallback):
    instances = []

    def __init__(self, every=1):
        self.every, self.steps = every, 0
        StepCounter.instances.append(self)

    def on_step_end(self, args, state, control, **kwargs):
        self.steps += 1


@pytest.fixture
def registered():
    calls = []

    def py_mlp(hidden=64):
        calls.append(hidden)
        if hidden <= 0:
            raise ValueError(f"hidden must be positive, got {hidden}")
        return nn.Sequential(nn.Linear(64, hidden), nn.ReLU(), nn.Linear(hidden, 10))

    st.register_model("py_mlp")(py_mlp)
    st.register_callback("step_counter")(StepCounter)
    StepCounter.instances.clear()
    yield calls
    st.unregister_model("py_mlp")
    st.unregister_callback("step_counter")


def test_a_registered_model_and_callback_train_from_a_config(registered, tmp_path, silent):
    trainer = silent(st.Trainer.from_config(config(callbacks=[{"type": "step_counter", "every": 2}]),
                                            overrides={"trainer": {"output_dir": str(tmp_path)}}))
    assert registered == [32]
    assert list(trainer.model.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    (counter,) = StepCounter.instances
    assert counter.every == 2 and counter in trainer.callback_handler.callbacks
    trainer.train()
    assert counter.steps == 450  # 10 epochs of 45 steps
    assert trainer.evaluate()["eval_accuracy"] > 0.9


def test_a_registered_model_nests_in_a_sequential(registered, tmp_path):
    trainer = st.Trainer.from_config(config(model={"type": "sequential", "layers": [
        {"type": "py_mlp", "hidden": 16}, {"type": "relu"}]}, trainer={"output_dir": str(tmp_path)}))
    assert registered == [16] and list(trainer.model.state_dict())[0] == "0.0.weight"


def test_errors_name_the_type_and_the_key_path(registered):
    with pytest.raises(st.InvalidArgumentError, match='"py_mlp" is registered already'):
        st.register_model("py_mlp")(lambda: None)
    with pytest.raises(ValueError, match='"linear" is a built-in model type'):
        st.register_model("linear")(lambda: None)
    with pytest.raises(ValueError, match='"early_stopping" is a built-in callback type'):
        st.register_callback("early_stopping")(StepCounter)
    with pytest.raises(TypeError, match="must be callable"):
        st.register_model("other")(42)
    # the factory's exception: its message at the key path, and the exception as the cause
    with pytest.raises(ValueError, match=r'model\.layers\[0\]: the factory of "py_mlp" failed .*'
                                         r'ValueError: hidden must be positive, got -1') as info:
        st.Trainer.from_config(config(model={"type": "sequential", "layers": [{"type": "py_mlp", "hidden": -1}]}))
    assert isinstance(info.value.__cause__, ValueError) and "got -1" in str(info.value.__cause__)
    with pytest.raises(ValueError, match=r"model: .*TypeError: .*unexpected keyword argument 'width'"):
        st.Trainer.from_config(config(model={"type": "py_mlp", "width": 3}))
    with pytest.raises(ValueError, match=r"callbacks\[0\]: .*unexpected keyword argument 'often'"):
        st.Trainer.from_config(config(callbacks=[{"type": "step_counter", "often": 3}]))
    # an unknown type lists the registered ones
    with pytest.raises(ValueError, match=r'model\.type: unknown layer type "py_mpl"; known: .*py_mlp'):
        st.Trainer.from_config(config(model={"type": "py_mpl"}))
    with pytest.raises(ValueError, match=r'unknown callback type "step_countr"; known: .*step_counter'):
        st.Trainer.from_config(config(callbacks=[{"type": "step_countr"}]))
    with pytest.raises(ValueError, match="built-in"):
        st.unregister_model("linear")


def test_a_module_with_a_python_forward_is_refused(tmp_path):
    class Mine(nn.Module):
        def __init__(self):
            super().__init__()
            self.linear = nn.Linear(64, 10)

        def forward(self, x):
            return self.linear(x)

    st.register_model("mine")(Mine)
    try:
        with pytest.raises(ValueError, match=r"model: .*Mine, a module with a forward of its own"):
            st.Trainer.from_config(config(model={"type": "mine"}))
    finally:
        st.unregister_model("mine")
    with pytest.raises(st.NotFoundError, match='no model type "mine" is registered'):
        st.unregister_model("mine")


def test_python_callbacks_need_the_python_trainer(registered, tmp_path):
    """The library's own trainer (st_trainer_create_from_config, the command line) cannot
    run a Python callback: the command line in this process says so, naming the key path."""
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config(callbacks=[{"type": "step_counter"}])))
    assert st._C.cli_main(["swifttrain", "train", str(path), "-s", str(tmp_path / "run")]) == 65


def test_the_metrics_logger_of_a_config_logs_for_a_python_trainer(tmp_path):
    trainer = st.Trainer.from_config(config(model={"type": "linear", "in_features": 64, "out_features": 10},
                                            callbacks=[{"type": "metrics_logger", "path": "log.jsonl"}]),
                                     overrides={"trainer": {"num_train_epochs": 2, "output_dir": str(tmp_path)}})
    trainer.train()
    lines = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert [line["step"] for line in lines] == [45, 90, 90]  # two epochs logged, the summary
