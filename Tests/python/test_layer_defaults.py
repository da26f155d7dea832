"""The layers' and functionals' signature defaults are the library's: every argument of every
``swifttrain.nn`` class and ``swifttrain.functional`` function with a default takes it from
``st_layer_defaults`` (the core's table of PyTorch's defaults), so a default changed in one
place only fails here. Arguments the library has no counterpart for are listed below with
the one value they accept."""

from __future__ import annotations

import inspect

import pytest

import swifttrain as st
from swifttrain import _swifttrain as _C
from swifttrain import functional as F
from swifttrain import nn

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
