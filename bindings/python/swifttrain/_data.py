"""Arrays in: ``(X, y)`` tuples (or ``X`` alone for prediction) as library datasets.

The library reads the arrays in place (no copy): ``X`` must be float32 of shape
``[n, d]``, or ``[n, ...]`` with more dimensions (images ``[n, 1, 8, 8]`` for a
convolutional model: each row is read as ``X.shape[1:]``); ``y`` int64 class labels ``[n]``
or float32 regression targets ``[n]`` / ``[n, t]``. Tensors are accepted as well. Only a
non-contiguous array (a strided view) is copied, into C order; dtypes are never converted,
so a wrong one is reported instead of silently copied. Do not change the arrays while a
trainer uses them.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import _swifttrain as _C


def _c_order(array: Any) -> np.ndarray:
    array = np.asarray(array)
    return array if array.flags.c_contiguous else np.ascontiguousarray(array)


def _features(array: Any) -> "tuple[np.ndarray, tuple | None]":
    """``X`` as ``[n, d]`` (a view) and the sample shape to read rows as, or None."""
    array = _c_order(array)
    if array.ndim <= 2:
        return array, None
    return array.reshape(array.shape[0], -1), tuple(array.shape[1:])


def _dataset(features: Any, targets: Any = None) -> _C.Dataset:
    flat, sample_shape = _features(features)
    dataset = (_C.Dataset(flat) if targets is None else _C.Dataset(flat, _c_order(targets)))
    if sample_shape is not None:
        dataset.set_sample_shape(sample_shape)
    return dataset


def as_dataset(data: Any, what: str, features_only_ok: bool = False) -> _C.Dataset:
    """A library dataset for ``data``; ``what`` names the argument in errors."""
    if isinstance(data, _C.Dataset):
        return data
    if isinstance(data, tuple):
        if len(data) != 2:
            raise ValueError(f"{what} must be an (X, y) tuple, got a tuple of {len(data)} items")
        features, targets = data
        return _dataset(features, targets)
    if features_only_ok:
        return _dataset(data)
    raise TypeError(f"{what} must be an (X, y) tuple of arrays (X float32 [n, d], y int64 "
                    f"[n] or float32 [n] / [n, t]), got {type(data).__name__}")


def labels_of(data: Any) -> Any:
    """The ``y`` of an ``(X, y)`` tuple as an array, or None."""
    return np.asarray(data[1]) if isinstance(data, tuple) else None
