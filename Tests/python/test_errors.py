"""Bad input raises the expected exception, with a message that says what was wrong."""

from __future__ import annotations

import numpy as np
import pytest

import swifttrain as st
import swifttrain.functional as F
from swifttrain import nn


@pytest.mark.parametrize("kwargs, fragments", [
    ({"learning_rate": -1.0}, ["learning_rate", "-1"]),
    ({"optim": "adam_foo"}, ["optim", "adam_foo", "adamw"]),
    ({"lr_scheduler_type": "sawtooth"}, ["lr_scheduler_type", "sawtooth", "linear"]),
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


# ---- tensors, functions and layers -------------------------------------------------------

def test_matmul_shape_error_names_both_shapes():
    a, b = st.zeros(2, 3), st.zeros(4, 5)
    with pytest.raises(st.ShapeError, match=r"\[2, 3\].*\[4, 5\]") as caught:
        a @ b
    # torch raises RuntimeError for shapes; swifttrain's ShapeError is both.
    assert isinstance(caught.value, RuntimeError) and isinstance(caught.value, ValueError)
    assert caught.value.status == -3
    with pytest.raises(RuntimeError):
        st.ones(2, 3) + st.ones(4)


def test_cross_entropy_with_float_targets_is_rejected():
    logits = st.zeros(4, 3, requires_grad=True)
    with pytest.raises((TypeError, ValueError), match="int64|float32"):
        F.cross_entropy(logits, st.tensor([0.0, 1.0, 2.0, 0.0]))


def test_argument_types_raise_type_error():
    with pytest.raises(TypeError, match="Tensor"):
        F.relu([1.0, 2.0])
    with pytest.raises(TypeError, match="Tensor"):
        F.mse_loss(st.zeros(2), np.zeros(2, dtype=np.float32))
    with pytest.raises(TypeError, match="Tensor"):
        st.cat([st.zeros(2), "x"])
    with pytest.raises(TypeError, match="complex128|supported"):
        st.tensor(np.zeros(2, dtype=np.complex128))
    with pytest.raises(TypeError):
        st.zeros(2) + "a"
    with pytest.raises(ValueError, match="reduction"):
        F.l1_loss(st.zeros(2), st.zeros(2), reduction="average")
    with pytest.raises(NotImplementedError, match="dropout_p"):
        F.scaled_dot_product_attention(st.zeros(1, 2, 4), st.zeros(1, 2, 4), st.zeros(1, 2, 4),
                                       dropout_p=0.1)


def test_backward_errors_are_runtime_errors():
    x = st.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="scalar"):
        (x * 2).backward()
    y = (x * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="released|require"):
        y.backward()  # the graph was released by the first backward
    with pytest.raises(RuntimeError):
        st.ones(2).sum().backward()  # nothing requires gradients


def test_requires_grad_on_integers_is_rejected():
    with pytest.raises(st.SwiftTrainError, match="float32"):
        st.tensor([1, 2], requires_grad=True)


def test_load_state_dict_strict_errors_name_the_keys():
    layer = nn.Linear(3, 2)
    good = {k: np.asarray(v.detach()) for k, v in layer.state_dict().items()}
    with pytest.raises(st.StateDictError, match="bias") as caught:
        layer.load_state_dict({"weight": good["weight"]})
    assert isinstance(caught.value, RuntimeError)
    with pytest.raises(RuntimeError, match="extra"):
        layer.load_state_dict({**good, "extra": np.zeros(1, dtype=np.float32)})
    with pytest.raises(RuntimeError, match=r"weight.*\[2, 3\]|weight.*\(2, 3\)"):
        layer.load_state_dict({**good, "weight": np.zeros((3, 3), dtype=np.float32)})
    before = layer.weight.tolist()
    result = layer.load_state_dict({"weight": np.zeros((2, 3)), "extra": np.zeros(1)},
                                   strict=False)
    assert result.missing_keys == ["bias"] and result.unexpected_keys == ["extra"]
    assert layer.weight.tolist() == [[0.0] * 3] * 2 and before != layer.weight.tolist()


def test_a_forward_returning_the_wrong_type_names_the_model_and_the_batch():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(64, 10)

        def forward(self, x):
            return np.asarray(self.fc(x).detach())  # not a tensor: autograd would be lost

    X = np.random.default_rng(0).random((16, 64), dtype=np.float32)
    y = np.arange(16, dtype=np.int64) % 10
    trainer = st.Trainer(Net(), st.TrainingArguments(save_strategy="no", max_steps=2,
                                                     disable_tqdm=True), train_dataset=(X, y))
    with pytest.raises(TypeError, match="Net.forward returned ndarray") as caught:
        trainer.train()
    assert any("forward" in note for note in getattr(caught.value, "__notes__", []))


def test_layer_argument_errors():
    with pytest.raises(NotImplementedError, match="per-head"):
        mha = nn.MultiheadAttention(4, 2, batch_first=True)
        x = st.zeros(1, 3, 4)
        mha(x, x, x, average_attn_weights=False)
    with pytest.raises(st.InvalidArgumentError):
        nn.MultiheadAttention(6, 4)  # embed_dim not divisible by num_heads
    with pytest.raises(st.ShapeError, match="Linear|linear|64|32"):
        nn.Linear(64, 10)(st.zeros(2, 32))
