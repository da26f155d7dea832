"""``TrainingArguments``: HuggingFace's names and defaults for what the library implements.

The library owns every default and every rule: the defaults below are read from it at import
(``st_training_args_json`` of fresh arguments), and the fields that differ from them are
sent to it in one call (``st_training_args_update``), which parses and checks every value,
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
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Union

from . import _swifttrain as _C
from ._options import options_text, spelled

__all__ = ["TrainingArguments"]

# The library's defaults by HF name (enums by name).
_LIBRARY: Dict[str, Any] = _C.TrainingArgs().as_dict()


def _default(name: str) -> Any:
    """The library's default of ``name``, a whole number as int (HF types steps as int)."""
    value = _LIBRARY[name]
    if isinstance(value, float) and value.is_integer() and name.endswith("_steps"):
        return int(value)
    return value


# Fields only the Python side uses; every other field is passed to the library.
_PYTHON_ONLY = {"python_only": True}
# Dict fields, passed as the library's "key=value,..." option strings.
_OPTIONS = {"options": True}


def _as_text(name: str, value: Any) -> str:
    """The string form ``st_training_args_update`` parses."""
    if isinstance(value, enum.Enum):
        value = value.value
    if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        return ",".join(value)
    text = spelled(value) if value is not None else None
    if text is None:
        raise TypeError(f"TrainingArguments.{name}: expected a number, a bool or a string, "
                        f"got {type(value).__name__} {value!r}")
    return text


@dataclass
class TrainingArguments:
    """The arguments of a training run, named and defaulted as HuggingFace's
    ``transformers.TrainingArguments`` (v5), plus a few additions.

    * ``optim``: one of the library's optimizer names, {optimizers} (``sgd`` takes its
      momentum from ``sgd_momentum``, a swifttrain addition); further options in
      ``optim_args`` as HF's ``"key=value,..."`` string (``"momentum=0.9,nesterov=true"``,
      ``"amsgrad=true"``, ``"alpha=0.9,centered=true"``, ...).
    * ``lr_scheduler_type``: HF's ``get_scheduler`` names and the additions ``step`` and
      ``exponential``: {schedulers}; options in the dict ``lr_scheduler_kwargs``.
    * Warmup: ``warmup_steps`` (a value below 1 is a ratio of the total steps, as HF v5) or
      ``warmup_ratio`` (HF v4); a warmup that is not shorter than training is an error.
    * ``gradient_accumulation_steps`` as HF; the additions ``max_micro_batch_size`` (split
      larger batches into pieces with the same update), ``max_grad_value`` (clamp every
      gradient element), ``nonfinite_grad_norm`` (``"error"`` or ``"skip"``),
      ``ema_decay`` (a moving average of the weights used for evaluation and prediction),
      ``momentum_scheduler_type`` (``"none"`` or ``"inverted_triangular"``, options in
      ``momentum_scheduler_kwargs``).
    * ``metric_for_best_model`` (by default the evaluation loss): what
      ``reduce_lr_on_plateau`` follows.
    * Data and labels as HF: ``label_names`` (the batch entries that are labels),
      ``label_smoothing_factor`` (of the built-in cross-entropy),
      ``remove_unused_columns`` (drop dataset columns the model's forward does not take),
      ``ignore_data_skip`` (a resumed iterable dataset starts its epoch over instead of
      skipping the batches already used), and the addition ``dataloader_shuffle``
      (AllenNLP's ``shuffle``: False feeds the training set in order every epoch).
    * The strategies ``"no"``, ``"steps"`` or ``"epoch"`` (``save_strategy`` also
      ``"best"``). As HF, checkpoints are written by default: every ``save_steps`` steps
      and at the last step, into ``output_dir/checkpoint-<step>/``; ``save_strategy="no"``
      turns them off. ``save_total_limit`` keeps that many, never deleting the best one.
    * ``report_to="tensorboard"`` (or ``"all"``) writes TensorBoard event files, written by
      the library (no TensorFlow or PyTorch needed): a scalar for every logged value, under
      ``logging_dir`` (HF's default ``output_dir/runs/<date>_<host>``).
    * ``ddp_backend`` (HF's): data-parallel training across processes. Left ``None``, a
      script started with ``mpirun -np N`` (N > 1) trains over MPI, each process on its
      share of every batch; ``"mpi"`` asks for it, ``"none"`` trains alone
      (docs/distributed.md). ``ddp_timeout`` (seconds, HF's 1800) ends the job when a
      collective makes no progress that long (a hung process); ``ddp_bucket_cap_mb``
      (``None``: 4) is the gradient size summed in one message after the backward pass,
      a larger model sums each gradient during it.

    Every default is the library's (HF's), shown in the signature.

    Dict arguments reach the library as ``"key=value,..."`` strings. Every value is checked
    by the library: a bad one raises ``ValueError`` (:class:`swifttrain.InvalidArgumentError`)
    with its message naming the argument, when the object is made or, for what depends on
    the run (warmup against the number of steps, unknown scheduler options), when training
    starts.
    """

    output_dir: Optional[str] = None
    eval_strategy: str = _default("eval_strategy")
    per_device_train_batch_size: int = _default("per_device_train_batch_size")
    per_device_eval_batch_size: int = _default("per_device_eval_batch_size")
    gradient_accumulation_steps: int = _default("gradient_accumulation_steps")
    max_micro_batch_size: int = _default("max_micro_batch_size")
    learning_rate: float = _default("learning_rate")
    weight_decay: float = _default("weight_decay")
    adam_beta1: float = _default("adam_beta1")
    adam_beta2: float = _default("adam_beta2")
    adam_epsilon: float = _default("adam_epsilon")
    sgd_momentum: float = _default("sgd_momentum")
    max_grad_norm: float = _default("max_grad_norm")
    max_grad_value: float = _default("max_grad_value")
    nonfinite_grad_norm: str = _default("nonfinite_grad_norm")
    num_train_epochs: float = _default("num_train_epochs")
    max_steps: int = _default("max_steps")
    lr_scheduler_type: str = _default("lr_scheduler_type")
    lr_scheduler_kwargs: Union[Dict[str, Any], str] = field(default_factory=dict,
                                                            metadata=_OPTIONS)
    warmup_ratio: float = _default("warmup_ratio")
    warmup_steps: Union[int, float] = _default("warmup_steps")
    ema_decay: float = _default("ema_decay")
    momentum_scheduler_type: str = _default("momentum_scheduler_type")
    momentum_scheduler_kwargs: Union[Dict[str, Any], str] = field(default_factory=dict,
                                                                  metadata=_OPTIONS)
    logging_strategy: str = _default("logging_strategy")
    logging_first_step: bool = _default("logging_first_step")
    logging_steps: Union[int, float] = _default("logging_steps")
    logging_nan_inf_filter: bool = _default("logging_nan_inf_filter")
    eval_steps: Optional[Union[int, float]] = None
    eval_delay: float = _default("eval_delay")
    eval_on_start: bool = _default("eval_on_start")
    metric_for_best_model: Optional[str] = None
    greater_is_better: Optional[bool] = None
    load_best_model_at_end: bool = _default("load_best_model_at_end")
    early_stopping_patience: int = _default("early_stopping_patience")
    early_stopping_threshold: float = _default("early_stopping_threshold")
    save_strategy: str = _default("save_strategy")
    save_steps: Union[int, float] = _default("save_steps")
    save_total_limit: Optional[int] = None
    save_only_model: bool = _default("save_only_model")
    save_safetensors: bool = field(default=True, metadata=_PYTHON_ONLY)
    seed: int = _default("seed")
    data_seed: Optional[int] = None
    dataloader_drop_last: bool = _default("dataloader_drop_last")
    dataloader_shuffle: bool = _default("dataloader_shuffle")
    ignore_data_skip: bool = _default("ignore_data_skip")
    label_names: Optional[List[str]] = None
    label_smoothing_factor: float = _default("label_smoothing_factor")
    remove_unused_columns: bool = field(default=True, metadata=_PYTHON_ONLY)
    disable_tqdm: Optional[bool] = field(default=None, metadata=_PYTHON_ONLY)
    optim: str = _default("optim")
    optim_args: Optional[str] = None
    report_to: Union[str, List[str]] = _default("report_to")
    logging_dir: Optional[str] = None
    ddp_backend: Optional[str] = None
    ddp_timeout: int = _default("ddp_timeout")
    ddp_bucket_cap_mb: Optional[int] = None

    def __post_init__(self) -> None:
        if self.output_dir is None:
            self.output_dir = _LIBRARY["output_dir"]
        self.output_dir = os.fspath(self.output_dir)
        if self.disable_tqdm is None:
            self.disable_tqdm = False
        if not self.save_safetensors:
            raise ValueError("TrainingArguments.save_safetensors=False: swifttrain writes safetensors "
                             "only (never pickles); leave it True")
        self.to_core()

    def to_core(self) -> _C.TrainingArgs:
        """The library's ``st_training_args`` for these values, validated by the library:
        the fields that differ from its defaults go to it in one call."""
        given: Dict[str, str] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.metadata.get("python_only") or value is None:
                continue
            if f.metadata.get("options"):
                text = options_text(f"TrainingArguments.{f.name}", value)
            else:
                text = _as_text(f.name, value)
            default = _LIBRARY[f.name]
            if default is None or text != _as_text(f.name, default):
                given[f.name] = text
        core = _C.TrainingArgs()
        core.update(given)
        return core

    def to_dict(self) -> Dict[str, Any]:
        """The arguments as a plain dict (HF's ``to_dict``)."""
        return dataclasses.asdict(self)


def _names(kind: str) -> str:
    return ", ".join(f"``{name}``" for name in _C.enum_names(kind))


# the names in the class documentation are the library's
TrainingArguments.__doc__ = TrainingArguments.__doc__.replace(
    "{optimizers}", _names("optimizer")).replace("{schedulers}", _names("lr_scheduler"))
