"""HF's Trainer optimizer surface over the library: ``optimizers=(optimizer, scheduler)``,
``create_optimizer``, ``create_scheduler``, ``create_optimizer_and_scheduler``,
``.optimizer`` and ``.lr_scheduler``, as objects of :mod:`swifttrain.optim`.

Training runs in the library, which then steps the given optimizer (the same library
optimizer the Python object holds) and sets each group's rate from the given schedule at
every step: the schedule must be a library schedule (what :func:`swifttrain.get_scheduler`,
``StepLR``, ``ExponentialLR`` and ``create_scheduler`` make), since no Python runs per step.
Without either, the library makes them from the arguments at each ``train()``, as before.
"""

from __future__ import annotations

import inspect
from typing import Any, Dict, List, Optional

from . import _swifttrain as _C
from .optim import Optimizer
from .optim import optimizer as _optimizer
from .optim.lr_scheduler import LambdaLR, LRScheduler, ReduceLROnPlateau

_CLASSES = {cls._KIND: cls for cls in (_optimizer.SGD, _optimizer.AdamW, _optimizer.Adam, _optimizer.RMSprop,
                                      _optimizer.Adagrad, _optimizer.Adadelta, _optimizer.Lion)}


def _keywords(cls: type, options: Dict[str, Any]) -> Dict[str, Any]:
    """The constructor keywords of ``cls`` from st_optim_options fields (betas is
    (momentum, beta2))."""
    keywords: Dict[str, Any] = {}
    for name in inspect.signature(cls).parameters:
        if name == "betas":
            keywords[name] = (options["momentum"], options["beta2"])
        elif name in options and name not in ("lr", "weight_decay"):
            keywords[name] = options[name]
    return keywords


def library_schedule(scheduler: Optional[LRScheduler]) -> Any:
    """The library schedule (``_swifttrain.LRSchedule``) behind ``scheduler``, or None for
    None; raises for a scheduler the library cannot run by itself."""
    if scheduler is None:
        return None
    functions = getattr(scheduler, "lr_lambdas", None) if isinstance(scheduler, LambdaLR) \
        else [getattr(scheduler, "_factor", None)]
    owners = {id(getattr(f, "__self__", None)): getattr(f, "__self__", None) for f in functions or [None]}
    owner = next(iter(owners.values())) if len(owners) == 1 else None
    if isinstance(owner, _C.LRSchedule):
        return owner
    why = ("ReduceLROnPlateau follows the evaluations: set lr_scheduler_type='reduce_lr_on_plateau' "
           "instead" if isinstance(scheduler, ReduceLROnPlateau) else
           "the library sets every step's rate itself, from a library schedule, and calls no Python "
           "per step; make it with swifttrain.get_scheduler(...), StepLR or ExponentialLR, or pass "
           "None and set lr_scheduler_type")
    raise NotImplementedError(f"optimizers=(optimizer, {type(scheduler).__name__}): {why}")


class TrainerOptimizers:
    """The Trainer's optimizer methods (mixed into :class:`swifttrain.Trainer`)."""

    args: Any
    model: Any
    _core: Any
    optimizer: Optional[Optimizer]
    lr_scheduler: Optional[LRScheduler]

    def _set_optimizers(self, optimizers: Any) -> None:
        if not (isinstance(optimizers, (tuple, list)) and len(optimizers) == 2):
            raise TypeError("optimizers must be a pair (optimizer, scheduler), either of them None")
        optimizer, scheduler = optimizers
        if optimizer is not None and not isinstance(optimizer, Optimizer):
            raise TypeError(f"optimizers[0] must be a swifttrain.optim Optimizer (e.g. "
                            f"optim.AdamW(model.parameters())), got {type(optimizer).__name__}")
        if scheduler is not None and optimizer is None:
            raise ValueError("optimizers=(None, scheduler): a scheduler needs its optimizer; "
                             "give both, or the optimizer alone")
        if scheduler is not None and getattr(scheduler, "optimizer", optimizer) is not optimizer:
            raise ValueError("optimizers=(optimizer, scheduler): the scheduler was made for another optimizer")
        self.optimizer, self.lr_scheduler = optimizer, scheduler
        self._hand_optimizers()

    def _hand_optimizers(self) -> None:
        """Gives the library the optimizer and schedule it is to train with (None: its own);
        while it runs (create_* called by _optimizers_for_library), they are returned instead."""
        if not self._core.running:
            self._core.set_optimizer(*self._library_optimizers())

    def _library_optimizers(self) -> Any:
        return (None if self.optimizer is None else self.optimizer._core,
                library_schedule(self.lr_scheduler))

    def _optimizers_for_library(self, num_training_steps: int) -> Any:
        """Called by the library when training starts, for a subclass that overrides
        create_optimizer, create_scheduler or create_optimizer_and_scheduler (HF calls
        create_optimizer_and_scheduler(num_training_steps=max_steps) there too)."""
        self.create_optimizer_and_scheduler(num_training_steps=num_training_steps)
        return self._library_optimizers()

    def _after_training(self) -> None:
        """The scheduler counts the steps the library took, as if stepped once per step."""
        if self.lr_scheduler is not None:
            self.lr_scheduler.last_epoch = self.state.global_step
            self.lr_scheduler._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def create_optimizer(self, model: Any = None) -> Optimizer:
        """HF's ``create_optimizer``: ``self.optimizer`` when there is one, else the optimizer
        the arguments describe (``optim``, ``learning_rate``, ``weight_decay``,
        ``adam_beta1``, ..., ``optim_args``: the library's choice and numbers) as a
        :mod:`swifttrain.optim` object over two groups, the parameters with weight decay and
        those without (biases, normalisation layers), which training then uses."""
        if self.optimizer is None:
            kind, options = self._core.optimizer_options()
            decay: List[Any] = []
            rest: List[Any] = []
            for name, parameter in (model if model is not None else self.model).named_parameters():
                if parameter.requires_grad:
                    (decay if self._core.parameter_decays(name) else rest).append(parameter)
            groups = [{"params": params, "weight_decay": wd}
                      for params, wd in ((decay, options["weight_decay"]), (rest, 0.0)) if params]
            cls = _CLASSES[kind]
            self.optimizer = cls(groups, lr=options["lr"], weight_decay=options["weight_decay"],
                                 **_keywords(cls, options))
            self._hand_optimizers()
        return self.optimizer

    def create_scheduler(self, num_training_steps: int, optimizer: Optional[Optimizer] = None) -> Optional[LRScheduler]:
        """HF's ``create_scheduler``: ``self.lr_scheduler`` when there is one, else the
        schedule the arguments describe (``lr_scheduler_type``, its warmup and kwargs) for
        ``num_training_steps`` steps, a ``LambdaLR`` over the library's schedule, which
        training then uses. Under ``reduce_lr_on_plateau`` it is None: the library runs that
        rule itself, from the evaluations (swifttrain differs from HF here)."""
        if self.lr_scheduler is None and self.args.lr_scheduler_type != "reduce_lr_on_plateau":
            optimizer = optimizer if optimizer is not None else self.create_optimizer()
            self.lr_scheduler = LambdaLR(optimizer, self._core.create_schedule(num_training_steps).factor)
            if optimizer is self.optimizer:
                self._hand_optimizers()
        return self.lr_scheduler

    def create_optimizer_and_scheduler(self, num_training_steps: int) -> None:
        """HF's: :meth:`create_optimizer`, then :meth:`create_scheduler` for it."""
        self.create_optimizer()
        self.create_scheduler(num_training_steps=num_training_steps, optimizer=self.optimizer)
