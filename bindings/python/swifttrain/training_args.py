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
import os
import numbers
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Union

import numpy as np

from . import _swifttrain as _C
from ._options import options_text

__all__ = ["TrainingArguments"]

# Fields only the Python side uses; every other field is passed to the library.
_PYTHON_ONLY = {"python_only": True}
# Dict fields, passed as the library's "key=value,..." option strings.
_OPTIONS = {"options": True}


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
    if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        return ",".join(value)
    raise TypeError(f"TrainingArguments.{name}: expected a number, a bool or a string, "
                    f"got {type(value).__name__} {value!r}")


@dataclass
class TrainingArguments:
    """The arguments of a training run, named and defaulted as HuggingFace's
    ``transformers.TrainingArguments`` (v5), plus a few additions.

    * ``optim``: ``"adamw"`` / ``"adamw_torch"`` / ``"adamw_torch_fused"`` (AdamW),
      ``"adam"``, ``"sgd"`` (momentum ``sgd_momentum``, a swifttrain addition),
      ``"adagrad"``, ``"rmsprop"``, ``"adadelta"``, ``"lion"`` / ``"lion_32bit"``; further
      options in ``optim_args`` as HF's ``"key=value,..."`` string (``"momentum=0.9,
      nesterov=true"``, ``"amsgrad=true"``, ``"alpha=0.9,centered=true"``, ...).
    * ``lr_scheduler_type``: HF's ``get_scheduler`` names (``"linear"``, ``"cosine"``,
      ``"cosine_with_restarts"``, ``"polynomial"``, ``"constant"``,
      ``"constant_with_warmup"``, ``"inverse_sqrt"``, ``"reduce_lr_on_plateau"``,
      ``"cosine_with_min_lr"``, ``"warmup_stable_decay"``) and ``"step"`` /
      ``"exponential"``; options in the dict ``lr_scheduler_kwargs``.
    * Warmup: ``warmup_steps`` (a value below 1 is a ratio of the total steps, as HF v5) or
      ``warmup_ratio`` (HF v4); a warmup that is not shorter than training is an error.
    * ``gradient_accumulation_steps`` as HF; the additions ``max_micro_batch_size`` (split
      larger batches into pieces with the same update), ``max_grad_value`` (clamp every
      gradient element), ``nonfinite_grad_norm`` (``"error"`` or ``"skip"``),
      ``ema_decay`` (a moving average of the weights used for evaluation and prediction),
      ``momentum_scheduler_type`` (``"none"`` or ``"inverted_triangular"``, options in
      ``momentum_scheduler_kwargs``).
    * ``metric_for_best_model`` (default ``eval_loss``): what ``reduce_lr_on_plateau``
      follows.
    * Data and labels as HF: ``label_names`` (the batch entries that are labels, default
      ``["labels"]``), ``label_smoothing_factor`` (of the built-in cross-entropy),
      ``remove_unused_columns`` (drop dataset columns the model's forward does not take),
      ``ignore_data_skip`` (a resumed iterable dataset starts its epoch over instead of
      skipping the batches already used), and the addition ``dataloader_shuffle``
      (AllenNLP's ``shuffle``: False feeds the training set in order every epoch).
    * The strategies ``"no"``, ``"steps"`` or ``"epoch"`` (``save_strategy`` also
      ``"best"``). As HF, checkpoints are written by default: every ``save_steps`` (500)
      steps and at the last step, into ``output_dir/checkpoint-<step>/``
      (``output_dir`` is ``"trainer_output"`` by default); ``save_strategy="no"`` turns
      them off. ``save_total_limit`` keeps that many, never deleting the best one.

    Dict arguments reach the library as ``"key=value,..."`` strings. Every value is checked
    by the library: a bad one raises ``ValueError`` (:class:`swifttrain.InvalidArgumentError`)
    with its message naming the argument, when the object is made or, for what depends on
    the run (warmup against the number of steps, unknown scheduler options), when training
    starts.
    """

    output_dir: Optional[str] = None
    eval_strategy: str = "no"
    per_device_train_batch_size: int = 8
    per_device_eval_batch_size: int = 8
    gradient_accumulation_steps: int = 1
    max_micro_batch_size: int = 0
    learning_rate: float = 5e-5
    weight_decay: float = 0.0
    adam_beta1: float = 0.9
    adam_beta2: float = 0.999
    adam_epsilon: float = 1e-8
    sgd_momentum: float = 0.0
    max_grad_norm: float = 1.0
    max_grad_value: float = 0.0
    nonfinite_grad_norm: str = "error"
    num_train_epochs: float = 3.0
    max_steps: int = -1
    lr_scheduler_type: str = "linear"
    lr_scheduler_kwargs: Union[Dict[str, Any], str] = field(default_factory=dict,
                                                            metadata=_OPTIONS)
    warmup_ratio: float = 0.0
    warmup_steps: Union[int, float] = 0
    ema_decay: float = 0.0
    momentum_scheduler_type: str = "none"
    momentum_scheduler_kwargs: Union[Dict[str, Any], str] = field(default_factory=dict,
                                                                  metadata=_OPTIONS)
    logging_strategy: str = "steps"
    logging_first_step: bool = False
    logging_steps: Union[int, float] = 500
    logging_nan_inf_filter: bool = True
    eval_steps: Optional[Union[int, float]] = None
    eval_delay: float = 0
    eval_on_start: bool = False
    metric_for_best_model: Optional[str] = None
    greater_is_better: Optional[bool] = None
    load_best_model_at_end: bool = False
    early_stopping_patience: int = 0
    early_stopping_threshold: float = 0.0
    save_strategy: str = "steps"
    save_steps: Union[int, float] = 500
    save_total_limit: Optional[int] = None
    save_only_model: bool = False
    save_safetensors: bool = field(default=True, metadata=_PYTHON_ONLY)
    seed: int = 42
    data_seed: Optional[int] = None
    dataloader_drop_last: bool = False
    dataloader_shuffle: bool = True
    ignore_data_skip: bool = False
    label_names: Optional[List[str]] = None
    label_smoothing_factor: float = 0.0
    remove_unused_columns: bool = field(default=True, metadata=_PYTHON_ONLY)
    disable_tqdm: Optional[bool] = field(default=None, metadata=_PYTHON_ONLY)
    optim: str = "adamw_torch"
    optim_args: Optional[str] = None
    report_to: Union[None, str, List[str]] = field(default="none", metadata=_PYTHON_ONLY)

    def __post_init__(self) -> None:
        if self.output_dir is None:
            self.output_dir = "trainer_output"
        self.output_dir = os.fspath(self.output_dir)
        if self.disable_tqdm is None:
            self.disable_tqdm = False
        if not self.save_safetensors:
            raise ValueError("TrainingArguments.save_safetensors=False: swifttrain writes safetensors "
                             "only (never pickles); leave it True")
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
            if f.metadata.get("options"):
                core.set(f.name, options_text(f"TrainingArguments.{f.name}", value))
            else:
                core.set(f.name, _as_text(f.name, value))
        core.validate()
        return core

    def to_dict(self) -> Dict[str, Any]:
        """The arguments as a plain dict (HF's ``to_dict``)."""
        return dataclasses.asdict(self)
