"""Data in: ``(X, y)`` tuples of arrays (or ``X`` alone for prediction), and datasets of
any kind, as library datasets.

Map-style datasets (``__len__`` and ``__getitem__``, or ``__getitems__`` for a batch of
indices at once as torch and HF's ``datasets`` have it: a list of dicts, HF's
``datasets.Dataset``, a torch-style ``Dataset``) are read through ``st_dataset_create_indexed``:
the library's sampler picks the indices of each batch (so shuffling, resume and its order
are the library's), and ``fetch`` collates ``[dataset[i] for i in indices]`` with the data
collator. Iterable datasets (``__iter__`` without ``__len__``) are read through
``st_dataset_create_stream``: each epoch iterates the dataset again (calling its
``set_epoch(epoch)`` first, if it has one). Either way a batch crosses into the library once,
as named float32 / int64 / bool arrays.

The library reads the arrays in place (no copy): ``X`` must be float32 of shape
``[n, d]``, or ``[n, ...]`` with more dimensions (images ``[n, 1, 8, 8]`` for a
convolutional model: each row is read as ``X.shape[1:]``); ``y`` int64 class labels ``[n]``
or float32 regression targets ``[n]`` / ``[n, t]``. Tensors are accepted as well. Only a
non-contiguous array (a strided view) is copied, into C order; dtypes are never converted,
so a wrong one is reported instead of silently copied. Do not change the arrays while a
trainer uses them.
"""

from __future__ import annotations

import itertools
from typing import Any, Callable, Collection, List, Mapping, Optional, Tuple

import numpy as np

from . import _swifttrain as _C
from .data_collator import as_array, default_data_collator

Collator = Callable[[List[Any]], Any]


def _c_order(array: Any) -> np.ndarray:
    return np.asarray(array, order="C")  # (a copy only when not C-contiguous)


def _dataset(features: Any, targets: Any = None) -> _C.Dataset:
    """``X`` read as ``[n, d]`` (a view), each row as ``X.shape[1:]`` when that has more
    dimensions."""
    array = _c_order(features)
    flat = array if array.ndim <= 2 else array.reshape(array.shape[0], -1)
    dataset = _C.Dataset(flat) if targets is None else _C.Dataset(flat, _c_order(targets))
    if array.ndim > 2:
        dataset.set_sample_shape(tuple(array.shape[1:]))
    return dataset


def _pairs(batch: Any) -> List[Tuple[str, np.ndarray]]:
    """A collated batch as the library takes it: [(name, array), ...]."""
    if not isinstance(batch, Mapping):
        raise TypeError(f"the data collator must return a dict of arrays by name, got "
                        f"{type(batch).__name__}")
    pairs = []
    for name, value in batch.items():
        if not isinstance(name, str):
            raise TypeError(f"the data collator returned a non-str key {name!r}")
        if value is None:
            continue
        array = as_array(value, name)
        if array.ndim == 0:
            raise ValueError(f"batch entry {name!r} is a single number; every entry needs the "
                             f"batch as its first dimension")
        pairs.append((name, array))
    return pairs


class _Columns:
    """Which sample keys go to the model (HF's remove_unused_columns): the forward's
    parameters and the label names; None keeps every key."""

    def __init__(self, keep: Optional[Collection[str]]) -> None:
        self.keep = None if keep is None else set(keep)

    def __call__(self, sample: Any) -> Any:
        if self.keep is None or not isinstance(sample, Mapping):
            return sample
        return {k: v for k, v in sample.items()
                if k in self.keep or (k in ("label", "label_ids") and "labels" in self.keep)}


class _Reader:
    """A dataset read in collated batches of the columns kept."""

    def __init__(self, dataset: Any, collator: Collator, columns: _Columns) -> None:
        self.dataset, self.collator, self.columns = dataset, collator, columns

    def _batch(self, samples: List[Any]) -> List[Tuple[str, np.ndarray]]:
        return _pairs(self.collator([self.columns(s) for s in samples]))


class MapFetch(_Reader):
    """``fetch(indices)`` for st_dataset_create_indexed: collates the samples."""

    def __call__(self, indices: List[int]) -> List[Tuple[str, np.ndarray]]:
        # (torch's and HF datasets' batched access, one call for the batch, when there is one)
        many = getattr(self.dataset, "__getitems__", None)
        samples = many(indices) if many is not None else [self.dataset[i] for i in indices]
        return self._batch(samples)


class StreamNext(_Reader):
    """``next_batch(epoch, index, batch_size)`` for st_dataset_create_stream: iterates the
    dataset once per epoch; a resumed epoch that starts at batch k skips k batches."""

    def __init__(self, dataset: Any, collator: Collator, columns: _Columns) -> None:
        super().__init__(dataset, collator, columns)
        self.epoch: Optional[int] = None
        self.iterator: Any = None
        self.next_index = 0

    def __call__(self, epoch: int, index: int, batch_size: int) -> Optional[List[Tuple[str, np.ndarray]]]:
        if epoch != self.epoch or index < self.next_index:
            if hasattr(self.dataset, "set_epoch"):
                self.dataset.set_epoch(epoch)
            self.iterator, self.epoch, self.next_index = iter(self.dataset), epoch, 0
        while self.next_index < index:  # (resuming: the batches the run had used)
            if not list(itertools.islice(self.iterator, batch_size)):
                return None
            self.next_index += 1
        samples = list(itertools.islice(self.iterator, batch_size))
        if not samples:
            return None
        self.next_index = index + 1
        return self._batch(samples)


def is_array_data(data: Any) -> bool:
    """Whether ``data`` is the arrays fast path: an ``(X, y)`` tuple, a library dataset, or
    an array."""
    return isinstance(data, (tuple, _C.Dataset, np.ndarray, _C.Tensor))


def as_dataset(data: Any, what: str, features_only_ok: bool = False,
               collator: Optional[Collator] = None,
               keep: Optional[Collection[str]] = None) -> _C.Dataset:
    """A library dataset for ``data``; ``what`` names the argument in errors. ``collator``
    (default: :func:`default_data_collator`) and ``keep`` (the sample keys that go to the
    model) apply to map-style and iterable datasets."""
    if isinstance(data, _C.Dataset):
        return data
    if isinstance(data, tuple):
        if len(data) != 2:
            raise ValueError(f"{what} must be an (X, y) tuple, got a tuple of {len(data)} items")
        features, targets = data
        return _dataset(features, targets)
    if features_only_ok and isinstance(data, (np.ndarray, _C.Tensor)):
        return _dataset(data)
    if isinstance(data, (str, bytes, np.ndarray, _C.Tensor)):
        raise TypeError(f"{what} must be an (X, y) tuple of arrays or a dataset, got "
                        f"{type(data).__name__}")
    collate = collator if collator is not None else default_data_collator
    if not callable(collate):
        raise TypeError(f"data_collator must be callable, got {type(collate).__name__}")
    columns = _Columns(keep)
    if hasattr(data, "__len__") and hasattr(data, "__getitem__"):
        n = len(data)
        if n == 0:
            raise ValueError(f"{what} is empty")
        return _C.indexed_dataset(n, MapFetch(data, collate, columns))
    if hasattr(data, "__iter__"):
        return _C.stream_dataset(StreamNext(data, collate, columns))
    raise TypeError(f"{what} must be an (X, y) tuple of arrays (X float32 [n, d], y int64 "
                    f"[n] or float32 [n] / [n, t]), a map-style dataset (__len__ and "
                    f"__getitem__) or an iterable one (__iter__), got {type(data).__name__}")


def labels_of(data: Any) -> Any:
    """The ``y`` of an ``(X, y)`` tuple as an array, or None."""
    return np.asarray(data[1]) if isinstance(data, tuple) else None
