"""Connects Python callbacks to the library's events.

Each callback is registered with the library (``st_trainer_add_callback``) for exactly the
events whose ``on_*`` method it overrides, so the library calls into Python only where some
code is waiting. Callbacks therefore run in the order they were added, and the library
applies its rules (flags acted on after all callbacks of an event, a sticky
``should_training_stop``) to Python callbacks exactly as to C ones. A callback the library
runs itself (``TerminateOnNaNCallback``, ``MetricsLoggerCallback``) registers the library's
own instead; the library cannot unregister it, so it cannot be removed.

The extension calls each method itself (trainer_callbacks.c), as HF's CallbackHandler does:
``callback.on_x(trainer.args, trainer.state, trainer.control, model=..., event_data=...,
optimizer=..., lr_scheduler=...)`` plus the keyword of ``_VALUES_KEYWORD``, with no Python
in between; ``set_callback_protocol`` below tells it the classes and keyword names.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Tuple, Union

from . import _swifttrain as _C
from .callbacks import TrainerCallback, TrainerControl, _LibraryCallback

if TYPE_CHECKING:
    from .trainer import Trainer

logger = logging.getLogger("swifttrain")

# HF method name of each library event, by event number.
EVENT_NAMES: Tuple[str, ...] = tuple(_C.event_name(event) for event in range(_C.EVENT_COUNT))

# The keyword under which HF passes an event's values.
_VALUES_KEYWORD = {"on_log": "logs", "on_evaluate": "metrics", "on_predict": "metrics",
                   "on_evaluate_after_all": "metrics", "on_evaluate_standalone_end": "metrics",
                   "on_epoch_checkpoint": "metrics"}

def overrides(callback: Any, name: str) -> bool:
    """Whether ``callback`` has its own ``name`` method rather than TrainerCallback's no-op."""
    method = getattr(callback, name, None)
    if method is None:
        return False
    return getattr(method, "__func__", method) is not getattr(TrainerCallback, name, None)


def event_mask(callback: Any) -> int:
    """The library event mask of the events ``callback`` overrides (all of them when it
    overrides ``run_event``)."""
    if overrides(callback, "run_event"):
        return (1 << len(EVENT_NAMES)) - 1
    mask = 0
    for event, name in enumerate(EVENT_NAMES):
        if overrides(callback, name):
            mask |= 1 << event
    return mask


class _Batches:
    """Stands for HF's ``eval_dataloader`` in ``on_prediction_step``: ``len()`` is the
    number of batches of the evaluation or prediction in progress."""

    def __init__(self, count: int) -> None:
        self._count = count

    def __len__(self) -> int:
        return self._count

    def __repr__(self) -> str:
        return f"<{self._count} batches>"


class _ParamGroup(dict):
    """One optimizer group as torch's dict (``lr``, ``weight_decay``, ``momentum``,
    ``initial_lr``, ``num_params``); setting ``lr``, ``weight_decay`` or ``momentum`` changes
    the library's group (``st_optim_set_param_group``)."""

    _SETTABLE = ("lr", "weight_decay", "momentum")

    def __init__(self, event_data: Any, index: int, values: Dict[str, Any]) -> None:
        super().__init__(values)
        self._event_data, self._index = event_data, index

    def __setitem__(self, key: str, value: Any) -> None:
        if key not in self._SETTABLE:
            raise KeyError(f"param_groups[{self._index}][{key!r}] cannot be set; "
                           f"the library's groups take {', '.join(self._SETTABLE)}")
        values = {name: self[name] for name in self._SETTABLE}
        values[key] = float(value)
        self._event_data.set_param_group(self._index, values["lr"], values["weight_decay"],
                                         values["momentum"])  # the library first: it may refuse
        super().__setitem__(key, values[key])

    def update(self, *args: Any, **kwargs: Any) -> None:
        for key, value in dict(*args, **kwargs).items():
            self[key] = value

    def setdefault(self, key: str, default: Any = None) -> Any:
        if key not in self:
            self[key] = default
        return self[key]


class _EventOptimizer:
    """HF's ``optimizer=`` keyword: the optimizer of the training in progress, valid during
    the callback. ``param_groups`` is a list of dicts, as torch's; a learning rate set at
    ``on_pre_optimizer_step`` (after the schedule set the step's rate) is the step's."""

    __slots__ = ("_event_data",)

    def __init__(self, event_data: Any) -> None:
        self._event_data = event_data

    @property
    def param_groups(self) -> List[_ParamGroup]:
        groups = self._event_data.param_groups
        if groups is None:
            raise RuntimeError("the optimizer is there during training only (not in evaluate, "
                               "predict or on_init_end)")
        return [_ParamGroup(self._event_data, i, group) for i, group in enumerate(groups)]


class _EventScheduler:
    """HF's ``lr_scheduler=`` keyword: the learning-rate schedule of the training in
    progress, valid during the callback. ``get_last_lr()`` gives each group's current rate
    (torch's); ``factor(step)`` the schedule's multiplier of the base rate at ``step``
    (None with ``reduce_lr_on_plateau``, whose factor depends on the evaluations)."""

    __slots__ = ("_event_data",)

    def __init__(self, event_data: Any) -> None:
        self._event_data = event_data

    def get_last_lr(self) -> List[float]:
        return [group["lr"] for group in _EventOptimizer(self._event_data).param_groups]

    def factor(self, step: int) -> Optional[float]:
        return self._event_data.lr_factor(step)


# The keywords every event passes, in the order the extension gives their values; then the
# event's own (_VALUES_KEYWORD, or HF's eval_dataloader at on_prediction_step).
_KEYWORDS = ("model", "event_data", "optimizer", "lr_scheduler")
_C.set_callback_protocol(
    TrainerControl, _EventOptimizer, _EventScheduler, _Batches,
    tuple(_KEYWORDS + ((_VALUES_KEYWORD[name],) if name in _VALUES_KEYWORD
                       else ("eval_dataloader",) if name == "on_prediction_step" else ())
          for name in EVENT_NAMES))


class CallbackHandler:
    """The trainer's callbacks, in order, and their registrations with the library."""

    def __init__(self, trainer: "Trainer", core: _C.Trainer) -> None:
        self._core = core
        core.set_callback_owner(trainer)  # its args, state, control and model, at every event
        self._entries: List[Tuple[Any, Optional[int]]] = []  # (callback, registration)

    @property
    def callbacks(self) -> List[Any]:
        return [callback for callback, _ in self._entries]

    @property
    def callback_list(self) -> str:
        return "\n".join(type(callback).__name__ for callback in self.callbacks)

    def add_callback(self, callback: Union[type, Any]) -> None:
        instance = callback() if isinstance(callback, type) else callback
        if any(type(existing) is type(instance) for existing in self.callbacks):
            logger.warning("You are adding a %s to the callbacks of this Trainer, but there is "
                           "already one. The current list of callbacks is:\n%s",
                           type(instance).__name__, self.callback_list)
        if isinstance(instance, _LibraryCallback):
            instance._add_to_library(self._core)
        mask = event_mask(instance)  # a subclass's own methods run as any callback's
        registration = None
        if mask:
            run_event = overrides(instance, "run_event")  # else TrainerCallback's: the method itself
            registration = self._core.add_callback(instance, mask, int(getattr(instance, "priority", 0)),
                                                   run_event)
        self._entries.append((instance, registration))

    def prepare_run(self, args: Any) -> None:
        """Before train / evaluate / predict: a callback's ``_idle_events(args)``, the events
        its methods have nothing to do at in that run, are skipped by the library's trampoline
        without taking the GIL (``ProgressCallback`` with no bar to draw), so the default
        callbacks cost no step anything."""
        for callback, registration in self._entries:
            idle = getattr(callback, "_idle_events", None)
            if registration is not None and idle is not None:
                mask = 0
                for name in idle(args):
                    mask |= 1 << EVENT_NAMES.index(name)
                self._core.set_callback_muted(registration, mask)

    def pop_callback(self, callback: Union[type, Any]) -> Optional[Any]:
        for index, (instance, registration) in enumerate(self._entries):
            if (isinstance(instance, callback) if isinstance(callback, type)
                    else instance is callback):
                if isinstance(instance, _LibraryCallback):
                    raise ValueError(f"cannot remove a {type(instance).__name__}: the library "
                                     f"runs it since it was added and cannot unregister it; "
                                     f"create the Trainer without it")
                if registration is not None:
                    self._core.remove_callback(registration)
                del self._entries[index]
                return instance
        return None
