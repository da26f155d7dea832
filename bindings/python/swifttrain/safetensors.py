"""Reading and writing safetensors files with numpy arrays, with the functions and signatures
of the ``safetensors.numpy`` module::

    from swifttrain.safetensors import load_file, save_file
    save_file({"weight": np.zeros((2, 3), np.float32)}, "model.safetensors", metadata={"format": "pt"})
    tensors = load_file("model.safetensors")          # {"weight": array(...)}
    model.load_state_dict(load_file("model.safetensors"))

The library parses and checks every file (offsets, dtypes, shapes against the file's size),
so a damaged or hostile file raises :class:`swifttrain.CorruptFileError` (a ``ValueError``)
saying what is wrong, never crashes. Files are written atomically. swifttrain tensors
(``model.state_dict()``) may be given wherever arrays are.
"""

from __future__ import annotations

import os
from typing import Any, Dict, Mapping, Optional, Union

import numpy as np

from . import _swifttrain as _C

__all__ = ["load_file", "save_file", "load", "save"]

_DTYPES = {
    "BOOL": np.dtype(np.bool_), "U8": np.dtype("<u1"), "I8": np.dtype("<i1"),
    "U16": np.dtype("<u2"), "I16": np.dtype("<i2"), "F16": np.dtype("<f2"),
    "U32": np.dtype("<u4"), "I32": np.dtype("<i4"), "F32": np.dtype("<f4"),
    "U64": np.dtype("<u8"), "I64": np.dtype("<i8"), "F64": np.dtype("<f8"),
}
_NAMES = {dtype: name for name, dtype in _DTYPES.items()}

PathLike = Union[str, "os.PathLike[str]"]


def _arrays(entries) -> Dict[str, np.ndarray]:
    out: Dict[str, np.ndarray] = {}
    for name, dtype, shape, data in entries:
        if dtype not in _DTYPES:
            raise ValueError(f"safetensors: tensor {name!r} is {dtype}, which numpy has no type "
                             f"for; supported: {', '.join(_DTYPES)}")
        out[name] = np.frombuffer(data, dtype=_DTYPES[dtype]).reshape(shape)
    return out


def _entries(tensors: Mapping[str, Any]):
    if not isinstance(tensors, Mapping):
        raise TypeError(f"safetensors: expected a dict of name -> array, got {type(tensors).__name__}")
    entries = []
    for name, value in tensors.items():
        if not isinstance(name, str):
            raise TypeError(f"safetensors: tensor names must be str, got {type(name).__name__}")
        array = value.detach().numpy() if isinstance(value, _C.Tensor) else value
        if not isinstance(array, np.ndarray):
            raise TypeError(f"safetensors: {name!r} is a {type(value).__name__}; expected a numpy "
                            f"array or a swifttrain Tensor")
        dtype = array.dtype.newbyteorder("<") if array.dtype.byteorder not in "|" else array.dtype
        if dtype not in _NAMES:
            raise ValueError(f"safetensors: {name!r} has dtype {array.dtype}, which safetensors "
                             f"cannot store; use one of bool, (u)int8-64, float16/32/64")
        array = np.asarray(array, dtype=dtype, order="C")  # (ascontiguousarray makes 0-d 1-d)
        entries.append((name, _NAMES[dtype], array.shape, array))
    return entries


def load_file(filename: PathLike) -> Dict[str, np.ndarray]:
    """The tensors of a safetensors file as numpy arrays, by name (in file order)."""
    return _arrays(_C.safetensors_read(os.fspath(filename))[0])


def load(data: bytes) -> Dict[str, np.ndarray]:
    """The tensors of a safetensors file's bytes."""
    return _arrays(_C.safetensors_read(bytes(data))[0])


def save_file(tensor_dict: Mapping[str, Any], filename: PathLike,
              metadata: Optional[Dict[str, str]] = None) -> None:
    """Writes arrays to a safetensors file (atomically), with optional ``metadata``
    (str to str)."""
    _C.safetensors_write(os.fspath(filename), _entries(tensor_dict), metadata)


def save(tensor_dict: Mapping[str, Any], metadata: Optional[Dict[str, str]] = None) -> bytes:
    """The bytes of a safetensors file holding the arrays."""
    return _C.safetensors_write(None, _entries(tensor_dict), metadata)


def metadata_of(filename: PathLike) -> Dict[str, str]:
    """The file's ``__metadata__`` (an addition to the safetensors.numpy functions)."""
    return _C.safetensors_read(os.fspath(filename))[1]
