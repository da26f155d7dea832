"""``torch.optim.lr_scheduler``'s schedulers for :mod:`swifttrain.optim` optimizers.

``StepLR`` and ``ExponentialLR`` (and the schedules :func:`swifttrain.get_scheduler` makes)
take their factors from the library's ``st_lr_schedule``: a pure function of the step, so
the learning rate of step ``k`` is ``initial_lr * factor(k)`` for every group.
``ReduceLROnPlateau`` is the library's ``st_plateau``. ``LambdaLR`` also takes a Python
function of your own, as torch's does. The defaults in the signatures are the library's
(``st_layer_defaults``: "step_lr", "reduce_lr_on_plateau"), read once at import.

Usage is torch's: build the scheduler after the optimizer, call ``optimizer.step()`` and
then ``scheduler.step()`` once per step (``scheduler.step(metric)`` after each evaluation
for ``ReduceLROnPlateau``). The new rates are written into ``optimizer.param_groups``, and
so into the library's optimizer, for the next step.
"""

from __future__ import annotations

import inspect
import math
import numbers
import types
from typing import Any, Callable, Dict, List, Optional, Sequence, Union

from .. import _layer_defaults as _D
from .. import _swifttrain as _C
from .._options import options_text
from .optimizer import Optimizer

__all__ = ["LRScheduler", "LambdaLR", "StepLR", "ExponentialLR", "ReduceLROnPlateau"]

_KINDS = _C.enum_names("lr_scheduler")  # st_lr_scheduler, by the library's names


def _check_optimizer(optimizer: Any) -> None:
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"{type(optimizer).__name__} is not a swifttrain.optim Optimizer")


class LRScheduler:
    """Base class: ``base_lrs`` (each group's ``initial_lr``), ``last_epoch`` (the number
    of ``step()`` calls so far), ``step()``, ``get_last_lr()``, ``state_dict()`` and
    ``load_state_dict()``, as ``torch.optim.lr_scheduler.LRScheduler``. Subclasses say
    what ``get_lr()`` is."""

    def __init__(self, optimizer: Optimizer, last_epoch: int = -1) -> None:
        _check_optimizer(optimizer)
        self.optimizer = optimizer
        if last_epoch == -1:
            for group in optimizer.param_groups:
                group.setdefault("initial_lr", group["lr"])
        else:
            for i, group in enumerate(optimizer.param_groups):
                if "initial_lr" not in group:
                    raise KeyError(f"param 'initial_lr' is not specified in param_groups[{i}] "
                                   f"when resuming an optimizer")
        self.base_lrs: List[float] = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        self._step_count = 0
        self._last_lr: List[float] = []
        self.step()

    def get_lr(self) -> List[float]:
        """The rates for ``last_epoch``."""
        raise NotImplementedError

    def get_last_lr(self) -> List[float]:
        """The rates the last ``step()`` (or the constructor) set, one per group."""
        return self._last_lr

    def step(self, epoch: Optional[int] = None) -> None:
        """Advances to the next step (or to ``epoch``) and sets every group's ``lr``."""
        self._step_count += 1
        self.last_epoch = self.last_epoch + 1 if epoch is None else int(epoch)
        for group, lr in zip(self.optimizer.param_groups, self.get_lr()):
            group["lr"] = lr
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def state_dict(self) -> Dict[str, Any]:
        """Everything but the optimizer (and the schedule functions)."""
        return {key: value for key, value in self.__dict__.items()
                if key not in ("optimizer", "lr_lambdas", "_factor")}

    def load_state_dict(self, state_dict: Dict[str, Any]) -> None:
        """Restores ``last_epoch``, ``base_lrs`` and the last rates (the optimizer's own
        state dict restores its groups' ``lr``)."""
        self.__dict__.update({key: value for key, value in state_dict.items()
                              if key != "lr_lambdas"})


class LambdaLR(LRScheduler):
    """Each group's lr is its ``initial_lr`` times ``lr_lambda(last_epoch)``; ``lr_lambda``
    is one function or one per group. :func:`swifttrain.get_scheduler` returns a
    ``LambdaLR`` whose function is a library schedule."""

    def __init__(self, optimizer: Optimizer, lr_lambda: Union[Callable[[int], float],
                                                                Sequence[Callable[[int], float]]],
                 last_epoch: int = -1) -> None:
        _check_optimizer(optimizer)
        count = len(optimizer.param_groups)
        if isinstance(lr_lambda, (list, tuple)):
            if len(lr_lambda) != count:
                raise ValueError(f"Expected {count} lr_lambdas, but got {len(lr_lambda)}")
            self.lr_lambdas = list(lr_lambda)
        else:
            self.lr_lambdas = [lr_lambda] * count
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> List[float]:
        return [base * f(self.last_epoch) for f, base in zip(self.lr_lambdas, self.base_lrs)]

    def state_dict(self) -> Dict[str, Any]:
        state = super().state_dict()
        # As torch: functions (and library schedules) are not saved; other callable objects
        # save their attributes.
        state["lr_lambdas"] = [None if isinstance(f, types.FunctionType)
                               or not hasattr(f, "__dict__") else dict(f.__dict__)
                               for f in self.lr_lambdas]
        return state

    def load_state_dict(self, state_dict: Dict[str, Any]) -> None:
        super().load_state_dict(state_dict)
        for f, saved in zip(self.lr_lambdas, state_dict.get("lr_lambdas", [])):
            if saved is not None:
                f.__dict__.update(saved)


class _LibraryScheduler(LRScheduler):
    """A scheduler whose factors come from one library schedule: ``LRSchedule(...).factor(k)``
    (``st_lr_schedule``) is the factor of optimizer step ``k`` (0-based)."""

    def __init__(self, optimizer: Optimizer, kind: int, kwargs: Dict[str, Any],
                 last_epoch: int) -> None:
        _check_optimizer(optimizer)
        # initial_lr matters only to polynomial and cosine_with_min_lr; any positive value
        # does for the others.
        self._factor = _C.LRSchedule(kind, 0, 0, options_text(type(self).__name__, kwargs),
                                     1.0).factor
        vars(self).update(kwargs)  # step_size, gamma, ...
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> List[float]:
        factor = self._factor(self.last_epoch)
        return [base * factor for base in self.base_lrs]


class StepLR(_LibraryScheduler):
    """``torch.optim.lr_scheduler.StepLR``: the lr of step ``k`` is
    ``initial_lr * gamma ** (k // step_size)``."""

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = _D.STEP_LR.gamma,
                 last_epoch: int = -1) -> None:
        super().__init__(optimizer, _KINDS["step"], {"step_size": step_size, "gamma": gamma},
                         last_epoch)


class ExponentialLR(_LibraryScheduler):
    """``torch.optim.lr_scheduler.ExponentialLR``: ``initial_lr * gamma ** k``."""

    def __init__(self, optimizer: Optimizer, gamma: float, last_epoch: int = -1) -> None:
        super().__init__(optimizer, _KINDS["exponential"], {"gamma": gamma}, last_epoch)


class ReduceLROnPlateau(LRScheduler):
    """``torch.optim.lr_scheduler.ReduceLROnPlateau`` over the library's ``st_plateau``:
    ``step(metrics)`` after each evaluation multiplies every group's lr by ``factor`` (not
    below ``min_lr``) once the metric has not improved for more than ``patience``
    evaluations. Arguments, defaults, rules and ``state_dict()`` keys are torch's."""

    def __init__(self, optimizer: Optimizer, mode: str = _D.REDUCE_LR_ON_PLATEAU_MODE,
                 factor: float = _D.REDUCE_LR_ON_PLATEAU.factor,
                 patience: int = _D.REDUCE_LR_ON_PLATEAU.patience,
                 threshold: float = _D.REDUCE_LR_ON_PLATEAU.threshold,
                 threshold_mode: str = _D.REDUCE_LR_ON_PLATEAU_THRESHOLD_MODE,
                 cooldown: int = _D.REDUCE_LR_ON_PLATEAU.cooldown,
                 min_lr: Union[float, Sequence[float]] = _D.REDUCE_LR_ON_PLATEAU.min_lr,
                 eps: float = _D.REDUCE_LR_ON_PLATEAU.eps) -> None:
        _check_optimizer(optimizer)
        if isinstance(min_lr, (list, tuple)):
            if len(min_lr) != len(optimizer.param_groups):
                raise ValueError(f"expected {len(optimizer.param_groups)} min_lrs, got "
                                 f"{len(min_lr)}")
            if len(set(min_lr)) > 1:
                raise NotImplementedError("ReduceLROnPlateau: a different min_lr per group is "
                                          "not supported; give one value")
            min_lr = min_lr[0]
        options = {key: value for key, value in locals().items() if key in self._DEFAULTS}
        self._start(optimizer, options_text("ReduceLROnPlateau", options))

    # The library's defaults (the signature's), as state_dict reports them; each value's type
    # is the one an option string's value is read as (min_lr a float, as the library's).
    _DEFAULTS = {name: p.default for name, p in inspect.signature(__init__).parameters.items()
                 if name not in ("self", "optimizer")}
    _DEFAULTS["min_lr"] = float(_DEFAULTS["min_lr"])

    def _start(self, optimizer: Optimizer, options: Optional[str]) -> None:
        self._plateau = _C.Plateau(options)  # the library checks the options first
        config = dict(self._DEFAULTS)
        for item in filter(None, (options or "").split(",")):  # "key=value,...", now valid
            key, _, value = (part.strip() for part in item.partition("="))
            default = self._DEFAULTS.get(key)
            config[key] = value if isinstance(default, str) else type(default)(float(value)) \
                if default is not None else value
        for key in self._CONFIG:
            setattr(self, key, config[key])
        self.min_lrs = [config["min_lr"]] * len(optimizer.param_groups)
        self.optimizer = optimizer
        self.last_epoch = 0
        self._step_count = 0
        self._last_lr = [group["lr"] for group in optimizer.param_groups]

    @classmethod
    def _from_options(cls, optimizer: Optimizer, options: Optional[str]) -> "ReduceLROnPlateau":
        """From a library option string (HF's ``scheduler_specific_kwargs``): the library
        checks the keys and values."""
        _check_optimizer(optimizer)
        self = cls.__new__(cls)
        self._start(optimizer, options)
        return self

    def step(self, metrics: Any, epoch: Optional[int] = None) -> None:  # type: ignore[override]
        """Feeds one evaluation's metric (a number or a one-element Tensor)."""
        if isinstance(metrics, _C.Tensor):
            metrics = metrics.item()
        if isinstance(metrics, bool) or not isinstance(metrics, numbers.Real):
            raise TypeError(f"ReduceLROnPlateau.step: metrics must be a number, got "
                            f"{type(metrics).__name__}")
        self._step_count += 1
        self.last_epoch = self.last_epoch + 1 if epoch is None else int(epoch)
        groups = self.optimizer.param_groups
        rates = self._plateau.step(float(metrics), [group["lr"] for group in groups])
        for group, lr in zip(groups, rates):
            if group["lr"] != lr:
                group["lr"] = lr
        self._last_lr = [group["lr"] for group in groups]

    _CONFIG = ("mode", "factor", "patience", "threshold", "threshold_mode", "cooldown", "eps")

    def state_dict(self) -> Dict[str, Any]:
        """torch's keys: the arguments, ``min_lrs``, and the counters ``best`` (``mode_worse``,
        i.e. +-inf, before the first metric), ``num_bad_epochs``, ``cooldown_counter``,
        ``last_epoch``, ``_last_lr``."""
        best, bad, cooldown = self._plateau.get_state()
        worse = math.inf if self.mode == "min" else -math.inf
        state = {key: getattr(self, key) for key in self._CONFIG}
        state.update(min_lrs=list(self.min_lrs), mode_worse=worse,
                     best=worse if best is None else best, num_bad_epochs=bad,
                     cooldown_counter=cooldown, last_epoch=self.last_epoch,
                     _last_lr=list(self._last_lr))
        return state

    def load_state_dict(self, state_dict: Dict[str, Any]) -> None:
        """Restores what :meth:`state_dict` returned (a torch ReduceLROnPlateau's too):
        arguments that differ rebuild the library's plateau, then its counters are set."""
        missing = {"best", "num_bad_epochs", "cooldown_counter"} - state_dict.keys()
        if missing:
            raise KeyError(f"ReduceLROnPlateau.load_state_dict: missing {sorted(missing)}")
        config = {key: state_dict.get(key, getattr(self, key)) for key in self._CONFIG}
        min_lrs = list(state_dict.get("min_lrs") or self.min_lrs)
        plateau = self._plateau
        if any(getattr(self, key) != value for key, value in config.items()) \
                or list(self.min_lrs) != min_lrs:
            if len(set(min_lrs)) > 1:
                raise NotImplementedError("ReduceLROnPlateau: a different min_lr per group is "
                                          "not supported")
            plateau = _C.Plateau(options_text("ReduceLROnPlateau",
                                              dict(config, min_lr=min_lrs[0])))
        best = state_dict["best"]
        worse = math.inf if config["mode"] == "min" else -math.inf
        if best is not None and best == worse:
            best = None  # torch's mode_worse: no metric yet
        # set up completely before anything changes: a bad state leaves this one as it was
        plateau.set_state(best, int(state_dict["num_bad_epochs"]), int(state_dict["cooldown_counter"]))
        self._plateau = plateau
        for key, value in config.items():
            setattr(self, key, value)
        self.min_lrs = min_lrs
        self.last_epoch = int(state_dict.get("last_epoch", self.last_epoch))
        self._last_lr = list(state_dict.get("_last_lr", self._last_lr))
