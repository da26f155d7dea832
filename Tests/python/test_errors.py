"""Bad input raises the expected exception, with a message that says what was wrong."""

from __future__ import annotations

import numpy as np
import pytest

import swifttrain as st
from swifttrain import nn


@pytest.mark.parametrize("kwargs, fragments", [
    ({"learning_rate": -1.0}, ["learning_rate", "-1"]),
    ({"optim": "adam_foo"}, ["optim", "adam_foo", "adamw"]),
    ({"lr_scheduler_type": "cosine"}, ["lr_scheduler_type", "cosine", "linear"]),
    ({"eval_strategy": "sometimes"}, ["eval_strategy", "sometimes", "epoch"]),
    ({"per_device_train_batch_size": 0}, ["per_device_train_batch_size", "0"]),
    ({"num_train_epochs": "many"}, ["num_train_epochs", "many"]),
])
def test_bad_training_arguments(kwargs, fragments):
    with pytest.raises(st.InvalidArgumentError) as caught:
        st.TrainingArguments(**kwargs)
    assert isinstance(caught.value, ValueError) and caught.value.status == -2
    for fragment in fragments:
        assert fragment in str(caught.value)


def test_unsupported_report_to():
    with pytest.raises(ValueError, match="report_to"):
        st.TrainingArguments(report_to="wandb")


def test_unknown_loss(mlp):
    with pytest.raises(st.InvalidArgumentError, match="hinge.*cross_entropy"):
        st.Trainer(mlp, loss="hinge")


def test_model_must_be_a_module():
    with pytest.raises(TypeError, match="nn.Module"):
        st.Trainer(model="not a model")


def test_x_y_length_mismatch(digits, mlp):
    X, y = digits.train
    with pytest.raises(st.ShapeError, match="1438 rows but y has 1437") as caught:
        st.Trainer(mlp, train_dataset=(X, y[:-1]))
    assert isinstance(caught.value, ValueError)


@pytest.mark.parametrize("make, error, fragments", [
    (lambda X, y: (X.astype(np.float64), y), st.InvalidArgumentError,
     ["float32", "float64", "astype"]),
    (lambda X, y: (X, y.astype(np.int32)), st.InvalidArgumentError, ["int64", "int32"]),
    (lambda X, y: (X.reshape(-1), y), st.ShapeError, ["2-D", "(92032,)"]),
    (lambda X, y: (X, y.reshape(-1, 1)), st.ShapeError, ["labels", "1-D"]),
    (lambda X, y: (X, y, y), ValueError, ["(X, y)", "3 items"]),
    (lambda X, y: X, TypeError, ["(X, y) tuple"]),
])
def test_wrong_dtype_or_shape(digits, mlp, make, error, fragments):
    with pytest.raises(error) as caught:
        st.Trainer(mlp, train_dataset=make(*digits.train))
    for fragment in fragments:
        assert fragment in str(caught.value)


def test_predict_with_wrong_feature_count(digits, mlp):
    trainer = st.Trainer(mlp)
    with pytest.raises(st.ShapeError, match=r"32 features.*expected input \[\.\.\., 64\]"):
        trainer.predict(digits.test[0][:, :32])


@pytest.mark.parametrize("bad_label", [10, -1])
def test_label_out_of_range(digits, mlp, quiet_args, bad_label):
    X, y = digits.train
    y = y.copy()
    y[5] = bad_label
    trainer = st.Trainer(mlp, quiet_args(max_steps=2), train_dataset=(X, y))
    with pytest.raises(st.InvalidArgumentError, match=f"label {bad_label} at sample 5"):
        trainer.train()


def test_evaluate_without_dataset_is_misuse(mlp):
    with pytest.raises(st.MisuseError, match="evaluation dataset") as caught:
        st.Trainer(mlp).evaluate()
    assert isinstance(caught.value, RuntimeError)


def test_every_error_is_a_swifttrain_error():
    pairs = [(st.InvalidArgumentError, ValueError), (st.ShapeError, ValueError),
             (st.OutOfMemoryError, MemoryError), (st.NotFoundError, KeyError),
             (st.MisuseError, RuntimeError), (st.InternalError, RuntimeError),
             (st.BlasError, RuntimeError), (st.TrainingAbortedError, RuntimeError)]
    for error, builtin in pairs:
        assert issubclass(error, st.SwiftTrainError) and issubclass(error, builtin)
        assert error.__module__ == "swifttrain"


def test_module_errors():
    with pytest.raises(st.InvalidArgumentError, match="positive"):
        nn.Linear(0, 3)
    layer = nn.Linear(2, 2)
    with pytest.raises(st.InvalidArgumentError, match="twice"):
        nn.Sequential(layer, layer)
    with pytest.raises(TypeError, match="argument 1 is a str"):
        nn.Sequential(layer, "relu")
    with pytest.raises(st.InvalidArgumentError, match=r"\[0, 2\*\*64\)"):
        st.manual_seed(-1)
