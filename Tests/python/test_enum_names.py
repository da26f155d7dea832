"""The enums by name: the library's tables (``_C.enum_names``, ``_C.enum_value``) are the only
ones, and every name they list works where the Python API takes it."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest

import swifttrain as st
import swifttrain.functional as F
from swifttrain import _swifttrain as _C
from swifttrain import nn, optim

KINDS = ["optimizer", "lr_scheduler", "loss", "reduction", "activation", "comparison",
         "metrics_format", "dtype", "interval_strategy", "save_strategy", "nonfinite_policy",
         "momentum_scheduler"]


@pytest.mark.parametrize("kind", KINDS)
def test_enum_names_and_values_agree(kind):
    names = _C.enum_names(kind)
    assert names and all(isinstance(n, str) and isinstance(v, int) for n, v in names.items())
    for name, value in names.items():
        assert _C.enum_value(kind, name) == value
    with pytest.raises(st.InvalidArgumentError, match="unknown .*'no_such_name'.*choose one of"):
        _C.enum_value(kind, "no_such_name")
    with pytest.raises(ValueError, match=", ".join(names)):
        _C.enum_value(kind, "no_such_name")


def test_unknown_kind_lists_the_kinds():
    with pytest.raises(ValueError, match="unknown kind 'colour'") as info:
        _C.enum_names("colour")
    assert all(kind in str(info.value) for kind in KINDS)
    with pytest.raises(ValueError, match="unknown kind"):
        _C.enum_value("colour", "red")
    with pytest.raises(TypeError):
        _C.enum_names(3)


def test_every_reduction_name_works():
    x, y = st.tensor([[0.5, -1.0, 2.0]]), st.tensor([2])
    a, b = st.tensor([0.5, -1.0]), st.tensor([1.0, 0.0])
    log_p = F.log_softmax(st.tensor([[0.5, -1.0]]), dim=1)
    q = st.tensor([[0.25, 0.75]])
    for name in _C.enum_names("reduction"):
        F.kl_div(log_p, q, reduction=name)
        if name == "batchmean":  # kl_div's only, as in torch
            with pytest.raises(ValueError, match="'batchmean' is not a valid value"):
                F.l1_loss(a, b, reduction=name)
            continue
        F.cross_entropy(x, y, reduction=name)
        F.l1_loss(a, b, reduction=name)
        F.mse_loss(a, b, reduction=name)


def test_every_activation_name_is_a_module():
    modules = {"relu": nn.ReLU(), "gelu": nn.GELU(), "gelu_tanh": nn.GELU(approximate="tanh"),
               "silu": nn.SiLU(), "tanh": nn.Tanh(), "sigmoid": nn.Sigmoid()}
    assert set(modules) == set(_C.enum_names("activation"))
    x = st.tensor([-2.0, -0.5, 0.0, 0.7, 3.0])
    expected = {"relu": F.relu(x), "gelu": F.gelu(x), "gelu_tanh": F.gelu(x, approximate="tanh"),
                "silu": F.silu(x), "tanh": F.tanh(x), "sigmoid": F.sigmoid(x)}
    for name, module in modules.items():
        np.testing.assert_allclose(np.asarray(module(x)), np.asarray(expected[name]), rtol=1e-6)
    for name in ("relu", "gelu"):
        nn.TransformerEncoderLayer(4, 2, dim_feedforward=8, activation=name)


def test_every_comparison_name_is_a_tensor_method():
    a, b = st.tensor([1.0, 2.0, 3.0]), st.tensor([2.0, 2.0, 2.0])
    numpy = {"eq": np.equal, "ne": np.not_equal, "lt": np.less, "le": np.less_equal,
             "gt": np.greater, "ge": np.greater_equal}
    assert set(numpy) == set(_C.enum_names("comparison"))
    for name, ufunc in numpy.items():
        got = getattr(a, name)(b)
        assert got.dtype == st.bool
        np.testing.assert_array_equal(np.asarray(got), ufunc(np.asarray(a), np.asarray(b)))


def test_every_dtype_name_is_a_dtype():
    for name in _C.enum_names("dtype"):
        dtype = getattr(st, name)
        assert isinstance(dtype, st.dtype) and dtype.name == name
        assert st.zeros(2, dtype=dtype).dtype is dtype


def test_every_metrics_format_works(tmp_path):
    for name in _C.enum_names("metrics_format"):
        callback = st.MetricsLoggerCallback(tmp_path / f"m.{name}", format=name)
        assert callback.format == name
    with pytest.raises(ValueError, match="'jsonl' or 'csv'"):
        st.MetricsLoggerCallback(tmp_path / "m.txt", format="txt")


@pytest.mark.parametrize("kind, argument", [
    ("optimizer", "optim"), ("lr_scheduler", "lr_scheduler_type"),
    ("interval_strategy", "eval_strategy"), ("interval_strategy", "logging_strategy"),
    ("save_strategy", "save_strategy"), ("nonfinite_policy", "nonfinite_grad_norm"),
    ("momentum_scheduler", "momentum_scheduler_type")])
def test_every_training_argument_name_works(kind, argument, tmp_path):
    extra = {"eval_strategy": "epoch"} if argument == "save_strategy" else {}  # for "best"
    for name in _C.enum_names(kind):
        args = st.TrainingArguments(output_dir=str(tmp_path), **{argument: name, **extra})
        assert getattr(args, argument) == name
    with pytest.raises(ValueError, match=argument):
        st.TrainingArguments(output_dir=str(tmp_path), **{argument: "no_such_name"})


def test_every_loss_name_works_in_the_trainer(tmp_path):
    args = st.TrainingArguments(output_dir=str(tmp_path))
    for name in _C.enum_names("loss"):
        st.Trainer(model=nn.Linear(4, 3), args=args, loss=name)
    with pytest.raises(ValueError, match="unknown loss 'hinge'"):
        st.Trainer(model=nn.Linear(4, 3), args=args, loss="hinge")


def test_optimizers_and_schedulers_use_the_library_values():
    kinds = _C.enum_names("optimizer")
    params = [st.zeros(2, requires_grad=True)]
    for cls, name in [(optim.SGD, "sgd"), (optim.Adam, "adam"), (optim.AdamW, "adamw"),
                      (optim.RMSprop, "rmsprop"), (optim.Adagrad, "adagrad"),
                      (optim.Adadelta, "adadelta"), (optim.Lion, "lion")]:
        assert cls(params, lr=0.1)._kind() == kinds[name], cls.__name__
    # HF's SchedulerType names are library schedules, and get_scheduler makes each of them.
    schedulers = _C.enum_names("lr_scheduler")
    opt = optim.SGD(params, lr=0.1)
    for member in st.SchedulerType:
        assert member.value in schedulers, member
        options = {"cosine_with_min_lr": {"min_lr_rate": 0.1},
                   "warmup_stable_decay": {"num_decay_steps": 2}}.get(member.value)
        st.get_scheduler(member.value, opt, num_warmup_steps=1, num_training_steps=10,
                         scheduler_specific_kwargs=options)


def _int_tables(tree: ast.AST):
    """Dicts of string keys to int constants, and tuples of names bound to int constants or
    a range(): enum tables written out by hand."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Dict) and len(node.keys) >= 2 and all(
                isinstance(k, ast.Constant) and isinstance(k.value, str) for k in node.keys) \
                and all(isinstance(v, ast.Constant) and type(v.value) is int
                        for v in node.values):
            yield node.lineno, ast.unparse(node)
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Tuple) for t in node.targets):
            value = node.value
            if (isinstance(value, ast.Tuple) and value.elts and all(
                    isinstance(e, ast.Constant) and type(e.value) is int for e in value.elts)) \
                    or (isinstance(value, ast.Call) and isinstance(value.func, ast.Name)
                        and value.func.id == "range"):
                yield node.lineno, ast.unparse(node)


def test_no_enum_tables_in_the_package():
    package = Path(st.__file__).resolve().parent
    sources = sorted(package.rglob("*.py"))
    assert len(sources) > 10
    found = [f"{path.relative_to(package)}:{line}: {text}"
             for path in sources for line, text in _int_tables(ast.parse(path.read_text()))]
    assert not found, "enum tables that belong to the library:\n" + "\n".join(found)


def test_the_check_finds_a_table():
    assert list(_int_tables(ast.parse('_X = {"eq": 0, "ne": 1}')))
    assert list(_int_tables(ast.parse("_A, _B = range(2)")))
    assert list(_int_tables(ast.parse("_A, _B = 10, 11")))
    assert not list(_int_tables(ast.parse('_X = {"mode": "min", "patience": 10}')))
