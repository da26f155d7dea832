"""HuggingFace's ``get_scheduler`` (``transformers.optimization``) over the library's
schedules.

    scheduler = swifttrain.get_scheduler("cosine", optimizer, num_warmup_steps=100,
                                         num_training_steps=1000)

Names, arguments and required-argument errors are HF's; the schedules' formulas are in the
library (``st_lr_schedule``, ``st_plateau``), which also checks
``scheduler_specific_kwargs`` (unknown keys and bad values raise ``ValueError`` naming
them).
"""

from __future__ import annotations

import enum
import numbers
from typing import Any, Dict, Optional, Union

from . import _swifttrain as _C
from ._options import options_text
from .optim import Optimizer
from .optim.lr_scheduler import LambdaLR, LRScheduler, ReduceLROnPlateau, _check_optimizer

__all__ = ["SchedulerType", "get_scheduler"]


class SchedulerType(str, enum.Enum):
    """The names :func:`get_scheduler` accepts (HF's ``SchedulerType`` without ``greedy``
    and ``cosine_warmup_with_min_lr``, which the library does not implement)."""

    LINEAR = "linear"
    COSINE = "cosine"
    COSINE_WITH_RESTARTS = "cosine_with_restarts"
    POLYNOMIAL = "polynomial"
    CONSTANT = "constant"
    CONSTANT_WITH_WARMUP = "constant_with_warmup"
    INVERSE_SQRT = "inverse_sqrt"
    REDUCE_ON_PLATEAU = "reduce_lr_on_plateau"
    COSINE_WITH_MIN_LR = "cosine_with_min_lr"
    WARMUP_STABLE_DECAY = "warmup_stable_decay"


_KINDS = _C.enum_names("lr_scheduler")  # st_lr_scheduler, by the library's names


def _steps(name: str, what: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or value != int(value):
        raise ValueError(f"{name}: {what} must be a whole number of steps, got {value!r}")
    return int(value)


def get_scheduler(name: Union[str, SchedulerType], optimizer: Optimizer,
                  num_warmup_steps: Optional[int] = None,
                  num_training_steps: Optional[int] = None,
                  scheduler_specific_kwargs: Optional[Dict[str, Any]] = None) -> LRScheduler:
    """A learning-rate scheduler by HF name for a :mod:`swifttrain.optim` optimizer.

    ``linear``, ``cosine``, ``cosine_with_restarts``, ``polynomial`` and
    ``cosine_with_min_lr`` need ``num_warmup_steps`` and ``num_training_steps``;
    ``constant_with_warmup`` and ``inverse_sqrt`` need ``num_warmup_steps``;
    ``warmup_stable_decay`` needs ``num_warmup_steps`` and ``num_training_steps`` unless
    ``scheduler_specific_kwargs`` gives ``num_stable_steps``; ``constant`` and
    ``reduce_lr_on_plateau`` need neither. ``scheduler_specific_kwargs`` holds the
    schedule's options (``num_cycles``, ``power``, ``lr_end``, ``timescale``, ``min_lr`` /
    ``min_lr_rate``, ``num_decay_steps``, ..., or ReduceLROnPlateau's arguments).

    Returns a ``LambdaLR`` (step it after each ``optimizer.step()``) or, for
    ``reduce_lr_on_plateau``, a ``ReduceLROnPlateau`` (step it with each evaluation's
    metric). As in HF, polynomial's ``lr_end`` and cosine_with_min_lr's ``min_lr`` are
    relative to ``optimizer.defaults["lr"]``.
    """
    _check_optimizer(optimizer)
    try:
        name = SchedulerType(name).value
    except ValueError:
        raise ValueError(f"{name!r} is not a valid SchedulerType, please select one of "
                         f"{[member.value for member in SchedulerType]}") from None
    kwargs = options_text("scheduler_specific_kwargs", scheduler_specific_kwargs)
    initial_lr = float(optimizer.defaults["lr"])
    if name == "reduce_lr_on_plateau":
        return ReduceLROnPlateau._from_options(optimizer, kwargs)
    if name == "constant":
        # HF calls get_constant_schedule(optimizer): warmup and options are not used.
        return LambdaLR(optimizer, _C.LRSchedule(_KINDS[name], 0, 0, None, initial_lr).factor)
    if num_warmup_steps is None:
        raise ValueError(f"{name} requires `num_warmup_steps`, please provide that argument.")
    warmup = _steps(name, "num_warmup_steps", num_warmup_steps)
    if name == "constant_with_warmup":
        kwargs = None  # HF passes only num_warmup_steps
    needs_total = name not in ("constant_with_warmup", "inverse_sqrt", "warmup_stable_decay")
    if name == "warmup_stable_decay" and "num_stable_steps" not in (scheduler_specific_kwargs
                                                                    or {}):
        needs_total = True
    if needs_total and num_training_steps is None:
        raise ValueError(f"{name} requires `num_training_steps`, please provide that argument.")
    total = 0 if num_training_steps is None else _steps(name, "num_training_steps",
                                                        num_training_steps)
    # the library schedule as a function of the step (st_lr_schedule_factor)
    factor = _C.LRSchedule(_KINDS[name], warmup, total, kwargs, initial_lr).factor
    return LambdaLR(optimizer, factor)
