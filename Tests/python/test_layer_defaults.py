"""The layers', functionals' and lr schedulers' signature defaults are the library's: every
argument of every ``swifttrain.nn`` class, ``swifttrain.functional`` function and
``swifttrain.optim.lr_scheduler`` class with a default takes it from ``st_layer_defaults``
(the core's table of PyTorch's defaults), so a default changed in one place only fails here.
Arguments the library has no counterpart for are listed below with the one value they
accept (or, for the schedulers' ``last_epoch``, torch's sentinel)."""

from __future__ import annotations

import inspect

import pytest

import swifttrain as st
from swifttrain import _swifttrain as _C
from swifttrain import functional as F
from swifttrain import nn
from swifttrain.optim import SGD, lr_scheduler

# Layer classes and functionals by the library's table name (st_layer_defaults' `layer`).
CALLABLES = [
    (nn.Linear, "linear"),
    (nn.Conv2d, "conv2d"),
    (nn.MaxPool2d, "max_pool2d"),
    (nn.AvgPool2d, "avg_pool2d"),
    (nn.Flatten, "flatten"),
    (nn.LayerNorm, "layer_norm"),
    (nn.BatchNorm1d, "batch_norm"),
    (nn.BatchNorm2d, "batch_norm"),
    (nn.Dropout, "dropout"),
    (nn.GELU, "gelu"),
    (nn.LeakyReLU, "leaky_relu"),
    (nn.Softplus, "softplus"),
    (nn.MultiheadAttention, "multihead_attention"),
    (nn.TransformerEncoderLayer, "transformer_encoder_layer"),
    (F.conv2d, "conv2d"),
    (F.max_pool2d, "max_pool2d"),
    (F.avg_pool2d, "avg_pool2d"),
    (F.layer_norm, "layer_norm"),
    (F.batch_norm, "batch_norm"),
    (F.dropout, "dropout"),
    (F.gelu, "gelu"),
    (F.leaky_relu, "leaky_relu"),
    (F.softplus, "softplus"),
    (F.scaled_dot_product_attention, "scaled_dot_product_attention"),
    (F.mse_loss, "mse_loss"),
    (F.l1_loss, "l1_loss"),
    (F.smooth_l1_loss, "smooth_l1_loss"),
    (F.huber_loss, "huber_loss"),
    (F.nll_loss, "nll_loss"),
    (F.cross_entropy, "cross_entropy"),
    (F.binary_cross_entropy_with_logits, "binary_cross_entropy_with_logits"),
    (F.kl_div, "kl_div"),
]

# Classes and functions whose defaults are all the face's own (see FACE_ONLY) or None.
NO_TABLE = [nn.ReLU, nn.SiLU, nn.Tanh, nn.Sigmoid, nn.Softmax, nn.LogSoftmax, nn.Embedding,
            F.relu, F.silu, F.tanh, F.sigmoid, F.softmax, F.log_softmax, F.linear, F.embedding]

# torch's arguments the library has no counterpart for: the only value accepted.
FACE_ONLY = {
    "inplace": False,
    "return_indices": False,
    "add_bias_kv": False,
    "add_zero_attn": False,
    "padding_mode": "zeros",
    "enable_gqa": False,
}

_ENUMS = {"activation": "activation", "reduction": "reduction"}


def _name_of(kind: str, value: float) -> str:
    """The main name of an enum value (st_enum_names lists it before its aliases)."""
    return next(name for name, v in _C.enum_names(kind).items() if v == int(value))


def library_default(layer: str, argument: str, annotation: str):
    """The library's default of torch's `argument` of `layer`, as the type torch gives it."""
    table = _C.layer_defaults(layer)  # st_layer_defaults
    if argument == "approximate":  # gelu: approximate_tanh 1 stands for "tanh"
        return "tanh" if table["approximate_tanh"] else "none"
    assert argument in table, f"{layer}: {argument} is not in the library's table {sorted(table)}"
    value = table[argument]
    if argument in _ENUMS:
        return _name_of(_ENUMS[argument], value)
    if "bool" in annotation:
        assert value in (0.0, 1.0), (layer, argument, value)
        return bool(value)
    if annotation in ("int", "Any"):  # sizes and dims; Any: an int or a pair (stride, padding)
        assert value == int(value), (layer, argument, value)
        return int(value)
    return value


def signature_defaults(fn):
    return {name: p for name, p in inspect.signature(fn).parameters.items()
            if p.default is not inspect.Parameter.empty}


def _id(value):
    return getattr(value, "__qualname__", value) if callable(value) else value


@pytest.mark.parametrize("fn, layer", CALLABLES, ids=[
    f"{'nn' if isinstance(fn, type) else 'F'}.{fn.__name__}" for fn, _ in CALLABLES])
def test_every_signature_default_is_the_librarys(fn, layer):
    defaults = signature_defaults(fn)
    checked = 0
    for argument, parameter in defaults.items():
        default = parameter.default
        if argument in FACE_ONLY:
            assert default == FACE_ONLY[argument], (fn, argument)
            continue
        if default is None:  # "none": a tensor not given, stride = kernel, ...; not in the table
            continue
        expected = library_default(layer, argument, str(parameter.annotation))
        assert default == expected, f"{fn.__name__}({argument}={default!r}): the library's is {expected!r}"
        assert type(default) is type(expected), (fn.__name__, argument, default, expected)
        checked += 1
    assert checked > 0, fn


@pytest.mark.parametrize("fn", NO_TABLE, ids=lambda fn: fn.__qualname__)
def test_the_others_have_only_face_or_none_defaults(fn):
    for argument, parameter in signature_defaults(fn).items():
        assert parameter.default is None or FACE_ONLY.get(argument, object()) == parameter.default, \
            (fn, argument, parameter.default)


def test_every_table_entry_reaches_python():
    """Every default the library publishes is one of these signatures' (or F.batch_norm's /
    F.dropout's `training`), so an entry the core adds is not silently left out."""
    used = {}
    for fn, layer in CALLABLES:
        used.setdefault(layer, set()).update(signature_defaults(fn))
    used["gelu"] = {"approximate_tanh"} if "approximate" in used["gelu"] else set()
    for layer, arguments in used.items():
        table = _C.layer_defaults(layer)
        missing = set(table) - arguments
        assert not missing, f"{layer}: the library's defaults {sorted(missing)} are in no signature"


def test_signatures_read_as_pytorchs():
    """The signatures show PyTorch's defaults (what help() and inspect print)."""
    assert str(inspect.signature(nn.LayerNorm).parameters["eps"]).endswith("= 1e-05")
    assert inspect.signature(nn.LayerNorm).parameters["eps"].default == 1e-05
    bn = inspect.signature(nn.BatchNorm1d).parameters
    assert (bn["eps"].default, bn["momentum"].default, bn["affine"].default) == (1e-05, 0.1, True)
    assert inspect.signature(nn.LeakyReLU).parameters["negative_slope"].default == 0.01
    sp = inspect.signature(nn.Softplus).parameters
    assert (sp["beta"].default, sp["threshold"].default) == (1.0, 20.0)
    assert inspect.signature(nn.Dropout).parameters["p"].default == 0.5
    te = inspect.signature(nn.TransformerEncoderLayer).parameters
    assert te["dim_feedforward"].default == 2048 and type(te["dim_feedforward"].default) is int
    assert (te["dropout"].default, te["activation"].default, te["layer_norm_eps"].default) == \
        (0.1, "relu", 1e-05)
    assert inspect.signature(nn.Flatten).parameters["start_dim"].default == 1
    assert inspect.signature(F.cross_entropy).parameters["ignore_index"].default == -100
    assert inspect.signature(F.cross_entropy).parameters["reduction"].default == "mean"
    assert inspect.signature(nn.GELU).parameters["approximate"].default == "none"


def test_layer_defaults_refuses_an_unknown_layer():
    with pytest.raises(st.SwiftTrainError, match="unknown layer 'LayerNorm'; choose one of: linear"):
        _C.layer_defaults("LayerNorm")
    with pytest.raises(TypeError):
        _C.layer_defaults(None)


def test_layers_built_without_arguments_have_the_librarys_defaults():
    norm = nn.LayerNorm(4)
    assert norm.eps == _C.layer_defaults("layer_norm")["eps"]
    bn = nn.BatchNorm1d(3)
    table = _C.layer_defaults("batch_norm")
    assert (bn.eps, bn.momentum) == (table["eps"], table["momentum"])
    assert "running_mean" in bn.state_dict()
    assert nn.Dropout().p == _C.layer_defaults("dropout")["p"]


# ---- lr schedulers ----------------------------------------------------------------------------

# torch.optim.lr_scheduler's classes by the library's table name.
SCHEDULERS = [
    (lr_scheduler.StepLR, "step_lr"),
    (lr_scheduler.ReduceLROnPlateau, "reduce_lr_on_plateau"),
]

# Schedulers whose only default is last_epoch.
SCHEDULERS_NO_TABLE = [lr_scheduler.LRScheduler, lr_scheduler.LambdaLR, lr_scheduler.ExponentialLR]

# torch's -1, "not resumed": the Python face counts the steps, the core's schedules are
# functions of the step, so the table has no last_epoch.
SCHEDULER_FACE_ONLY = {"last_epoch": -1}

# The type of each default in torch's signatures (min_lr=0 is an int there).
SCHEDULER_TYPES = {"mode": str, "factor": float, "patience": int, "threshold": float,
                   "threshold_mode": str, "cooldown": int, "min_lr": int, "eps": float,
                   "gamma": float}


def scheduler_default(layer: str, argument: str):
    """The library's default of torch's `argument` of scheduler `layer`, as torch types it."""
    table = _C.layer_defaults(layer)  # st_layer_defaults
    if argument == "mode":  # mode_max 1 stands for "max"
        return "max" if table["mode_max"] else "min"
    if argument == "threshold_mode":  # threshold_mode_abs 1 stands for "abs"
        return "abs" if table["threshold_mode_abs"] else "rel"
    assert argument in table, f"{layer}: {argument} is not in the library's table {sorted(table)}"
    value = table[argument]
    if SCHEDULER_TYPES[argument] is int:
        assert value == int(value), (layer, argument, value)
        return int(value)
    return value


@pytest.mark.parametrize("cls, layer", SCHEDULERS, ids=[cls.__name__ for cls, _ in SCHEDULERS])
def test_every_scheduler_default_is_the_librarys(cls, layer):
    defaults = signature_defaults(cls)
    checked = set()
    for argument, parameter in defaults.items():
        if argument in SCHEDULER_FACE_ONLY:
            assert parameter.default == SCHEDULER_FACE_ONLY[argument], (cls, argument)
            continue
        expected = scheduler_default(layer, argument)
        assert parameter.default == expected, \
            f"{cls.__name__}({argument}={parameter.default!r}): the library's is {expected!r}"
        assert type(parameter.default) is type(expected) is SCHEDULER_TYPES[argument], \
            (cls.__name__, argument, parameter.default, expected)
        checked.add(argument)
    translated = {"mode": "mode_max", "threshold_mode": "threshold_mode_abs"}
    assert {translated.get(a, a) for a in checked} == set(_C.layer_defaults(layer)), \
        f"{layer}: the library's defaults and {cls.__name__}'s signature differ"


@pytest.mark.parametrize("cls", SCHEDULERS_NO_TABLE, ids=lambda cls: cls.__name__)
def test_the_other_schedulers_have_only_last_epoch(cls):
    assert {a: p.default for a, p in signature_defaults(cls).items()} == SCHEDULER_FACE_ONLY


def test_scheduler_signatures_read_as_pytorchs():
    """torch.optim.lr_scheduler's signatures, argument for argument."""
    plateau = inspect.signature(lr_scheduler.ReduceLROnPlateau).parameters
    assert list(plateau) == ["optimizer", "mode", "factor", "patience", "threshold",
                             "threshold_mode", "cooldown", "min_lr", "eps"]
    assert {a: p.default for a, p in plateau.items() if a != "optimizer"} == {
        "mode": "min", "factor": 0.1, "patience": 10, "threshold": 1e-4,
        "threshold_mode": "rel", "cooldown": 0, "min_lr": 0, "eps": 1e-8}
    assert type(plateau["min_lr"].default) is int and type(plateau["patience"].default) is int
    assert str(plateau["threshold"]).endswith("= 0.0001") and str(plateau["eps"]).endswith("= 1e-08")
    step = inspect.signature(lr_scheduler.StepLR).parameters
    assert list(step) == ["optimizer", "step_size", "gamma", "last_epoch"]
    assert (step["step_size"].default, step["gamma"].default, step["last_epoch"].default) == \
        (inspect.Parameter.empty, 0.1, -1)
    exponential = inspect.signature(lr_scheduler.ExponentialLR).parameters
    assert list(exponential) == ["optimizer", "gamma", "last_epoch"]
    assert exponential["gamma"].default is inspect.Parameter.empty


def test_schedulers_built_without_arguments_have_the_librarys_defaults():
    opt = SGD([st.tensor([1.0], requires_grad=True)], lr=1.0)
    plateau = lr_scheduler.ReduceLROnPlateau(opt)
    table = _C.layer_defaults("reduce_lr_on_plateau")
    state = plateau.state_dict()
    assert (state["factor"], state["patience"], state["threshold"], state["cooldown"],
            state["eps"], state["min_lrs"]) == (table["factor"], table["patience"],
                                                table["threshold"], table["cooldown"],
                                                table["eps"], [table["min_lr"]])
    assert (state["mode"], state["threshold_mode"]) == ("min", "rel")
    # the same defaults from an option string without those keys (HF's get_scheduler)
    from_options = st.get_scheduler("reduce_lr_on_plateau", opt).state_dict()
    keys = ("mode", "factor", "patience", "threshold", "threshold_mode", "cooldown", "eps",
            "min_lrs")
    assert {k: from_options[k] for k in keys} == {k: state[k] for k in keys}
    step = lr_scheduler.StepLR(opt, step_size=1)
    assert step.gamma == _C.layer_defaults("step_lr")["gamma"]
    step.step()
    assert opt.param_groups[0]["lr"] == pytest.approx(step.gamma)  # 1.0 * gamma ** 1


def test_tensor_method_defaults_are_the_librarys():
    """Tensor.flatten's dims, var / std's correction and the reductions' keepdim come from
    the library's table (tensor_flatten, var, std, reduce), like the layers' and
    functionals' defaults."""
    flatten = inspect.signature(st.Tensor.flatten).parameters
    table = _C.layer_defaults("tensor_flatten")
    assert (flatten["start_dim"].default, flatten["end_dim"].default) == \
        (table["start_dim"], table["end_dim"]) == (0, -1)
    assert _C.layer_defaults("var") == _C.layer_defaults("std") == {"correction": 1, "keepdim": 0}
    # keepdim of every reduction is the library's too
    assert _C.layer_defaults("reduce") == {"keepdim": 0}
    for name in ("sum", "mean", "argmax", "max", "min", "var", "std"):
        assert inspect.signature(getattr(st.Tensor, name)).parameters["keepdim"].default is False
    x = st.tensor([[1.0, 2.0, 4.0], [3.0, 5.0, 9.0]])
    for name in ("var", "std"):
        method = getattr(x, name)
        assert method().item() == pytest.approx(method(correction=1).item())
        assert method(1, unbiased=False).tolist() == pytest.approx(
            method(1, correction=0).tolist())
