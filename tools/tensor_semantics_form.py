"""The plain form of a tensor-semantics result, shared by tools/torch_tensor_semantics.py
(torch's results) and Tests/python/test_tensor_semantics.py (swifttrain's): tensors and numpy
arrays as {"values", "dtype", "shape"} (NaN and infinities as strings), lists and tuples as
lists, an exception as the built-in class a user would catch. Needs numpy only."""

import math

import numpy as np


def plain(value):
    """A JSON-able form of `value`; a tensor is anything with detach(), dtype and shape."""
    if hasattr(value, "detach") and hasattr(value, "dtype") and hasattr(value, "shape"):
        array = np.asarray(value.detach())
        return {"values": _numbers(array.tolist()), "dtype": str(value.dtype).split(".")[-1],
                "shape": list(value.shape)}
    if isinstance(value, np.ndarray):
        return {"values": _numbers(value.tolist()), "dtype": str(value.dtype), "shape": list(value.shape)}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, float):
        return _numbers(value)
    return value


def _numbers(value):
    if isinstance(value, list):
        return [_numbers(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value


def error_class(error):
    """The built-in class a user catches: the first of these the exception is."""
    for cls in (TypeError, IndexError, RuntimeError, ValueError):
        if isinstance(error, cls):
            return cls.__name__
    return type(error).__name__


def run(code, lib):
    """Runs a snippet over `lib` and numpy; its `result` in plain form, or for an exception
    {"raises": class, "message": text}."""
    scope = {"lib": lib, "np": np}
    try:
        exec(code, scope)  # noqa: S102 - the fixture's snippets
    except Exception as error:  # noqa: BLE001 - recorded as the class a user catches
        return {"raises": error_class(error), "message": str(error)}
    return plain(scope["result"])
