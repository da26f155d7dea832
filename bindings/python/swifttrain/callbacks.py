"""Callbacks, as HuggingFace's ``trainer_callback.py``: ``TrainerState``, ``TrainerControl``,
``TrainerCallback`` and the default ``ProgressCallback`` / ``PrinterCallback``; plus
``TerminateOnNaNCallback`` (Keras' TerminateOnNaN) and ``MetricsLoggerCallback`` (metrics to
a JSON Lines or CSV file), which the library runs itself (no Python code per event).

The library fires the events and decides logging, evaluation and stopping (HF's
``DefaultFlowCallback`` lives in the core); a Python callback sees the state, may change the
``TrainerControl`` flags, and gets ``model=...`` plus ``logs=...`` in ``on_log`` and
``metrics=...`` in ``on_evaluate`` as keyword arguments.
"""

from __future__ import annotations

import copy
import functools
import json
import sys
from dataclasses import dataclass
import numbers
import os
from typing import Any, Callable, Dict, List, Optional, Tuple, Union

from . import _swifttrain as _C
from ._progress_bar import bars_shown, make_bar

__all__ = ["TrainerState", "TrainerControl", "TrainerCallback", "ProgressCallback",
           "PrinterCallback", "EarlyStoppingCallback", "TerminateOnNaNCallback",
           "MetricsLoggerCallback"]


class TrainerState(_C.TrainerStateBase):
    """The trainer's state as callbacks see it; one step is one optimizer update.

    The numbers come from the library at every event: ``epoch`` (fractional),
    ``global_step``, ``max_steps``, ``num_train_epochs``, ``train_batch_size``,
    ``logging_steps``, ``eval_steps``, and, as swifttrain additions, ``loss`` (of the last
    step), ``learning_rate`` (of the next step) and ``grad_norm`` (of the last step, before
    clipping), ``micro_step``, ``skipped_steps``; ``best_metric`` and ``best_global_step``
    too. ``log_history`` is read from the library each time it is accessed. In
    data-parallel training (``mpirun -np N``, docs/distributed.md) ``is_world_process_zero``
    and ``is_local_process_zero`` are HF's, and the additions ``world_size`` and
    ``process_index`` say how many processes train and which one this is (HF has them on
    its ``TrainingArguments``). The fields about hyper-parameter search keep HF's defaults.

    The trainer's state is one object, updated at every event as HF's is: a callback that
    keeps it sees the values of the latest event (``copy.deepcopy(state)`` keeps a snapshot).
    The library's fields live in the C base class, made into Python values when read; a
    value assigned to one lasts until the next event.
    """

    # Given by the library at every event besides HF's fields (None in a state made here).
    _ADDITIONS = ("loss", "learning_rate", "grad_norm", "micro_step", "skipped_steps")

    def __init__(self, **fields: Any) -> None:
        """HF's fields (``epoch=``, ``global_step=``, ...) with the library's values of a
        state before training as defaults. Unlike HF's ``TrainerState()`` (``epoch=None``,
        ``logging_steps=500``, ...), these are the values a trainer's state has before its
        first ``train()`` (``epoch=0.0``, ``logging_steps=0``, ...): one source for both."""
        defaults = _hf_defaults()
        unknown = sorted(set(fields) - set(defaults))
        if unknown:
            raise TypeError(f"TrainerState() got unexpected keyword arguments {unknown}; "
                            f"the fields are {sorted(defaults)}")
        history = list(fields.pop("log_history", None) or [])
        for name, value in {**defaults, **fields}.items():
            if name != "log_history":
                setattr(self, name, copy.deepcopy(value))
        for name in self._ADDITIONS:
            setattr(self, name, None)
        self.world_size = 1  # (alone, until a trainer's state says otherwise)
        self.process_index = 0
        self._read_log_history: Optional[Callable[[], List[Dict[str, float]]]] = \
            (lambda: history) if history else None

    @property
    def log_history(self) -> List[Dict[str, float]]:
        """Every logged dict so far, each with its ``"step"``; read from the library."""
        if self._read_log_history is None:
            return []
        return [{key: int(value) if key == "step" else value for key, value in entry.items()}
                for entry in self._read_log_history()]

    def __getstate__(self) -> Dict[str, Any]:
        """For copy and pickle: the attributes and the library's fields (the C base's)."""
        values = dict(self.__dict__)
        for name, field in vars(_C.TrainerStateBase).items():
            if type(field).__name__ == "getset_descriptor" and hasattr(self, name):
                values[name] = getattr(self, name)
        return values

    def __setstate__(self, values: Dict[str, Any]) -> None:
        for name, value in values.items():
            setattr(self, name, value)

    def save_to_json(self, json_path: Union[str, "os.PathLike[str]"]) -> None:
        """Writes the state as HF's ``TrainerState.save_to_json`` does (a checkpoint's
        ``trainer_state.json`` has the same layout): the library writes the text from this
        state's values (st_trainer_state_json_format)."""
        data = {name: getattr(self, name, None) for name in _hf_defaults()}
        data["log_history"] = self.log_history
        text = _C.format_trainer_state_json(json.dumps(data))
        with open(json_path, "w", encoding="utf-8") as f:
            f.write(text)

    @classmethod
    def load_from_json(cls, json_path: Union[str, "os.PathLike[str]"]) -> "TrainerState":
        """A state read from a ``trainer_state.json`` (HF's ``TrainerState.load_from_json``),
        e.g. a checkpoint's."""
        with open(json_path, encoding="utf-8") as f:
            data = json.load(f)
        unknown = sorted(set(data) - set(_hf_defaults()))
        if unknown:
            raise ValueError(f"{json_path}: not a trainer_state.json (unknown keys {unknown})")
        return cls(**data)

    def __repr__(self) -> str:
        names = [name for name in _hf_defaults() if name != "log_history"] + list(self._ADDITIONS)
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in names)
        return f"TrainerState({fields})"


@functools.lru_cache(maxsize=None)
def _hf_defaults() -> Dict[str, Any]:
    """HF's TrainerState fields, the keys of trainer_state.json, with the values of a state
    before training, as the library's writer has them (what it writes for an empty state)."""
    return json.loads(_C.format_trainer_state_json("{}"))


@dataclass
class TrainerControl:
    """Flags a callback sets to steer training; the library acts on them after all callbacks
    of the event ran. ``should_training_stop`` is sticky: once set, training stops.
    ``should_log`` / ``should_evaluate`` / ``should_save`` are reset before every step and
    ``should_epoch_stop`` before every epoch. ``should_save`` writes a checkpoint after
    the step (or epoch), as HF does."""

    should_training_stop: bool = False
    should_epoch_stop: bool = False
    should_save: bool = False
    should_evaluate: bool = False
    should_log: bool = False


class TrainerCallback:
    """Base class of callbacks: every event method is a no-op; override the ones you need.

    Every method is called as ``on_x(args, state, control, **kwargs)`` with ``model=...``,
    ``event_data=...`` and, as HF, ``optimizer=...`` (its ``param_groups`` during training;
    a group's ``lr`` set at ``on_pre_optimizer_step`` is the step's) and ``lr_scheduler=...``
    (``get_last_lr()``, ``factor(step)``) in kwargs, plus ``logs=...`` for ``on_log`` and ``metrics=...`` for ``on_evaluate`` and
    ``on_predict``. Return the ``control`` (or a new ``TrainerControl``) to change the
    flags, or ``None`` to leave them. Only the events a callback overrides are registered
    with the library, so the others cost nothing.

    Besides HF's events there are finer ones (``on_before_forward``, ``on_after_backward``,
    ...) and ``on_exception`` / ``on_close``; include/swifttrain.h and docs/events.md give
    the order. ``on_save`` fires after a checkpoint was written.

    A callback with state that should survive a resume defines, as HF's ``ExportableState``,
    ``state()`` returning ``{"args": {...}, "attributes": {...}}`` (the attributes are set
    back on resume), or, as PyMarlin, ``get_state()`` and ``update_state(state)``, or, as
    Composer, ``state_dict()`` and ``load_state_dict(state)``. The state
    must be JSON-serialisable; it is saved in every checkpoint and restored before
    ``on_train_begin`` when training resumes.
    """

    def on_init_end(self, args, state, control, **kwargs):
        """At the end of ``Trainer.__init__``."""

    def on_train_begin(self, args, state, control, **kwargs):
        """At the beginning of training."""

    def on_train_end(self, args, state, control, **kwargs):
        """At the end of training."""

    def on_epoch_begin(self, args, state, control, **kwargs):
        """At the beginning of an epoch."""

    def on_epoch_end(self, args, state, control, **kwargs):
        """At the end of an epoch."""

    def on_step_begin(self, args, state, control, **kwargs):
        """At the beginning of a training step (one optimizer update)."""

    def on_before_dataloader(self, args, state, control, **kwargs):
        """Before a training batch is fetched."""

    def on_after_dataloader(self, args, state, control, **kwargs):
        """After a training batch is fetched."""

    def on_before_forward(self, args, state, control, **kwargs):
        """Before the forward pass of a micro-batch."""

    def on_after_forward(self, args, state, control, **kwargs):
        """After the forward pass of a micro-batch."""

    def on_before_loss(self, args, state, control, **kwargs):
        """Before the loss of a micro-batch is computed."""

    def on_after_loss(self, args, state, control, **kwargs):
        """After the loss of a micro-batch is computed."""

    def on_before_backward(self, args, state, control, **kwargs):
        """Before the backward pass of a micro-batch."""

    def on_after_backward(self, args, state, control, **kwargs):
        """After the backward pass of a micro-batch."""

    def on_substep_end(self, args, state, control, **kwargs):
        """After each micro-batch of a gradient-accumulation step but the last."""

    def on_pre_optimizer_step(self, args, state, control, **kwargs):
        """After gradient clipping, before the optimizer step."""

    def on_optimizer_step(self, args, state, control, **kwargs):
        """After the optimizer step, before the gradients are cleared."""

    def on_step_end(self, args, state, control, **kwargs):
        """At the end of a training step."""

    def on_evaluate_begin(self, args, state, control, **kwargs):
        """Before an evaluation."""

    def on_evaluate(self, args, state, control, **kwargs):
        """After an evaluation; ``metrics`` holds its results."""

    def on_predict_begin(self, args, state, control, **kwargs):
        """Before ``Trainer.predict`` runs the model."""

    def on_predict(self, args, state, control, metrics, **kwargs):
        """After a successful ``Trainer.predict``; ``metrics`` holds its results."""

    def on_save(self, args, state, control, **kwargs):
        """After a checkpoint was written (the step's LOG and EVALUATE come first)."""

    def on_log(self, args, state, control, logs=None, **kwargs):
        """After logging; ``logs`` holds the logged values."""

    def on_prediction_step(self, args, state, control, **kwargs):
        """After each batch of an evaluation or a prediction."""

    def on_exception(self, args, state, control, **kwargs):
        """An error stopped training (before ``on_close``; the error is then raised)."""

    def on_close(self, args, state, control, **kwargs):
        """At the end of every ``train()``, whether it succeeded or not."""

    def on_post_close(self, args, state, control, **kwargs):
        """After every callback's ``on_close``: the last event of a ``train()``
        (Composer's ``post_close``)."""

    # Composer's events (docs/events.md maps them)

    def on_before_load(self, args, state, control, **kwargs):
        """Resuming: before the checkpoint is restored."""

    def on_after_load(self, args, state, control, **kwargs):
        """Resuming: after the checkpoint was restored, before ``on_train_begin``."""

    def on_before_train_batch(self, args, state, control, **kwargs):
        """The step's batches are fetched, before the first forward."""

    def on_step_checkpoint(self, args, state, control, **kwargs):
        """The step is complete: after its log, evaluation and checkpoint."""

    def on_epoch_checkpoint(self, args, state, control, metrics, **kwargs):
        """The epoch is complete, after its evaluation and checkpoint; ``metrics`` holds the
        evaluation of the epoch's end (empty when there was none): AllenNLP's and PyMarlin's
        epoch callbacks."""

    def on_evaluate_before_all(self, args, state, control, **kwargs):
        """Before the evaluation of every evaluation dataset."""

    def on_evaluate_after_all(self, args, state, control, metrics, **kwargs):
        """After it; ``metrics`` holds every dataset's metrics."""

    def on_evaluate_batch_begin(self, args, state, control, **kwargs):
        """An evaluation batch is fetched (``event_data.batch``)."""

    def on_evaluate_before_forward(self, args, state, control, **kwargs):
        """Before an evaluation batch's forward; the batch may be replaced."""

    def on_evaluate_after_forward(self, args, state, control, **kwargs):
        """After it; the outputs may be replaced (metrics are computed from them)."""

    def on_predict_batch_begin(self, args, state, control, **kwargs):
        """A prediction batch is fetched."""

    def on_predict_before_forward(self, args, state, control, **kwargs):
        """Before a prediction batch's forward; the batch may be replaced."""

    def on_predict_after_forward(self, args, state, control, **kwargs):
        """After it; the outputs may be replaced (the predictions are made of them)."""

    def on_evaluate_standalone_begin(self, args, state, control, **kwargs):
        """``Trainer.evaluate()`` called outside training: first."""

    def on_evaluate_standalone_end(self, args, state, control, metrics, **kwargs):
        """And last; ``metrics`` holds what it returns."""

    def run_event(self, event, args, state, control, **kwargs):
        """The one dispatch point (Composer's ``Callback.run_event``): calls the method named
        ``event`` (``"on_step_end"``, ...). A subclass that overrides it receives every
        event."""
        return getattr(self, event)(args, state, control, **kwargs)


def _format_logs(logs: Dict[str, float]) -> str:
    """``{'loss': 0.5234, 'learning_rate': 0.000987, 'epoch': 1.25}``: 4 significant digits,
    epoch to 2 decimals, integral values as ints."""
    shown = {}
    for key, value in logs.items():
        if key == "total_flos":
            continue
        if key == "epoch":
            shown[key] = round(value, 2)
        elif isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
            shown[key] = int(value)
        elif isinstance(value, float):
            shown[key] = float(f"{value:.4g}")
        else:
            shown[key] = value
    return str(shown)


class ProgressCallback(TrainerCallback):
    """Shows training progress: on a terminal or in a notebook, a progress bar with the logs
    printed above it (tqdm's ``tqdm.auto`` bars when tqdm is installed, else a built-in bar
    cut to the terminal's width); otherwise (a file, a pipe, a captured test) one plain line
    per log. Shows nothing when ``args.disable_tqdm`` is set."""

    def __init__(self, max_str_len: int = 100, stream=None) -> None:
        self.max_str_len = max_str_len
        self.training_bar: Optional[Any] = None
        self.prediction_bar: Optional[Any] = None
        self._stream = stream

    def _output(self):
        return self._stream if self._stream is not None else sys.stdout

    def _idle_events(self, args) -> Tuple[str, ...]:
        """The events whose method has nothing to do in the coming run: with no bar to draw
        (``disable_tqdm``, or the output is not a terminal), ``on_step_end`` and
        ``on_prediction_step``. The trainer skips them without running Python (a subclass's
        own methods always run)."""
        own = ("on_train_begin", "on_step_end", "on_prediction_step", "_output")
        if any(getattr(type(self), name) is not getattr(ProgressCallback, name) for name in own):
            return ()
        if not args.disable_tqdm and bars_shown(self._output()):
            return ()
        return ("on_step_end", "on_prediction_step")

    def on_train_begin(self, args, state, control, **kwargs):
        self.training_bar = None
        if args.disable_tqdm or not state.is_world_process_zero:
            return
        stream = self._output()
        if bars_shown(stream):
            self.training_bar = make_bar(state.max_steps, stream, "train")

    def on_step_end(self, args, state, control, **kwargs):
        if self.training_bar is not None:
            self.training_bar.update(state.global_step)

    def on_evaluate_begin(self, args, state, control, **kwargs):
        self._close_prediction_bar()  # one an aborted evaluation left open

    def on_predict_begin(self, args, state, control, **kwargs):
        self._close_prediction_bar()

    def on_prediction_step(self, args, state, control, eval_dataloader=None, **kwargs):
        if args.disable_tqdm or not state.is_world_process_zero or eval_dataloader is None:
            return
        if self.prediction_bar is None:
            stream = self._output()
            if not bars_shown(stream):
                return
            self.prediction_bar = make_bar(len(eval_dataloader), stream, "eval")
        self.prediction_bar.update(self.prediction_bar.n + 1)

    def _close_prediction_bar(self) -> None:
        if self.prediction_bar is not None:
            # on top of the training bar: erase it and let the training bar come back
            self.prediction_bar.close(leave=self.training_bar is None)
            self.prediction_bar = None
            if self.training_bar is not None:
                self.training_bar.refresh()

    def on_evaluate(self, args, state, control, **kwargs):
        self._close_prediction_bar()

    def on_predict(self, args, state, control, **kwargs):
        self._close_prediction_bar()

    def on_log(self, args, state, control, logs=None, **kwargs):
        if args.disable_tqdm or not state.is_world_process_zero or logs is None:
            return
        text = _format_logs(logs)
        bar = self.prediction_bar or self.training_bar  # the line goes above the bar drawn last
        if bar is not None:
            bar.write(text)
        else:
            print(text, file=self._output(), flush=True)

    def on_train_end(self, args, state, control, **kwargs):
        self._close_prediction_bar()
        if self.training_bar is not None:
            self.training_bar.close()
            self.training_bar = None


class PrinterCallback(TrainerCallback):
    """Prints the logs, one dict per line (the default when ``disable_tqdm`` is set)."""

    def on_log(self, args, state, control, logs=None, **kwargs):
        if logs is None or not state.is_local_process_zero:
            return
        logs = dict(logs)
        logs.pop("total_flos", None)
        print(logs)


class _LibraryCallback(TrainerCallback):
    """A callback the library runs: adding it to a Trainer (``callbacks=[...]`` or
    ``add_callback``) registers the library's own with that trainer, and no Python code runs
    per event. The library cannot unregister it, so ``pop_callback`` / ``remove_callback``
    refuse it."""

    def _add_to_library(self, core: Any) -> None:
        """Registers the library's callback with ``core``, a ``_swifttrain.Trainer``."""
        raise NotImplementedError


class TerminateOnNaNCallback(_LibraryCallback):
    """Keras' TerminateOnNaN: at the first step whose loss is NaN or infinite, training stops
    gracefully (``on_train_end`` runs). The default ``nonfinite_grad_norm="error"`` fails such
    a step first; with ``"skip"`` its update is skipped, so the weights stay those of the last
    good step. The library runs it (``st_trainer_add_terminate_on_nan``)."""

    def _add_to_library(self, core: Any) -> None:
        core.add_terminate_on_nan()


class MetricsLoggerCallback(_LibraryCallback):
    """Writes every ``on_log`` entry (step logs, evaluations, the final train metrics) to
    ``path`` as it happens: ``format="jsonl"`` (one JSON object per line, ``"step"`` first)
    or ``"csv"`` (a header of every name seen so far, ``"step"`` first; the file is rewritten
    when a new name appears, as Lightning's CSVLogger does). The library formats and writes,
    after every other callback of the event (``st_trainer_add_metrics_logger``).
    The file is created (truncated) when the callback is."""

    def __init__(self, path: Union[str, "os.PathLike[str]"], format: str = "jsonl") -> None:
        formats = _C.enum_names("metrics_format")  # st_metrics_format, by the library's names
        if format not in formats:
            raise ValueError(f"MetricsLoggerCallback: format={format!r}; use "
                             f"{' or '.join(map(repr, formats))}")
        self.path = os.fspath(path)
        self.format = format
        self._logger = _C.MetricsLogger(self.path, formats[format])

    def _add_to_library(self, core: Any) -> None:
        core.add_metrics_logger(self._logger)


class EarlyStoppingCallback(TrainerCallback):
    """HF's EarlyStoppingCallback: stop when ``early_stopping_patience`` evaluations in a row
    do not improve ``metric_for_best_model`` (``"loss"`` by default) on the best so far by
    more than ``early_stopping_threshold``.

    The rule runs in the library: give the callback to ``Trainer(callbacks=[...])`` and the
    trainer is created with these two values (the ``TrainingArguments`` fields of the same
    names do the same). Unlike HF's, it needs neither ``load_best_model_at_end`` nor a save
    schedule that matches the evaluation schedule.
    """

    def __init__(self, early_stopping_patience: int = 1,
                 early_stopping_threshold: Optional[float] = 0.0) -> None:
        if isinstance(early_stopping_patience, bool) \
                or not isinstance(early_stopping_patience, numbers.Integral) \
                or early_stopping_patience < 1:
            raise ValueError(f"EarlyStoppingCallback: early_stopping_patience="
                             f"{early_stopping_patience!r}; use a whole number of evaluations >= 1 "
                             f"(the library's 0, which disables early stopping, is refused here: "
                             f"leave the callback out instead)")
        # the threshold is checked by the library with the other arguments, when the trainer
        # is created (a finite number >= 0)
        self.early_stopping_patience = int(early_stopping_patience)
        self.early_stopping_threshold = 0.0 if early_stopping_threshold is None \
            else early_stopping_threshold
