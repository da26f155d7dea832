"""The optimizers' signature defaults are the library's: every argument of every
``swifttrain.optim`` class defaults to what ``st_optim_options_init`` (the core's table)
gives its kind, so a default changed in one place only fails here."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

import swifttrain as st
from swifttrain import _swifttrain as _C
from swifttrain import optim

KINDS = _C.enum_names("optimizer")

CLASSES = [  # class, the library's kind
    (optim.SGD, "sgd"),
    (optim.Adam, "adam"),
    (optim.AdamW, "adamw"),
    (optim.RMSprop, "rmsprop"),
    (optim.Adagrad, "adagrad"),
    (optim.Adadelta, "adadelta"),
    (optim.Lion, "lion"),
]


def library_default(kind: str, argument: str):
    """The library's default for a PyTorch argument of optimizer `kind`."""
    core = _C.optim_options_init(KINDS[kind])  # st_optim_options_init
    if argument == "betas":
        return (core["momentum"], core["beta2"])
    if argument == "maximize":
        return False  # the library has no maximize; True is refused
    if argument == "decoupled_weight_decay":
        return kind == "adamw"  # AdamW is the library's kind, not a switch
    assert argument in core, f"{argument} is not an st_optim_options field"
    return core[argument]


def signature_defaults(cls):
    parameters = inspect.signature(cls).parameters
    assert next(iter(parameters)) == "params"
    return {name: p.default for name, p in parameters.items() if name != "params"}


@pytest.mark.parametrize("cls, kind", CLASSES, ids=lambda v: getattr(v, "__name__", v))
def test_every_signature_default_is_the_librarys(cls, kind):
    defaults = signature_defaults(cls)
    assert defaults, cls
    for argument, default in defaults.items():
        assert default is not inspect.Parameter.empty, argument
        expected = library_default(kind, argument)
        assert default == expected, f"{cls.__name__}({argument}={default!r}): the library's is {expected!r}"
        assert type(default) is type(expected), (argument, default, expected)


@pytest.mark.parametrize("cls, kind", CLASSES, ids=lambda v: getattr(v, "__name__", v))
def test_an_optimizer_built_without_arguments_has_the_librarys_defaults(cls, kind):
    p = st.tensor(np.asarray([1.0, 2.0], dtype=np.float32), requires_grad=True)
    opt = cls([p])
    signature = signature_defaults(cls)
    if kind == "adamw":
        signature["decoupled_weight_decay"] = True  # AdamW passes it to Adam
    assert opt.defaults == signature
    core = _C.optim_options_init(KINDS[kind])
    group = opt._core.get_param_group(0)
    assert (group["lr"], group["weight_decay"]) == (core["lr"], core["weight_decay"])
    if "momentum" in signature or "betas" in signature:
        assert group["momentum"] == core["momentum"]


def test_positional_arguments_bind_in_torchs_order_and_bad_ones_raise_type_error():
    p = st.tensor(np.asarray([1.0, 2.0], dtype=np.float32), requires_grad=True)
    sgd = optim.SGD([p], 0.5, 0.9, 0.0, 0.01, True)
    assert sgd.defaults == {"lr": 0.5, "momentum": 0.9, "dampening": 0.0,
                            "weight_decay": 0.01, "nesterov": True, "maximize": False}
    assert optim.RMSprop([p], 0.1, 0.5).param_groups[0]["alpha"] == 0.5
    assert optim.AdamW([p], betas=(0.8, 0.9)).param_groups[0]["betas"] == pytest.approx((0.8, 0.9))
    with pytest.raises(TypeError, match="SGD.*unexpected keyword argument 'foo'"):
        optim.SGD([p], foo=1)
    with pytest.raises(TypeError, match="Lion.*too many positional arguments"):
        optim.Lion([p], 1e-3, (0.9, 0.99), 0.0, 1)
    with pytest.raises(TypeError, match="Adam.*too many positional arguments"):
        optim.Adam([p], 1e-3, (0.9, 0.99), 1e-8, 0.0, False, True)  # keyword-only, as torch's
    with pytest.raises(NotImplementedError):
        optim.Adagrad([p], maximize=True)
