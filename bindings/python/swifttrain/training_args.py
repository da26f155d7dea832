"""``TrainingArguments``: every field of HuggingFace's, with HF's names and defaults.

The library owns the table of arguments, every default and every rule: the fields, their
types, defaults and categories are read from it at import (``st_training_args_fields``), and
the fields that differ from the library's values are sent to it in one call
(``st_training_args_update``), which parses and checks every value, so a bad value raises
:class:`swifttrain.InvalidArgumentError` (a ``ValueError``) when the object is made, with the
library's message naming the argument. A field HF defaults to ``None`` keeps the library's
default when left ``None`` (``eval_steps``: ``logging_steps``; ``data_seed``: ``seed``).

Every HF field is one of: honoured; accepted with no effect on a CPU (kept, so the saved
``training_args.json`` holds it); refused at any value but HF's default, with the reason
(``fp16=True``). An unknown name raises ``TypeError`` with the nearest name.
docs/training-arguments.md has the table.

The arguments are read when a :class:`swifttrain.Trainer` is created.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import json
import logging
import os
from dataclasses import field
from typing import Any, Dict, List, Optional, Union

from . import _swifttrain as _C
from ._options import options_text, spelled

__all__ = ["TrainingArguments"]

# The library's values of fresh arguments by HF name (enums by name, None as None).
_LIBRARY: Dict[str, Any] = _C.TrainingArgs().as_dict()
# The library's table: every argument in order (HF's fields, then swifttrain's additions).
_FIELDS: List[Dict[str, Any]] = _C.TrainingArgs.fields()

# The Python annotation of each kind the library names.
_TYPES = {"bool": bool, "int": int, "float": float, "number": Union[int, float], "str": str,
          "list": Union[str, List[str]], "dict": Union[Dict[str, Any], str]}

# Fields only the Python side uses; every other field is passed to the library.
_PYTHON_ONLY = {"python_only": True}


def _default(entry: Dict[str, Any]) -> Any:
    """The field's default (HF's) as its kind types it: a whole number as int for int and
    number (HF's steps), a float for float."""
    value = entry["default"]
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if entry["kind"] == "float":
            return float(value)
        if float(value).is_integer() and entry["kind"] in ("int", "number"):
            return int(value)
    return value


def _as_text(name: str, value: Any) -> str:
    """The string form ``st_training_args_update`` parses: lists as JSON, dicts as the
    library's ``"key=value,..."``."""
    if isinstance(value, enum.Enum):
        value = value.value
    if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        return json.dumps(list(value))
    if isinstance(value, dict):
        return options_text(f"TrainingArguments.{name}", value)
    text = spelled(value)
    if text is None:
        raise TypeError(f"TrainingArguments.{name}: expected a number, a bool, a string, a list "
                        f"of strings or a dict, got {type(value).__name__} {value!r}")
    return text


_DOC = """The arguments of a training run, named and defaulted as HuggingFace's
``transformers.TrainingArguments`` (v5), plus a few additions.

* ``optim``: HF's names ``adamw_torch_fused`` (HF's default), ``adamw_torch``, ``sgd``,
  ``adagrad``, ``rmsprop``, ``lion_32bit``, and swifttrain's ``adam`` and ``adadelta``
  (every name the library takes: {optimizers}; the saved ``training_args.json`` spells
  them as HF does). ``sgd`` takes its momentum from ``sgd_momentum`` (a swifttrain
  addition) or ``optim_args``; further options in
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
  (``None``: 4) is the gradient size summed in one message after the backward pass, a
  larger model sums each gradient during it.

Every field of HF's ``TrainingArguments`` is here with HF's default (the additions with the
library's), shown in the signature; the ones swifttrain cannot honour (``fp16``, ``deepspeed``,
...) take only HF's default and raise ``ValueError`` with the reason otherwise, and the ones
with no effect on a CPU (``dataloader_num_workers``, ``torch_compile``, ...) are kept as given.
``report_to="all"`` means every integration swifttrain has: TensorBoard.

Dict arguments reach the library as ``"key=value,..."`` strings. Every value is checked
by the library: a bad one raises ``ValueError`` (:class:`swifttrain.InvalidArgumentError`)
with its message naming the argument, when the object is made or, for what depends on
the run (warmup against the number of steps, unknown scheduler options), when training
starts.
"""


class _Methods:
    """The methods of TrainingArguments, whose fields come from the library's table."""

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
        level = self.get_process_log_level()
        if level >= 0:
            logging.getLogger("swifttrain").setLevel(level)

    def get_process_log_level(self) -> int:
        """The ``logging`` level of ``log_level`` (HF's): -1 for ``"passive"`` (left as it
        is). swifttrain sets it on the ``"swifttrain"`` logger when the arguments are made."""
        if self.log_level == "passive":
            return -1
        return logging.DEBUG if self.log_level == "detail" else logging.getLevelName(self.log_level.upper())

    def to_core(self) -> _C.TrainingArgs:
        """The library's ``st_training_args`` for these values, validated by the library:
        the fields that differ from its values go to it in one call."""
        given: Dict[str, str] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.metadata.get("python_only") or value is None:
                continue
            library = _LIBRARY.get(f.name)
            if type(value) is type(library) and value == library:
                continue
            given[f.name] = _as_text(f.name, value)
        core = _C.TrainingArgs()
        core.update(given)
        return core

    def to_dict(self) -> Dict[str, Any]:
        """The arguments as a plain dict (HF's ``to_dict``)."""
        return dataclasses.asdict(self)

    def to_json_string(self) -> str:
        """The arguments as JSON (HF's ``to_json_string``)."""
        return json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n"


def _field(entry: Dict[str, Any]):
    default = _default(entry)
    annotation = _TYPES[entry["kind"]]
    if entry["optional"]:
        annotation = Optional[annotation]
    if isinstance(default, (list, dict)):
        return entry["name"], annotation, field(default_factory=functools.partial(type(default), default))
    return entry["name"], annotation, field(default=default)


TrainingArguments = dataclasses.make_dataclass(
    "TrainingArguments",
    [_field(entry) for entry in _FIELDS]
    + [("save_safetensors", bool, field(default=True, metadata=_PYTHON_ONLY))],
    bases=(_Methods,))
TrainingArguments.__module__ = __name__
_FIELD_NAMES = frozenset(f.name for f in dataclasses.fields(TrainingArguments))
_dataclass_init = TrainingArguments.__init__


@functools.wraps(_dataclass_init)
def _init(self, *args: Any, **kwargs: Any) -> None:
    for name in [n for n in kwargs if n not in _FIELD_NAMES]:
        # another name the library takes (HF v4's evaluation_strategy, AllenNLP's patience and
        # validation_metric) sets the fields it sets there; else the library names the nearest
        core = _C.TrainingArgs()
        try:
            core.set(name, _as_text(name, kwargs[name]))
        except (ValueError, TypeError) as error:
            if "unknown training argument" in str(error):
                raise TypeError(f"TrainingArguments: {error}") from None
            if isinstance(error, ValueError):
                raise
            raise TypeError(f"TrainingArguments.__init__() got an unexpected keyword argument '{name}'") from None
        del kwargs[name]
        for field_name, value in core.as_dict().items():
            if value != _LIBRARY.get(field_name) and field_name in _FIELD_NAMES:
                kwargs.setdefault(field_name, value)
    _dataclass_init(self, *args, **kwargs)


TrainingArguments.__init__ = _init


def _names(kind: str) -> str:
    return ", ".join(f"``{name}``" for name in _C.enum_names(kind))


# the names in the class documentation are the library's
TrainingArguments.__doc__ = _DOC.replace(
    "{optimizers}", _names("optimizer")).replace("{schedulers}", _names("lr_scheduler"))
