"""``swifttrain.nn.utils``: torch.nn.utils' gradient clipping over the library's
``st_clip_grad_norm`` / ``st_clip_grad_value`` (the numbers are the library's).

    loss.backward()
    nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
    optimizer.step()
"""

from __future__ import annotations

import math
from typing import Any, Iterable, List, Union

from . import _swifttrain as _C
from ._tensor import Tensor, tensor, float32

__all__ = ["clip_grad_norm_", "clip_grad_value_"]


def _tensors(parameters: Union[Tensor, Iterable[Tensor]], what: str) -> List[Tensor]:
    if isinstance(parameters, _C.Tensor):
        return [parameters]
    params = list(parameters)
    for i, p in enumerate(params):
        if not isinstance(p, _C.Tensor):
            raise TypeError(f"{what}: parameters must be tensors, item {i} is a "
                            f"{type(p).__name__}")
    return params


def clip_grad_norm_(parameters: Union[Tensor, Iterable[Tensor]], max_norm: float,
                    norm_type: Union[float, str] = 2.0, error_if_nonfinite: bool = False,
                    foreach: Any = None) -> Tensor:
    """Scales the gradients of ``parameters`` together, in place, so that their total
    ``norm_type``-norm (2, any p > 0, or ``inf``) is at most ``max_norm``, by
    ``max_norm / (norm + 1e-6)`` when that is below 1 (torch.nn.utils.clip_grad_norm_).
    Parameters without a gradient are skipped. Returns the total norm before clipping, a
    0-d tensor. With ``error_if_nonfinite``, a NaN or infinite norm raises and nothing
    changes. ``foreach`` is accepted and has no effect (one loop in the library)."""
    norm_type = float("inf") if norm_type in ("inf", math.inf) else float(norm_type)
    norm = _C.clip_grad_norm(_tensors(parameters, "clip_grad_norm_"), float(max_norm),
                             norm_type, bool(error_if_nonfinite))
    return tensor(norm, dtype=float32)


def clip_grad_value_(parameters: Union[Tensor, Iterable[Tensor]], clip_value: float,
                     foreach: Any = None) -> None:
    """Limits every gradient element of ``parameters`` to ``[-clip_value, clip_value]``, in
    place (torch.nn.utils.clip_grad_value_). ``foreach`` is accepted and has no effect."""
    _C.clip_grad_value(_tensors(parameters, "clip_grad_value_"), float(clip_value))
