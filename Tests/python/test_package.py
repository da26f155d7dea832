"""The installed package: exports, version, library location, modules, arguments."""

from __future__ import annotations

import dataclasses
import importlib.metadata
from pathlib import Path

import numpy as np
import pytest

import swifttrain as st
from swifttrain import _swifttrain as _C
from swifttrain import nn


def test_exports():
    for name in ["Trainer", "TrainingArguments", "TrainerCallback", "TrainerState",
                 "TrainerControl", "ProgressCallback", "PrinterCallback", "TrainOutput",
                 "PredictionOutput", "nn", "manual_seed", "blas_corename", "__version__",
                 "SwiftTrainError", "InvalidArgumentError", "ShapeError", "MisuseError",
                 "StateDictError", "Tensor", "tensor", "from_numpy", "zeros", "ones", "full",
                 "arange", "rand", "randn", "float32", "int64", "bool", "no_grad",
                 "enable_grad", "is_grad_enabled", "cat", "stack", "where", "functional",
                 "optim", "get_scheduler", "SchedulerType"]:
        assert hasattr(st, name), name
    for name in ["Conv2d", "MaxPool2d", "AvgPool2d", "Flatten", "Embedding", "LayerNorm",
                 "BatchNorm1d", "BatchNorm2d", "Dropout", "GELU", "SiLU", "Tanh", "Sigmoid",
                 "LeakyReLU", "Softplus", "Softmax", "LogSoftmax", "MultiheadAttention",
                 "TransformerEncoderLayer"]:
        assert issubclass(getattr(nn, name), nn.Module), name


def test_version_is_the_library_version():
    assert st.__version__ == _C.version_string()
    assert st.__version__ == importlib.metadata.version("swifttrain")
    major, minor, patch = (int(part) for part in st.__version__.split("."))
    assert _C.version_number() == _C.HEADER_VERSION_NUMBER == major * 10000 + minor * 100 + patch


def test_library_ships_inside_the_package():
    package = Path(st.__file__).parent
    assert (package / "libswifttrain.so.0").is_file()
    assert Path(_C.__file__).parent == package


def test_blas_is_loaded():
    name = st.blas_corename()
    assert isinstance(name, str) and name and name != "unavailable"


def test_module_parameter_counts_and_repr():
    model = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10))
    assert model.num_parameters() == 64 * 64 + 64 + 64 * 10 + 10
    assert nn.Linear(64, 10, bias=False).num_parameters() == 640
    assert nn.ReLU().num_parameters() == 0
    assert len(model) == 3 and isinstance(model[1], nn.ReLU)
    assert repr(model).splitlines()[1] == "  (0): Linear(in_features=64, out_features=64, bias=True)"


def test_manual_seed_makes_initialisation_repeatable(digits, quiet_args):
    def untrained_outputs(seed):
        st.manual_seed(seed)
        model = nn.Sequential(nn.Linear(64, 16), nn.ReLU(), nn.Linear(16, 10))
        return st.Trainer(model, quiet_args()).predict(digits.test[0][:20]).predictions

    np.testing.assert_array_equal(untrained_outputs(5), untrained_outputs(5))
    assert not np.array_equal(untrained_outputs(5), untrained_outputs(6))


def test_training_arguments_have_hf_defaults():
    args = st.TrainingArguments()
    expected = {
        "output_dir": "trainer_output", "learning_rate": 5e-5, "weight_decay": 0.0,
        "adam_beta1": 0.9, "adam_beta2": 0.999, "adam_epsilon": 1e-8, "max_grad_norm": 1.0,
        "num_train_epochs": 3.0, "max_steps": -1, "lr_scheduler_type": "linear",
        "warmup_steps": 0, "logging_strategy": "steps", "logging_steps": 500,
        "logging_first_step": False, "eval_strategy": "no", "eval_steps": None, "seed": 42,
        "data_seed": None, "per_device_train_batch_size": 8, "per_device_eval_batch_size": 8,
        "dataloader_drop_last": False, "optim": "adamw_torch_fused", "report_to": "none",
        "disable_tqdm": False,
    }
    assert {name: getattr(args, name) for name in expected} == expected


def test_python_defaults_are_the_librarys_defaults():
    assert st.TrainingArguments().to_core().as_dict() == _C.TrainingArgs().as_dict()


def test_every_library_field_is_an_argument():
    core_fields = set(_C.TrainingArgs().as_dict()) - {"version"}
    python_fields = {f.name for f in dataclasses.fields(st.TrainingArguments)}
    assert core_fields <= python_fields


@pytest.mark.parametrize("optim", ["adamw", "adamw_torch", "adamw_torch_fused", "sgd", "adam",
                                   "adagrad", "rmsprop", "adadelta", "lion", "lion_32bit"])
def test_optimizer_names(optim, digits, quiet_args, silent):
    st.manual_seed(0)
    model = nn.Sequential(nn.Linear(64, 10))
    args = quiet_args(optim=optim, learning_rate=0.05, num_train_epochs=1,
                      per_device_train_batch_size=32)
    trainer = silent(st.Trainer(model, args, train_dataset=digits.train,
                                eval_dataset=digits.test))
    before = trainer.evaluate()["eval_loss"]
    trainer.train()
    assert trainer.evaluate()["eval_loss"] < before


def test_values_are_passed_as_the_library_parses_them():
    core = st.TrainingArguments(learning_rate=np.float64(1e-3), logging_first_step=np.bool_(True),
                                max_steps=np.int64(7), data_seed=3).to_core().as_dict()
    assert (core["learning_rate"], core["logging_first_step"]) == (1e-3, True)
    assert (core["max_steps"], core["data_seed"]) == (7, 3)
    assert st.TrainingArguments(output_dir="runs/x", disable_tqdm=None).disable_tqdm is False


def test_signature_defaults_come_from_the_library():
    """Every default of TrainingArguments that the library owns is the library's value
    (read from st_training_args_json), the steps as int as HF types them."""
    library = _C.TrainingArgs().as_dict()
    args = st.TrainingArguments()
    for f in dataclasses.fields(st.TrainingArguments):
        value = getattr(args, f.name)
        if f.name in library and f.default is not None and f.default is not dataclasses.MISSING:
            assert value == library[f.name], f.name
            assert type(value) is type(library[f.name]) or f.name.endswith("_steps"), f.name
    assert args.output_dir == library["output_dir"] and args.optim == "adamw_torch_fused"


def test_arguments_are_set_in_one_validated_call_that_changes_nothing_on_error():
    core = _C.TrainingArgs()
    core.update({"learning_rate": "0.25", "optim": "sgd"})
    assert (core.as_dict()["learning_rate"], core.as_dict()["optim"]) == (0.25, "sgd")
    with pytest.raises(ValueError, match="optim.*bogus"):
        core.update({"learning_rate": "0.5", "optim": "bogus"})
    with pytest.raises(ValueError, match="warmup_ratio"):  # validation runs in the same call
        core.update({"learning_rate": "0.5", "warmup_ratio": "2"})
    assert core.as_dict()["learning_rate"] == 0.25
