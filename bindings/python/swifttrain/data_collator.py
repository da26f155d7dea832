"""Data collators, as HuggingFace's ``transformers.data.data_collator``: a collator turns a
list of samples (what ``dataset[i]`` returns) into one batch, a dict of arrays by name.

    default_data_collator(samples)               # stacks; "label" becomes "labels"
    DataCollatorWithPadding(pad_token_id=0)      # pads variable-length token sequences,
                                                 # adds attention_mask, pads labels with -100

Samples may be dicts of arrays, numbers and lists (HF's datasets), ``(x, y)`` tuples (a
torch-style ``TensorDataset``: named ``"input"`` and ``"labels"``) or single arrays
(``"input"``). The arrays go to the library as float32, int64 or bool: floats become float32,
integers int64. This is data movement only; the numbers are computed in the library.
"""

from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional, Sequence

import numpy as np

from . import _swifttrain as _C

__all__ = ["default_data_collator", "DataCollatorWithPadding"]

_TYPES = {"f": np.float32, "i": np.int64, "u": np.int64, "b": np.bool_}  # by numpy's dtype kind


def as_array(value: Any, name: str) -> np.ndarray:
    """A C-contiguous float32 / int64 / bool array of ``value`` (a tensor, an array, a
    number or a nested list)."""
    array = np.asarray(value.detach() if isinstance(value, _C.Tensor) else value)
    if array.dtype.kind not in _TYPES:
        raise TypeError(f"batch entry {name!r} holds {array.dtype} values; only numbers can go "
                        f"to the model (drop the column, e.g. with remove_unused_columns, or "
                        f"convert it)")
    # (ascontiguousarray would make 0-d 1-d)
    return np.asarray(array, dtype=_TYPES[array.dtype.kind], order="C")


def _named(sample: Any) -> Mapping[str, Any]:
    """A sample as a mapping: dicts as they are (HF's "label" / "label_ids" become
    "labels"), ``(x, y)`` tuples as ``{"input": x, "labels": y}``, anything else as
    ``{"input": sample}``."""
    if isinstance(sample, Mapping):
        if "labels" not in sample and ("label" in sample or "label_ids" in sample):
            renamed = dict(sample)
            renamed["labels"] = renamed.pop("label" if "label" in sample else "label_ids")
            return renamed
        return sample
    if isinstance(sample, tuple):
        if len(sample) in (1, 2):
            return dict(zip(("input", "labels"), sample))
        raise TypeError(f"a dataset sample is a tuple of {len(sample)} items; use (x,) or "
                        f"(x, y), or a dict of named values")
    return {"input": sample}


def _is_text(value: Any) -> bool:
    """Whether a sample's value is text (HF's collators leave such columns out)."""
    first = value[0] if isinstance(value, (list, tuple)) and value else value
    return (isinstance(first, (str, bytes))
            or isinstance(value, np.ndarray) and value.dtype.kind in "USO")


def _keys(samples: Sequence[Mapping[str, Any]]) -> List[str]:
    keys = list(samples[0].keys())
    for i, sample in enumerate(samples[1:], 1):
        if list(sample.keys()) != keys and set(sample.keys()) != set(keys):
            raise ValueError(f"samples of one batch have different keys: {keys} and "
                             f"{list(sample.keys())} (sample {i})")
    return keys


def _stack(arrays: List[np.ndarray], message: str) -> np.ndarray:
    """The arrays stacked into [batch, ...]; ``message`` (a format of ``shapes``) if their
    shapes differ."""
    shapes = {a.shape for a in arrays}
    if len(shapes) > 1:
        raise ValueError(message.format(shapes=", ".join(str(s) for s in sorted(shapes))))
    return np.stack(arrays)


def default_data_collator(features: List[Any]) -> Dict[str, np.ndarray]:
    """Stacks each named value of the samples into an array [batch, ...] (HF's
    ``default_data_collator``); values of one name must have the same shape. Text values are
    left out, as HF does."""
    samples = [_named(f) for f in features]
    batch: Dict[str, np.ndarray] = {}
    for key in _keys(samples):
        values = [s[key] for s in samples]
        if any(v is None for v in values) or _is_text(values[0]):
            continue
        batch[key] = _stack([as_array(v, key) for v in values],
                            f"default_data_collator: {key!r} has different shapes in one batch "
                            f"({{shapes}}); use DataCollatorWithPadding for sequences of "
                            f"different lengths")
    return batch


class DataCollatorWithPadding:
    """Pads variable-length sequences to the longest in the batch (HF's
    ``DataCollatorWithPadding``, plus HF's token-classification rule for labels):
    ``input_ids`` and other sequences with ``pad_token_id`` (the tokenizer's, if one is
    given, else 0), ``attention_mask`` and ``token_type_ids`` with 0, sequence ``labels``
    with ``label_pad_token_id`` (-100, which losses and metrics ignore). Without an
    ``attention_mask`` it adds one (int64, 1 for real tokens) for ``input_ids``. A 1-D entry
    is a sequence when its lengths vary in the batch, match those of ``input_ids``, or it is
    one of HF's sequence keys. ``padding`` is ``True`` / ``"longest"`` (the batch's longest)
    or ``"max_length"`` (``max_length``); as HF's, it never truncates. ``padding_side`` is
    ``"right"`` or ``"left"``; ``pad_to_multiple_of`` rounds the length up. Text columns are
    left out."""

    def __init__(self, tokenizer: Any = None, padding: Any = True, max_length: Optional[int] = None,
                 pad_to_multiple_of: Optional[int] = None, return_tensors: str = "np",
                 pad_token_id: Optional[int] = None, label_pad_token_id: int = -100,
                 padding_side: str = "right", return_attention_mask: bool = True) -> None:
        if padding not in (True, "longest", "max_length"):
            raise ValueError(f"DataCollatorWithPadding: padding={padding!r} is not supported; "
                             f"use True / 'longest' or 'max_length'")
        if padding == "max_length" and (max_length is None or max_length < 1):
            raise ValueError("DataCollatorWithPadding: padding='max_length' needs max_length >= 1")
        if padding_side not in ("right", "left"):
            raise ValueError(f"padding_side must be 'right' or 'left', got {padding_side!r}")
        if pad_to_multiple_of is not None and pad_to_multiple_of < 1:
            raise ValueError(f"pad_to_multiple_of must be >= 1, got {pad_to_multiple_of}")
        if pad_token_id is None:
            pad_token_id = getattr(tokenizer, "pad_token_id", None)
        self.pad_token_id = 0 if pad_token_id is None else int(pad_token_id)
        self.padding, self.max_length, self.padding_side = padding, max_length, padding_side
        self.pad_to_multiple_of, self.label_pad_token_id = pad_to_multiple_of, label_pad_token_id
        self.return_attention_mask = return_attention_mask

    def _pad_value(self, key: str) -> Any:
        if key in ("labels", "label_ids"):
            return self.label_pad_token_id
        if key in ("attention_mask", "token_type_ids", "special_tokens_mask"):
            return 0
        return self.pad_token_id

    def __call__(self, features: List[Any]) -> Dict[str, np.ndarray]:
        samples = [_named(f) for f in features]
        keys = _keys(samples)
        arrays = {key: [as_array(s[key], key) for s in samples] for key in keys
                  if all(s[key] is not None for s in samples) and not _is_text(samples[0][key])}
        ids = arrays.get("input_ids")
        id_lengths = [len(a) for a in ids] if ids and all(a.ndim == 1 for a in ids) else None

        def is_sequence(key: str, values: List[np.ndarray]) -> bool:
            if not all(a.ndim == 1 for a in values):
                return False
            return (len({a.shape for a in values}) > 1
                    or key in ("input_ids", "attention_mask", "token_type_ids", "special_tokens_mask")
                    or (id_lengths is not None and [len(a) for a in values] == id_lengths))

        sequences = [k for k, values in arrays.items() if is_sequence(k, values)]
        if ids is not None and "attention_mask" not in arrays and self.return_attention_mask \
                and id_lengths is not None:
            arrays["attention_mask"] = [np.ones(n, dtype=np.int64) for n in id_lengths]
            sequences.append("attention_mask")
        longest = max((len(a) for k in sequences for a in arrays[k]), default=0)
        length = longest
        if self.padding == "max_length":
            if longest > self.max_length:
                raise ValueError(f"DataCollatorWithPadding: a sequence of {longest} is longer than "
                                 f"max_length {self.max_length}; it never truncates (truncate "
                                 f"when tokenizing)")
            length = self.max_length
        if self.pad_to_multiple_of:
            length = -(-length // self.pad_to_multiple_of) * self.pad_to_multiple_of
        batch: Dict[str, np.ndarray] = {}
        for key, values in arrays.items():
            if key not in sequences:
                batch[key] = _stack(values, f"DataCollatorWithPadding: {key!r} has different "
                                            f"shapes ({{shapes}}) and is not a 1-D sequence it "
                                            f"can pad")
                continue
            out = np.full((len(values), length), self._pad_value(key), dtype=values[0].dtype)
            for row, a in enumerate(values):
                start = 0 if self.padding_side == "right" else length - len(a)
                out[row, start:start + len(a)] = a
            batch[key] = out
        return batch

