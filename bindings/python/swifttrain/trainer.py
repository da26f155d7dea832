"""``Trainer``: HuggingFace's Trainer interface over the library's trainer.

    trainer = Trainer(model=model, args=args, train_dataset=(X, y), eval_dataset=(Xv, yv),
                      loss="cross_entropy", callbacks=[MyCallback])
    out = trainer.train()          # TrainOutput(global_step, training_loss, metrics)
    metrics = trainer.evaluate()   # {"eval_loss": ..., "eval_accuracy": ..., ...}
    pred = trainer.predict(Xv)     # PredictionOutput(predictions, label_ids, metrics)

Training, evaluation and prediction run in the library with the GIL released; other Python
threads keep running. An exception raised by a callback stops training and comes out of
``train()`` unchanged.
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import threading
import warnings
from typing import Any, Callable, Dict, List, Mapping, NamedTuple, Optional, Tuple, Union

import numpy as np

from . import _swifttrain as _C
from . import nn
from ._callback_handler import CallbackHandler
from ._data import as_dataset, is_array_data, labels_of
from ._model_call import ModelCall, ModelOutput
from ._tensor import no_grad
from ._trainer_optim import TrainerOptimizers
from ._trainer_results import TrainerResults
from ._trainer_surface import TrainerSurface
from .callbacks import (EarlyStoppingCallback, PrinterCallback, ProgressCallback,
                        TrainerControl, TrainerState)
from .training_args import TrainingArguments

__all__ = ["Trainer", "TrainOutput", "PredictionOutput"]


class TrainOutput(NamedTuple):
    global_step: int
    training_loss: float
    metrics: Dict[str, float]


class PredictionOutput(NamedTuple):
    predictions: np.ndarray
    label_ids: Optional[np.ndarray]
    metrics: Dict[str, float]


class EvalPrediction(NamedTuple):
    """What ``compute_metrics`` receives, as HF's: ``predictions`` float32 ``[n, outputs]``
    (logits for classification) and ``label_ids``: the int64 labels ``[n]``, or the float32
    targets (``[n]`` for one per sample, else ``[n, t]``). Unpacks as
    ``predictions, labels = eval_pred``. Both are copies the function may keep."""
    predictions: np.ndarray
    label_ids: Optional[np.ndarray]


class _NamedSets(list):
    """The (name, dataset) pairs of an eval_dataset dict (a list dataset is not one)."""


def _sigint_after_the_step(core: "_C.Trainer") -> Callable[[int, Any], None]:
    """Trainer.train's SIGINT handler: a first Ctrl-C during training asks the library to
    stop gracefully after the step (st_trainer_request_stop), and train() raises
    KeyboardInterrupt once it has; elsewhere (and a second Ctrl-C) it raises at once, as
    Python's default handler does."""
    def handler(signum: int, frame: Any) -> None:
        if not core.request_stop():
            raise KeyboardInterrupt
    return handler


def _compute_metrics_adapter(function: Callable[[EvalPrediction], Mapping[str, float]]):
    """The callable the library calls (see trainer_callbacks.c): copies the buffers into an
    :class:`EvalPrediction`, calls ``function`` and checks what it returns."""
    def call(predictions, num_samples, num_outputs, labels, targets, target_width, prefix,
             prediction_shape=None, label_shape=None):
        preds = np.frombuffer(predictions, dtype=np.float32).reshape(
            prediction_shape or (num_samples, num_outputs)).copy()
        if labels is not None:
            label_ids = np.frombuffer(labels, dtype=np.int64).reshape(label_shape or (-1,)).copy()
        elif targets is not None:
            label_ids = np.frombuffer(targets, dtype=np.float32).reshape(
                label_shape or (num_samples, target_width)).copy()
            if label_ids.ndim == 2 and label_ids.shape[1] == 1:
                label_ids = label_ids.reshape(num_samples)
        else:
            label_ids = None
        result = function(EvalPrediction(preds, label_ids))
        if not isinstance(result, Mapping):
            raise TypeError(f"compute_metrics must return a dict of metric name -> number, got "
                            f"{type(result).__name__}")
        entries = []
        for name, value in result.items():
            if not isinstance(name, str) or not name:
                raise TypeError(f"compute_metrics: metric names must be non-empty strings, got "
                                f"{name!r}")
            try:
                entries.append((name, float(value)))
            except (TypeError, ValueError):
                raise TypeError(f"compute_metrics: metric {name!r} is {value!r}; values must be "
                                f"numbers") from None
        return entries
    return call


# HF's methods a subclass may override, which the library then calls (see Trainer).
_OVERRIDABLE = ("compute_loss", "training_step", "log", "evaluate", "prediction_step",
                "create_optimizer", "create_scheduler", "create_optimizer_and_scheduler")

_NOT_OVERRIDABLE = {
    "training_step": "overriding Trainer.training_step is not supported: swifttrain's training loop "
                     "(forward, loss, backward, step) runs in the library, which calls no training_step; "
                     "override compute_loss (called per micro-batch) or use a callback's "
                     "on_before_backward / on_after_backward / on_pre_optimizer_step instead",
    "prediction_step": "overriding Trainer.prediction_step is not supported: swifttrain's evaluation "
                       "loop runs in the library, which calls no prediction_step; override "
                       "compute_loss (called per evaluation batch too), pass compute_metrics, or "
                       "use a callback's on_prediction_step instead",
}


def _check_ignore_keys(ignore_keys: Optional[List[str]], what: str) -> None:
    """HF's ignore_keys: outputs other than the loss and the logits are always left out of
    the predictions here, so any of them may be named, but not the logits."""
    if ignore_keys is not None and "logits" in ignore_keys:
        raise ValueError(f"{what}: ignore_keys names 'logits', which swifttrain's {what} needs (its "
                         f"predictions and metrics are the logits'); leave it out")


def _overridden(cls: type) -> set:
    """The names of _OVERRIDABLE that ``cls`` (a Trainer subclass) defines anew: checked
    once, at construction, so a trainer without overrides pays nothing per step."""
    return {name for name in _OVERRIDABLE if getattr(cls, name) is not getattr(Trainer, name)}


class Trainer(TrainerResults, TrainerOptimizers, TrainerSurface):
    """Trains a :mod:`swifttrain.nn` model.

    Args:
        model: the model: built from layers (``nn.Sequential(nn.Linear(64, 64), ...)``, which
            runs wholly in the library) or an ``nn.Module`` subclass with a ``forward`` of
            your own, which the library calls once per micro-batch with the batch's tensors
            by name (HF's ``model(**inputs)``; entries the forward does not take are dropped
            unless ``args.remove_unused_columns`` is False). It may return the logits, a
            dict / tuple / ModelOutput with ``"loss"`` and ``"logits"``; a returned loss is
            the one minimised, as in HF.
        args: a :class:`TrainingArguments`; ``TrainingArguments()`` when None. Read here,
            when the trainer is created.
        train_dataset, eval_dataset: ``(X, y)`` tuples of arrays (``eval_dataset`` may also
            be a dict of them, named as HF's: metrics ``eval_<name>_loss``, ...): ``X`` float32 ``[n, d]``
            (or ``[n, ...]``, e.g. images ``[n, 1, 8, 8]`` for a convolutional model),
            ``y`` int64 labels ``[n]`` (``loss="cross_entropy"``) or float32 targets
            ``[n]`` / ``[n, t]`` (``loss="mse"``). The library reads them in place: do not
            modify them while the trainer exists.
            Datasets may also be map-style (``__len__`` / ``__getitem__`` returning dicts of
            arrays or numbers, ``(x, y)`` tuples, or arrays: HF's ``datasets.Dataset``, a
            torch-style ``Dataset``, a list of dicts) or iterable (``__iter__``, which needs
            ``max_steps``); their samples are batched by ``data_collator``.
        data_collator: HF's: a function of a list of samples returning a dict of arrays;
            :func:`default_data_collator` by default, :class:`DataCollatorWithPadding` for
            token sequences of different lengths.
        loss: the built-in loss applied when the model returns none: ``"cross_entropy"``
            (-100 ignored, ``label_smoothing_factor``), ``"mse"``, ``"nll"``, ``"l1"``,
            ``"smooth_l1"``, ``"huber"``, ``"bce_with_logits"`` or ``"kl_div"``.
        compute_loss: a function ``(model, inputs, return_outputs=False,
            num_items_in_batch=None)`` with the signature of HF's ``Trainer.compute_loss``,
            used in its place (as is an override of ``compute_loss`` in a subclass).
        compute_loss_func: HF's: ``(outputs, labels, num_items_in_batch) -> loss`` in place of
            the built-in loss and of the model's.
        compute_metrics: as HF's: a function of an :class:`EvalPrediction` returning a dict
            of extra metrics, added (prefixed ``eval_``) to every evaluation and to
            ``predict``'s ``test_`` metrics when labels are given.
        callbacks: :class:`TrainerCallback` classes or instances, run in order before the
            default :class:`ProgressCallback` (:class:`PrinterCallback` when
            ``args.disable_tqdm``).
        optimizers: HF's ``(optimizer, scheduler)``: a :mod:`swifttrain.optim` optimizer over
            the model's parameters and a schedule made for it by :func:`get_scheduler`
            (``StepLR``, ``ExponentialLR``), either None; training uses them instead of those
            the arguments describe (see :meth:`create_optimizer`).

    As in HF, a subclass may override ``compute_loss``, ``log`` and ``evaluate``: the library
    calls the override (``log`` for every log it emits, ``evaluate`` for every evaluation
    during training, ``compute_loss`` per micro-batch), and ``create_optimizer`` /
    ``create_scheduler``, called when training starts. Overriding ``training_step`` or
    ``prediction_step`` raises NotImplementedError at construction: the library runs those
    loops itself (docs/hf-trainer.md). Without an override nothing of this costs a step.

    As in HF, creating a trainer calls ``manual_seed(args.seed)``; it affects modules
    created afterwards, not ``model``.
    """

    def __init__(self, model: Optional[nn.Module] = None,
                 args: Optional[TrainingArguments] = None, data_collator: Optional[Callable] = None,
                 train_dataset: Any = None, eval_dataset: Any = None, loss: str = "cross_entropy",
                 callbacks: Optional[List[Any]] = None,
                 compute_metrics: Optional[Callable[[EvalPrediction], Mapping[str, float]]] = None,
                 compute_loss: Optional[Callable[..., Any]] = None,
                 compute_loss_func: Optional[Callable[..., Any]] = None,
                 optimizers: Tuple[Any, Any] = (None, None),
                 ) -> None:
        if not isinstance(model, nn.Module):
            raise TypeError(f"Trainer: model must be a swifttrain.nn.Module (e.g. "
                            f"nn.Sequential(nn.Linear(64, 10)) or a subclass with a forward of "
                            f"your own), got {type(model).__name__}")
        if compute_loss is not None:
            if not callable(compute_loss):
                raise TypeError(f"compute_loss must be a function (model, inputs, "
                                f"return_outputs=False, num_items_in_batch=None), got "
                                f"{type(compute_loss).__name__}")
            self.compute_loss = compute_loss  # type: ignore[method-assign]
        overridden_methods = _overridden(type(self))
        for name in ("training_step", "prediction_step"):
            if name in overridden_methods:
                raise NotImplementedError(_NOT_OVERRIDABLE[name])
        if compute_loss_func is not None and not callable(compute_loss_func):
            raise TypeError(f"compute_loss_func must be a function (outputs, labels, "
                            f"num_items_in_batch), got {type(compute_loss_func).__name__}")
        if args is None:
            args = TrainingArguments()
        if not isinstance(args, TrainingArguments):
            raise TypeError(f"Trainer: args must be a swifttrain.TrainingArguments, got "
                            f"{type(args).__name__}")
        self.model = model
        self.args = args
        self.loss = loss
        stoppers = [c for c in callbacks or []
                    if c is EarlyStoppingCallback or isinstance(c, EarlyStoppingCallback)]
        if len(stoppers) > 1:
            raise ValueError("Trainer: more than one EarlyStoppingCallback; give one")
        if stoppers:  # HF's callback, whose rule the library runs: configure it there
            stopper = stoppers[-1] if isinstance(stoppers[-1], EarlyStoppingCallback) \
                else EarlyStoppingCallback()
            core_args = dataclasses.replace(
                args, early_stopping_patience=stopper.early_stopping_patience,
                early_stopping_threshold=stopper.early_stopping_threshold).to_core()
        else:
            core_args = args.to_core()  # the library checks every value first
        _C.manual_seed(args.seed & (2**64 - 1))  # the int64 seed's bits, as st_manual_seed's
        overridden = compute_loss is not None or type(self).compute_loss is not Trainer.compute_loss
        self._label_names = list(core_args.as_dict()["label_names"])  # the library's default
        if model._handle is not None and not overridden:
            self._model_call: Optional[ModelCall] = None  # the whole model runs in the library
            library_model = model._handle
        else:  # the library calls Python once per micro-batch (held weakly: kept here)
            # HF passes the labels to the forward unless its label smoother or compute_loss_func
            # computes the loss from the outputs
            pass_labels = compute_loss_func is None and not args.label_smoothing_factor
            self._model_call = ModelCall(model, self.compute_loss if overridden else None,
                                         args.remove_unused_columns,
                                         global_step=lambda: self._core.get_state()["global_step"],
                                         label_names=self._label_names if pass_labels else (),
                                         withheld=() if pass_labels else self._label_names)
            library_model = nn._library_host(model, self._model_call)
            self._model_call.buffers = nn._python_buffers(model)
        self._core = _C.Trainer(library_model, loss, core_args)
        self._library_model = library_model
        self._structure = nn._structure(model)
        self.compute_loss_func = compute_loss_func
        if compute_loss_func is not None:
            self._core.set_compute_loss(self._compute_loss_func_adapter)
        if "log" in overridden_methods:  # the library calls the override for every log
            self._core.set_log_function(self._log_from_library)
        if "evaluate" in overridden_methods:  # ... and for every evaluation during training
            self._core.set_evaluate_function(self._evaluate_from_library)
        self.optimizer = self.lr_scheduler = None
        self._set_optimizers(optimizers)
        if overridden_methods & {"create_optimizer", "create_scheduler", "create_optimizer_and_scheduler"}:
            # ... and create_optimizer_and_scheduler(max_steps) when training starts
            self._core.set_optimizer_function(self._optimizers_for_library)
        self.data_collator = data_collator
        self.train_dataset = train_dataset
        self.eval_dataset = eval_dataset
        self.compute_metrics = compute_metrics
        self._given = {"train": None, "eval": None, "metrics": None}  # what the library has
        self._sync_with_library()
        self.state = TrainerState()
        self.state._read_log_history = self._core.log_history
        self._core.update_state(self.state)
        self.control = TrainerControl()
        #: After train(): the checkpoint it resumed from (and any newer ones it passed over
        #: as damaged), or None when it started fresh.
        self.resumed_from_checkpoint: Optional[str] = None
        self._core.set_callback_state(self._save_callback_states, self._load_callback_states)
        self.callback_handler = CallbackHandler(self, self._core)
        for callback in callbacks or []:
            self.callback_handler.add_callback(callback)
        self.callback_handler.add_callback(PrinterCallback if args.disable_tqdm
                                           else ProgressCallback)
        self._core.init_end()  # INIT_END, from the library, at HF's point: every callback sees it

    @property
    def c_trainer(self) -> Any:
        """The library's ``st_trainer *`` as a ``PyCapsule`` named ``"swifttrain.st_trainer"``,
        for native extensions: ``PyCapsule_GetPointer(capsule, "swifttrain.st_trainer")`` and
        then ``st_trainer_add_event_callback(trainer, fn, user_data, mask, priority)``; its
        callbacks run in the one priority order with the Python ones. Valid while this
        Trainer lives; a callback must not outlive the data it points at."""
        return self._core.capsule

    def log(self, logs: Mapping[str, float], start_time: Optional[float] = None) -> None:
        """Logs values (HF's ``Trainer.log``): as HF, the current ``epoch`` is added; they
        are appended to ``state.log_history`` with the current step, and every callback's
        ``on_log`` gets them (after the current event when called from a callback). A
        subclass's override receives every log the trainer emits (the training loss, each
        evaluation's metrics, train's summary); what it passes to ``super().log`` is
        recorded. ``start_time`` is accepted as HF's and unused: the library adds the
        runtimes itself."""
        self._core.log(dict(logs))

    def _log_from_library(self, logs: Dict[str, float]) -> None:
        self._core.update_state(self.state)
        self.log(logs)

    def _evaluate_from_library(self) -> Dict[str, float]:
        self._core.update_state(self.state)
        metrics = self.evaluate()
        if not isinstance(metrics, Mapping):
            raise TypeError(f"{type(self).__name__}.evaluate must return a dict of metric name -> "
                            f"number, got {type(metrics).__name__}")
        return dict(metrics)

    # ---- callbacks -------------------------------------------------------------------

    def add_callback(self, callback: Union[type, Any]) -> None:
        """Adds a callback (a class or an instance) after the current ones."""
        self._check_not_early_stopping(callback, "add")
        self.callback_handler.add_callback(callback)

    def pop_callback(self, callback: Union[type, Any]) -> Optional[Any]:
        """Removes a callback (the first of a class, or that instance) and returns it. One
        the library runs (TerminateOnNaNCallback, MetricsLoggerCallback) raises ValueError:
        the library cannot unregister it."""
        self._check_not_early_stopping(callback, "remove")
        return self.callback_handler.pop_callback(callback)

    def remove_callback(self, callback: Union[type, Any]) -> None:
        """Removes a callback (the first of a class, or that instance)."""
        self._check_not_early_stopping(callback, "remove")
        self.callback_handler.pop_callback(callback)

    @staticmethod
    def _check_not_early_stopping(callback: Any, what: str) -> None:
        if callback is EarlyStoppingCallback or isinstance(callback, EarlyStoppingCallback):
            raise ValueError(f"cannot {what} an EarlyStoppingCallback after the Trainer is "
                             f"created: the library runs its rule with the values the trainer "
                             f"was created with; pass it in Trainer(callbacks=[...]) or set "
                             f"TrainingArguments(early_stopping_patience=...)")

    # ---- running -----------------------------------------------------------------------

    def _prepare_run(self) -> None:
        """Before train / evaluate / predict: the library gets what changed, and which
        callback events have nothing to do in this run (no Python runs for them)."""
        self._sync_with_library()
        self.callback_handler.prepare_run(self.args)

    def _sync_with_library(self) -> None:
        """Hands the library the current train/eval datasets and compute_metrics (they may
        have been replaced), after checking that the model's parameters and modules are
        still those the library was given."""
        self._check_structure()
        if self.compute_metrics is not self._given["metrics"]:
            if self.compute_metrics is not None and not callable(self.compute_metrics):
                raise TypeError(f"compute_metrics must be a function of an EvalPrediction, got "
                                f"{type(self.compute_metrics).__name__}")
            self._core.set_compute_metrics(None if self.compute_metrics is None
                                           else _compute_metrics_adapter(self.compute_metrics))
            self._given["metrics"] = self.compute_metrics
        if self.train_dataset is not None and self.train_dataset is not self._given["train"]:
            self._core.set_train_dataset(self._as_dataset(self.train_dataset, "train_dataset"))
            self._given["train"] = self.train_dataset
        given = self.eval_dataset
        named_sets = isinstance(given, dict)
        if named_sets:  # compared by content: the dict may be changed in place
            given = _NamedSets((name, data) for name, data in given.items())
            unchanged = (isinstance(self._given["eval"], _NamedSets)
                         and len(given) == len(self._given["eval"])
                         and all(n == m and d is e for (n, d), (m, e)
                                 in zip(given, self._given["eval"])))
        else:
            unchanged = given is self._given["eval"]
        if unchanged:
            return
        if named_sets:
            if not given:
                raise ValueError("eval_dataset is an empty dict; give at least one named "
                                 "(X, y) dataset, or None")
            named = []
            for name, data in given:
                if not isinstance(name, str):
                    raise TypeError(f"eval_dataset: dict keys are dataset names (str), got "
                                    f"{type(name).__name__}")
                named.append((name, self._as_dataset(data, f"eval_dataset[{name!r}]")))
            self._core.set_eval_dataset(None)
            self._given["eval"] = None
            for name, dataset in named:
                self._core.add_eval_dataset(name, dataset)
        else:
            self._core.set_eval_dataset(None if given is None
                                        else self._as_dataset(given, "eval_dataset"))
        self._given["eval"] = given

    def train(self, resume_from_checkpoint: Union[None, bool, str, "os.PathLike[str]"] = None
              ) -> TrainOutput:
        """Trains the model; returns ``TrainOutput(global_step, training_loss, metrics)``.

        ``resume_from_checkpoint`` (as HF's): a checkpoint directory, or ``True`` for the
        newest checkpoint in ``args.output_dir`` that verifies (newer damaged ones are passed
        over with a warning). Weights, optimizer, schedules, trainer state, callback states
        and random generators are restored, and training continues exactly where the
        checkpoint was saved: the losses and final weights equal an uninterrupted run's.
        A damaged checkpoint raises :class:`swifttrain.CorruptFileError` naming the file; a
        missing one :class:`swifttrain.CheckpointNotFoundError`, a ``ValueError`` as in HF."""
        self._prepare_run()
        if resume_from_checkpoint is False:
            resume_from_checkpoint = None
        if resume_from_checkpoint is not None and resume_from_checkpoint is not True:
            resume_from_checkpoint = os.fspath(resume_from_checkpoint)
        # Ctrl-C waits for the end of the step, even inside Python code the library runs
        # (a forward, a dataset, a loss function), then stops training gracefully.
        handled = (threading.current_thread() is threading.main_thread()
                   and signal.getsignal(signal.SIGINT) is signal.default_int_handler)
        previous = signal.signal(signal.SIGINT, _sigint_after_the_step(self._core)) if handled else None
        try:
            metrics = self._core.train(resume_from_checkpoint)
        finally:
            if handled:
                signal.signal(signal.SIGINT, previous)
            self._core.update_state(self.state)
            self.state.best_model_checkpoint = self._best_model_checkpoint()
            self._after_training()
        resumed = self._core.resumed_from()
        self.resumed_from_checkpoint = resumed or None
        if "passed over" in resumed:
            warnings.warn(f"resumed from {resumed}", RuntimeWarning, stacklevel=2)
        return TrainOutput(self.state.global_step, metrics["train_loss"], metrics)

    def _best_model_checkpoint(self) -> Optional[str]:
        """HF's state.best_model_checkpoint, from the library's trainer_state.json."""
        return json.loads(self._core.state_json()).get("best_model_checkpoint")

    def _check_structure(self) -> None:
        now = nn._structure(self.model)
        if now == self._structure:
            return
        before, after = dict(self._structure), dict(now)
        changed = ([f"{n} (new)" for n in after if n not in before]
                   + [f"{n} (removed)" for n in before if n not in after]
                   + [f"{n} (replaced)" for n in after if n in before and after[n] != before[n]])
        raise ValueError(f"the model's parameters or modules changed after the Trainer was created: "
                         f"{', '.join(changed[:8])}{' ...' if len(changed) > 8 else ''}; the library "
                         f"trains, saves and evaluates what the model held then, so create the "
                         f"Trainer after building the model (swifttrain differs from HF here, "
                         f"which reads the model again in train())")

    def is_world_process_zero(self) -> bool:
        """Whether this process is the first of those training together (always True alone;
        in data-parallel training under ``mpirun``, only process 0 logs and writes files),
        as HF's."""
        return bool(self.state.is_world_process_zero)

    def is_local_process_zero(self) -> bool:
        """Whether this process is the first on its machine, as HF's."""
        return bool(self.state.is_local_process_zero)

    def save_model(self, output_dir: Optional[str] = None) -> None:
        """Writes the model's weights to ``output_dir/model.safetensors`` (default
        ``args.output_dir``) with the names of ``model.state_dict()``, as HF's
        ``save_model``; ``safetensors.torch.load_file`` and
        :func:`swifttrain.safetensors.load_file` read it. In data-parallel training only
        process 0 writes."""
        self._check_structure()
        self._core.save_model(None if output_dir is None else os.fspath(output_dir))

    # ---- stateful callbacks (saved in checkpoints) --------------------------------------

    # Each seed's names for a callback's state: (save, restore); HF's ExportableState restores
    # its "attributes" (restore None).
    _STATE_METHODS = (("state_dict", "load_state_dict"),  # Composer
                      ("get_state", "update_state"),      # PyMarlin
                      ("state", None))                    # HF

    @classmethod
    def _state_methods(cls, callback: Any) -> Optional[Tuple[str, Optional[str]]]:
        return next((pair for pair in cls._STATE_METHODS
                     if callable(getattr(callback, pair[0], None))), None)

    def _stateful_callbacks(self) -> Dict[str, Any]:
        """The callbacks with state, by class name (``Name#2`` for a second instance).
        EarlyStoppingCallback's counter is kept by the library itself."""
        found: Dict[str, Any] = {}
        for callback in self.callback_handler.callbacks:
            if isinstance(callback, EarlyStoppingCallback) or not self._state_methods(callback):
                continue
            name = type(callback).__name__
            key, n = name, 1
            while key in found:
                n += 1
                key = f"{name}#{n}"
            found[key] = callback
        return found

    def _save_callback_states(self) -> bytes:
        states = {key: getattr(callback, self._state_methods(callback)[0])()
                  for key, callback in self._stateful_callbacks().items()}
        try:
            return json.dumps(states, sort_keys=True, allow_nan=True).encode()
        except TypeError as e:
            raise TypeError(f"a callback's state must be JSON-serialisable to go into a "
                            f"checkpoint: {e}") from None

    def _load_callback_states(self, data: bytes) -> None:
        states = json.loads(data.decode())
        for key, callback in self._stateful_callbacks().items():
            if key not in states:
                continue
            restore = self._state_methods(callback)[1]
            if restore is not None:
                getattr(callback, restore)(states[key])
            else:  # HF's ExportableState: {"args": ..., "attributes": ...}
                for name, value in (states[key].get("attributes") or {}).items():
                    setattr(callback, name, value)

    @classmethod
    def from_config(cls, config: Union[str, "os.PathLike[str]", Mapping[str, Any]],
                    overrides: Union[None, str, Mapping[str, Any]] = None, **kwargs: Any) -> "Trainer":
        """A trainer for the experiment a JSON config describes (docs/configs.md), built by the
        library as ``swifttrain train`` builds it: ``config`` is a file's path, JSON text or a
        dict; ``overrides`` a dict (or JSON text) merged in key by key. The model is an
        ``nn.Module`` over the library's; the config's training arguments become
        ``trainer.args``; its callbacks are added after ``callbacks`` (the types registered
        with :func:`swifttrain.register_callback` among them). Other keywords (``callbacks``, ``compute_metrics``, ...) go to the
        constructor."""
        if isinstance(config, Mapping):
            text = json.dumps(config)
        elif isinstance(config, str) and config.lstrip().startswith("{"):
            text = config
        else:
            with open(os.fspath(config), encoding="utf-8") as f:
                text = f.read()
        patch = overrides if overrides is None or isinstance(overrides, str) else json.dumps(overrides)
        handle, train, validation, core_args, loss_code = _C.config_build(text, patch)
        fields = {f.name for f in dataclasses.fields(TrainingArguments)}
        args = TrainingArguments(**{name: value for name, value in core_args.as_dict().items()
                                    if name in fields and name != "disable_tqdm"},
                                 disable_tqdm=cls._config_disable_tqdm(text, patch))
        loss = next(name for name, code in _C.enum_names("loss").items() if code == loss_code)
        trainer = cls(nn.Module(handle), args, train_dataset=train, eval_dataset=validation, loss=loss,
                      **kwargs)
        # the config's callbacks that register on a trainer (metrics_logger, progress_bar,
        # terminate_on_nan, types registered from C or Python: those go to add_callback)
        _C.config_add_callbacks(trainer._core, text, patch, trainer.add_callback)
        return trainer

    @staticmethod
    def _config_disable_tqdm(text: str, patch: Optional[str]) -> bool:
        """The config's trainer.disable_tqdm (the library checked it is a bool; an override
        wins, as the library merges them): not a training argument of the library, which
        prints nothing unasked, but this trainer's progress bar's switch, as HF's."""
        value, callbacks = False, None
        for source in (text, patch):
            config = json.loads(source) if source else None
            trainer = config.get("trainer") if isinstance(config, dict) else None
            if isinstance(trainer, dict) and "disable_tqdm" in trainer:
                value = trainer["disable_tqdm"]
            if isinstance(config, dict) and "callbacks" in config:
                callbacks = config["callbacks"]
        # a progress_bar callback is the library's bar: this trainer then shows none of its own
        bar = isinstance(callbacks, list) and any(isinstance(c, dict) and c.get("type") == "progress_bar"
                                                  for c in callbacks)
        return bool(value) or bar

    def allennlp_metrics(self) -> Dict[str, Any]:
        """AllenNLP's result of the last ``train()`` (what its ``Trainer.train`` returns and
        writes as metrics.json): ``epoch``, ``training_duration``, ``training_loss``,
        ``validation_*`` (the last evaluation), ``best_epoch`` and ``best_validation_*``,
        read from the log history by the library."""
        return json.loads(self._core.allennlp_metrics_json())

    def evaluate(self, eval_dataset: Any = None, ignore_keys: Optional[List[str]] = None,
                 metric_key_prefix: str = "eval") -> Dict[str, float]:
        """Evaluates on ``eval_dataset`` or on the trainer's evaluation dataset(s), as HF does.
        ``eval_dataset`` is an ``(X, y)`` tuple, a dict of them (each evaluated with metrics
        ``<metric_key_prefix>_<name>_loss``, ...), or the name of one of the trainer's named
        evaluation datasets (evaluated alone, metrics ``<metric_key_prefix>_loss``, ... as HF). Returns ``eval_loss``; ``eval_accuracy``, ``eval_f1_macro``, ...
        (classification) or ``eval_mse``, ``eval_r2``, ... (regression); ``eval_runtime``,
        ... Fires ``on_evaluate_begin``, ``on_log`` and ``on_evaluate`` per dataset.
        ``ignore_keys`` (HF's): the model's outputs other than the loss and the logits are
        always left out of the predictions, so it may name any of them but ``"logits"``.
        A subclass's override is what training calls for its evaluations; its
        ``super().evaluate()`` evaluates at once, inside the run."""
        _check_ignore_keys(ignore_keys, "evaluate")
        if not self._core.running:  # (else a subclass's evaluate during training)
            self._prepare_run()
        if isinstance(eval_dataset, str):
            if not isinstance(self.eval_dataset, dict) or eval_dataset not in self.eval_dataset:
                names = list(self.eval_dataset) if isinstance(self.eval_dataset, dict) else []
                raise KeyError(f"evaluate: no evaluation dataset named {eval_dataset!r}; the "
                               f"trainer's named evaluation datasets are {names}")
            # as HF: the named set alone, with metric_key_prefix as given
            return self._core.evaluate(self._as_dataset(self.eval_dataset[eval_dataset],
                                                        "eval_dataset"), metric_key_prefix)
        if isinstance(eval_dataset, dict):
            metrics: Dict[str, float] = {}
            for name, data in eval_dataset.items():
                metrics.update(self._core.evaluate(self._as_dataset(data, f"eval_dataset[{name!r}]"),
                                                   f"{metric_key_prefix}_{name}"))
            return metrics
        if eval_dataset is None:
            return self._core.evaluate(None, metric_key_prefix)
        return self._core.evaluate(self._as_dataset(eval_dataset, "eval_dataset"), metric_key_prefix)

    def predict(self, test_dataset: Any, ignore_keys: Optional[List[str]] = None,
                metric_key_prefix: str = "test") -> PredictionOutput:
        """Runs the model on ``test_dataset``: ``X`` alone, an ``(X, y)`` tuple, or a dataset.
        Returns ``PredictionOutput(predictions, label_ids, metrics)``: ``predictions`` is a
        float32 array of the logits (``[n, num_outputs]`` for a classifier; any shape for a
        model of your own, concatenated over the batches and padded with -100 where batches
        differ in length, as HF); ``metrics`` has ``test_loss`` and ``test_accuracy``, ...
        when labels were given, else it is empty. ``ignore_keys`` as :meth:`evaluate`'s;
        ``metric_key_prefix`` is HF's parameter, and only its default ``"test"`` is supported."""
        _check_ignore_keys(ignore_keys, "predict")
        if metric_key_prefix != "test":
            raise ValueError(f"predict: metric_key_prefix {metric_key_prefix!r} is not supported: the "
                             f"library names prediction metrics test_loss, test_accuracy, ...; rename "
                             f"the returned metrics yourself")
        self._prepare_run()
        dataset = self._as_dataset(test_dataset, "test_dataset", features_only_ok=True)
        if not is_array_data(test_dataset):
            predictions, labels, metrics = self._core.predict_tensors(dataset)
            return PredictionOutput(np.asarray(predictions),
                                    None if labels is None else np.asarray(labels), metrics or {})
        predictions = np.empty((dataset.num_samples(), self._core.num_outputs(dataset)),
                               dtype=np.float32)
        metrics = self._core.predict(dataset, predictions) or {}
        return PredictionOutput(predictions, labels_of(test_dataset), metrics)

    # ---- user code: datasets and losses ----------------------------------------------------

    def _as_dataset(self, data: Any, what: str, features_only_ok: bool = False) -> Any:
        keep = (self._model_call.batch_keys(self._label_names)
                if self._model_call is not None else None)
        return as_dataset(data, what, features_only_ok=features_only_ok,
                          collator=self.data_collator, keep=keep)

    def compute_loss(self, model: nn.Module, inputs: Dict[str, Any], return_outputs: bool = False,
                     num_items_in_batch: Optional[int] = None) -> Any:
        """HF's ``compute_loss``: runs ``model(**inputs)`` and returns the loss it returned,
        else the trainer's built-in loss of its logits against the labels (``(loss,
        outputs)`` with ``return_outputs``): the library's rule, as in training, so under
        ``label_smoothing_factor`` the built-in (smoothed) loss replaces the model's, as HF's
        label smoother does. Override it in a subclass (or pass ``compute_loss=`` to the
        Trainer) to compute the loss your way; the library calls it once per micro-batch with
        the batch's tensors by name. The loss returned is the mean over the micro-batch: under
        gradient accumulation the library weights each micro-batch by its share of the step's
        samples (HF divides by the accumulation steps instead, which is the same for equal
        micro-batches)."""
        call = self._model_call if self._model_call is not None and self._model_call.model is model \
            else ModelCall(model, None, self.args.remove_unused_columns)
        outputs = call.run_model(inputs)
        loss = self._core.default_loss(list(outputs.items()), list(inputs.items()))
        return (loss, outputs) if return_outputs else loss

    def training_step(self, model: nn.Module, inputs: Dict[str, Any],
                      num_items_in_batch: Optional[int] = None) -> Any:
        """HF's ``training_step`` on one batch, for calling directly: ``compute_loss`` in
        training mode, divided by ``gradient_accumulation_steps`` when ``num_items_in_batch``
        is None (as HF), backpropagated into the parameters' ``.grad``; returns the loss,
        detached. ``train()`` does not call it (the library runs the loop), and a subclass
        may not override it."""
        model.train()
        loss = self.compute_loss(model, inputs, num_items_in_batch=num_items_in_batch)
        if num_items_in_batch is None and self.args.gradient_accumulation_steps > 1:
            loss = loss / self.args.gradient_accumulation_steps
        loss.backward()
        return loss.detach()

    def prediction_step(self, model: nn.Module, inputs: Dict[str, Any], prediction_loss_only: bool,
                        ignore_keys: Optional[List[str]] = None) -> Tuple[Any, Any, Any]:
        """HF's ``prediction_step`` on one batch, for calling directly: ``(loss, logits,
        labels)`` in evaluation mode without autograd (loss None without labels; logits and
        labels None with ``prediction_loss_only``). ``evaluate()`` does not call it (the
        library runs the loop), and a subclass may not override it."""
        labels = next((inputs[name] for name in self._label_names if name in inputs), None)
        model.eval()
        with no_grad():
            if labels is not None:
                loss, outputs = self.compute_loss(model, inputs, return_outputs=True)
                loss = loss.detach()
            else:
                call = ModelCall(model, None, self.args.remove_unused_columns)
                loss, outputs = None, call.run_model(inputs)
        if prediction_loss_only:
            return loss, None, None
        logits = outputs["logits"] if "logits" in outputs and "logits" not in (ignore_keys or ()) else None
        return loss, logits, labels

    def _compute_loss_func_adapter(self, outputs: Dict[str, Any], batch: Dict[str, Any],
                                   num_items: int) -> Any:
        labels = next((batch[name] for name in self._label_names if name in batch), None)
        return self.compute_loss_func(ModelOutput(outputs), labels, num_items or None)
