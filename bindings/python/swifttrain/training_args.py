"""``TrainingArguments``: HuggingFace's names and defaults for what the library implements.

The library parses and checks every value: each field that the library knows is passed to
``st_training_args_set`` by its name as a string, then ``st_training_args_validate`` runs,
so a bad value raises :class:`swifttrain.InvalidArgumentError` (a ``ValueError``) when the
object is made, with the library's message naming the argument. A field left at ``None``
keeps the library's default, which is HF's meaning of ``None`` for ``eval_steps`` (use
``logging_steps``) and ``data_seed`` (use ``seed``).

The arguments are read when a :class:`swifttrain.Trainer` is created.
"""

from __future__ import annotations

import dataclasses
import enum
import numbers
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Union

import numpy as np

from . import _swifttrain as _C

__all__ = ["TrainingArguments"]

# Fields only the Python side uses; every other field is passed to the library.
_PYTHON_ONLY = {"python_only": True}


def _as_text(name: str, value: Any) -> str:
    """The string form ``st_training_args_set`` parses."""
    if isinstance(value, enum.Enum):
        value = value.value
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, numbers.Real):
        return repr(float(value))
    if isinstance(value, str):
        return value
    raise TypeError(f"TrainingArguments.{name}: expected a number, a bool or a string, "
                    f"got {type(value).__name__} {value!r}")


@dataclass
class TrainingArguments:
    """The arguments of a training run, named and defaulted as HuggingFace's
    ``transformers.TrainingArguments`` (v5).

    ``optim`` accepts ``"adamw"``, ``"adamw_torch"``, ``"adamw_torch_fused"`` (all AdamW)
    and ``"sgd"`` (with ``sgd_momentum``, a swifttrain addition); ``lr_scheduler_type``
    ``"linear"`` or ``"constant"`` / ``"constant_with_warmup"``; the strategies ``"no"``,
    ``"steps"`` or ``"epoch"``.
    """

    output_dir: Optional[str] = field(default=None, metadata=_PYTHON_ONLY)
    eval_strategy: str = "no"
    per_device_train_batch_size: int = 8
    per_device_eval_batch_size: int = 8
    learning_rate: float = 5e-5
    weight_decay: float = 0.0
    adam_beta1: float = 0.9
    adam_beta2: float = 0.999
    adam_epsilon: float = 1e-8
    sgd_momentum: float = 0.0
    max_grad_norm: float = 1.0
    num_train_epochs: float = 3.0
    max_steps: int = -1
    lr_scheduler_type: str = "linear"
    warmup_steps: int = 0
    logging_strategy: str = "steps"
    logging_first_step: bool = False
    logging_steps: int = 500
    eval_steps: Optional[int] = None
    seed: int = 42
    data_seed: Optional[int] = None
    dataloader_drop_last: bool = False
    disable_tqdm: Optional[bool] = field(default=None, metadata=_PYTHON_ONLY)
    optim: str = "adamw_torch"
    report_to: Union[None, str, List[str]] = field(default="none", metadata=_PYTHON_ONLY)

    def __post_init__(self) -> None:
        if self.output_dir is None:
            self.output_dir = "trainer_output"
        if self.disable_tqdm is None:
            self.disable_tqdm = False
        reports = [self.report_to] if isinstance(self.report_to, str) else (self.report_to or [])
        unknown = [name for name in reports if name not in ("none", "all")]
        if unknown:
            raise ValueError(f"TrainingArguments.report_to={self.report_to!r}: swifttrain has "
                             f"no reporting integrations; use report_to='none'")
        self.to_core()

    def to_core(self) -> _C.TrainingArgs:
        """The library's ``st_training_args`` for these values, validated by the library."""
        core = _C.TrainingArgs()
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.metadata.get("python_only") or value is None:
                continue
            core.set(f.name, _as_text(f.name, value))
        core.validate()
        return core

    def to_dict(self) -> Dict[str, Any]:
        """The arguments as a plain dict (HF's ``to_dict``)."""
        return dataclasses.asdict(self)
