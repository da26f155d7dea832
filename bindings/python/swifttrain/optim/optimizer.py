"""``torch.optim``'s optimizers over the library's ``st_optim``.

Each optimizer holds one ``_swifttrain.Optim`` handle; the library keeps the state and does
every update (PyTorch's rules, checked against PyTorch step by step). This file translates
PyTorch's arguments and parameter groups into ``st_optim_create`` /
``st_optim_add_param_group`` calls and reads and writes the groups' settings through
``st_optim_get_param_group`` / ``st_optim_set_param_group``.

What the library keeps per group: ``lr``, ``weight_decay`` and the momentum (SGD and
RMSprop's ``momentum``, ``betas[0]`` of Adam, AdamW and Lion). Every other hyper-parameter
(``eps``, ``betas[1]``, ``nesterov``, ...) is one per optimizer, taken from the first
group (the constructor's defaults unless that group sets it): later groups may repeat the
value but not change it.

The constructors' defaults are the library's (``st_optim_options_init``, which reads the
core's table of PyTorch's defaults), read once at import: the signatures show them
(``help(optim.Adam)``, ``inspect.signature``) but do not repeat them.
"""

from __future__ import annotations

import collections.abc
import inspect
import numbers
from typing import Any, Callable, Dict, Iterable, Iterator, List, Optional, Tuple

import numpy as np

from .. import _swifttrain as _C
from .._tensor import Tensor, enable_grad, tensor

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta", "Lion"]

_KINDS = _C.enum_names("optimizer")  # st_optimizer, by the library's names

_CORE_KEYS = ("lr", "weight_decay")
# The st_optim_options fields (their values tell bool from float).
_FIELDS = _C.optim_options_init(_KINDS["sgd"])


def _number(owner: str, key: str, value: Any) -> float:
    """A hyper-parameter as the double the library takes (a one-element Tensor too)."""
    if isinstance(value, _C.Tensor):
        value = value.item()
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Real, np.number)):
        raise TypeError(f"{owner}: {key} must be a number, got {type(value).__name__} {value!r}")
    return float(value)


def _betas(owner: str, value: Any) -> Tuple[float, float]:
    try:
        beta1, beta2 = value
    except (TypeError, ValueError):
        raise TypeError(f"{owner}: betas must be a pair of numbers, got {value!r}") from None
    return (_number(owner, "betas[0]", beta1), _number(owner, "betas[1]", beta2))


class _ParamGroup(collections.abc.MutableMapping):
    """One entry of ``optimizer.param_groups``: a dict whose ``lr``, ``weight_decay`` and
    momentum (``momentum`` or ``betas``) live in the library. Reading them asks the library;
    assigning them changes the group there, so the next ``step()`` uses the new value (a
    scheduler, or a manual ``group["lr"] = 0.01``). Other keys are kept here: the
    optimizer-wide hyper-parameters (which a group cannot change) and any key of your own
    (``initial_lr``, ...)."""

    __slots__ = ("_optimizer", "_index", "_params", "_local")

    def __init__(self, optimizer: "Optimizer", index: int, params: List[Tensor],
                 local: Dict[str, Any]) -> None:
        self._optimizer, self._index, self._params, self._local = optimizer, index, params, local

    def _info(self) -> Dict[str, float]:
        return self._optimizer._core.get_param_group(self._index)

    def _core_keys(self) -> Tuple[str, ...]:
        key = self._optimizer._MOMENTUM_KEY
        return _CORE_KEYS + ((key,) if key else ())

    def __getitem__(self, key: str) -> Any:
        if key == "params":
            return self._params
        if key in _CORE_KEYS:
            return self._info()[key]
        if key == self._optimizer._MOMENTUM_KEY:
            momentum = self._info()["momentum"]
            return (momentum, self._optimizer._fixed["betas[1]"]) if key == "betas" else momentum
        return self._local[key]

    def __setitem__(self, key: str, value: Any) -> None:
        owner = type(self._optimizer).__name__
        if key == "params":
            raise ValueError(f"{owner}: a group's params cannot be replaced; use "
                             f"add_param_group for new parameters")
        if key in self._core_keys():
            info = self._info()
            settings = {k: info[k] for k in ("lr", "weight_decay", "momentum")}
            if key == self._optimizer._MOMENTUM_KEY:
                settings["momentum"] = self._optimizer._group_momentum({key: value})
            else:
                settings[key] = _number(owner, key, value)
            self._optimizer._core.set_param_group(self._index, *settings.values())
            return
        if key in self._optimizer._fixed:
            self._optimizer._check_fixed(key, value)
        self._local[key] = value

    def __delitem__(self, key: str) -> None:
        if key == "params" or key in self._core_keys() or key in self._optimizer._fixed:
            raise KeyError(f"{key!r} cannot be removed from a parameter group")
        del self._local[key]

    def __iter__(self) -> Iterator[str]:
        yield "params"
        yield from self._core_keys()
        yield from self._local

    def __len__(self) -> int:
        return 1 + len(self._core_keys()) + len(self._local)

    def __repr__(self) -> str:
        return repr(dict(self))


class Optimizer:
    """Base class of the optimizers, with ``torch.optim.Optimizer``'s interface: ``step``,
    ``zero_grad``, ``add_param_group``, ``param_groups``, ``defaults``, ``state``,
    ``state_dict`` and ``load_state_dict``.

    ``params`` is an iterable of Tensors (e.g. ``model.parameters()``) or of dicts, each a
    parameter group with ``"params"`` and its own ``lr``, ``weight_decay`` and momentum
    (``momentum``, or ``betas`` whose first value may differ)."""

    _KIND: int = -1
    _MOMENTUM_KEY: Optional[str] = None  # "momentum", "betas" or None
    # A subclass's constructor (made by __init_subclass__): its arguments after params, in
    # torch's order ("*": the rest are keyword-only), and arguments it always passes.
    _ARGUMENTS: Tuple[str, ...] = ()
    _ALWAYS: Dict[str, Any] = {}

    def __init__(self, params: Iterable[Any], defaults: Dict[str, Any]) -> None:
        if defaults.get("maximize"):
            raise NotImplementedError(f"{type(self).__name__}: maximize=True is not supported")
        self.defaults = dict(defaults)
        self._core: Optional[_C.Optim] = None
        # The optimizer-wide hyper-parameters in force (from the first group).
        self._fixed: Dict[str, Any] = {}
        self.param_groups: List[_ParamGroup] = []
        if isinstance(params, _C.Tensor):
            raise TypeError("params argument given to the optimizer should be an iterable of "
                            "Tensors or dicts, but got a Tensor")
        groups = list(params)
        if not groups:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(groups[0], collections.abc.Mapping):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Gives a subclass that lists ``_ARGUMENTS`` its constructor, whose signature
        (``help``, ``inspect.signature``) has the library's defaults for its kind
        (st_optim_options_init): ``betas`` is (momentum, beta2); ``maximize`` and
        ``decoupled_weight_decay`` (Adam's switch to AdamW) are off."""
        super().__init_subclass__(**kwargs)
        if "_ARGUMENTS" not in vars(cls):
            return
        core = dict(_C.optim_options_init(cls._KIND), maximize=False,
                    decoupled_weight_decay=False)
        core["betas"] = (core["momentum"], core["beta2"])
        kind = inspect.Parameter.POSITIONAL_OR_KEYWORD
        parameters = [inspect.Parameter("self", kind),
                      inspect.Parameter("params", kind, annotation="Iterable[Any]")]
        for name in cls._ARGUMENTS:
            if name == "*":
                kind = inspect.Parameter.KEYWORD_ONLY
                continue
            annotation = "Tuple[float, float]" if name == "betas" else type(core[name]).__name__
            parameters.append(inspect.Parameter(name, kind, default=core[name],
                                                annotation=annotation))
        signature, always = inspect.Signature(parameters), dict(cls._ALWAYS)

        def __init__(self: Optimizer, *args: Any, **kwargs: Any) -> None:
            try:
                arguments = signature.bind(self, *args, **kwargs)
            except TypeError as error:  # named as Python names a call's errors
                raise TypeError(f"{type(self).__name__}.__init__() {error}") from None
            arguments.apply_defaults()
            given = dict(arguments.arguments)
            del given["self"]
            Optimizer.__init__(self, given.pop("params"), {**given, **always})

        __init__.__signature__ = signature  # type: ignore[attr-defined]
        __init__.__qualname__ = f"{cls.__qualname__}.__init__"
        cls.__init__ = __init__  # type: ignore[assignment]

    def _kind(self) -> int:
        return self._KIND

    def _core_options(self, fixed: Dict[str, Any]) -> Dict[str, Any]:
        """The optimizer-wide st_optim_options fields from the hyper-parameters in force:
        those named as the library's fields (``betas[1]`` is ``beta2``)."""
        owner, options = type(self).__name__, {}
        for key, value in fixed.items():
            field = "beta2" if key == "betas[1]" else key
            if field in _FIELDS:
                options[field] = (bool(value) if isinstance(_FIELDS[field], bool)
                                  else _number(owner, key, value))
        return options

    # ---- groups ----------------------------------------------------------------------------

    def _check_fixed(self, key: str, value: Any) -> None:
        if key == "maximize" and value:
            raise NotImplementedError(f"{type(self).__name__}: maximize=True is not supported")
        expected = self._fixed[key]
        if not np.all(value == expected):
            per_group = {"momentum": "lr, weight_decay and momentum",
                         "betas": "lr, weight_decay and betas[0]"}.get(self._MOMENTUM_KEY,
                                                                       "lr and weight_decay")
            raise ValueError(f"{type(self).__name__}: a parameter group's {key} ({value!r}) "
                             f"differs from the optimizer's ({expected!r}, from its first "
                             f"group); swifttrain keeps {key} per optimizer (per group: "
                             f"{per_group})")

    def _group_momentum(self, group: Dict[str, Any]) -> float:
        owner = type(self).__name__
        if self._MOMENTUM_KEY == "momentum":
            return _number(owner, "momentum", group["momentum"])
        if self._MOMENTUM_KEY == "betas":
            beta1, beta2 = _betas(owner, group["betas"])
            self._check_fixed("betas[1]", beta2)
            return beta1
        return 0.0

    def add_param_group(self, param_group: Dict[str, Any]) -> None:
        """Adds a group of parameters with its own ``lr``, ``weight_decay`` and momentum
        (``momentum`` or ``betas[0]``); missing settings take the optimizer's defaults
        (``torch.optim.Optimizer.add_param_group``)."""
        if not isinstance(param_group, collections.abc.Mapping):
            raise TypeError(f"param_group must be a dict, but got {type(param_group).__name__}")
        group = dict(param_group)
        if "params" not in group:
            raise ValueError("a parameter group needs 'params'")
        params = group.pop("params")
        if isinstance(params, _C.Tensor):
            params = [params]
        elif isinstance(params, (set, frozenset)):
            raise TypeError("optimizer parameters need to be organized in ordered collections, "
                            "but the ordering of tensors in sets will change between runs. "
                            "Please use a list instead.")
        else:
            params = list(params)
        for p in params:
            if not isinstance(p, _C.Tensor):
                raise TypeError(f"optimizer can only optimize Tensors, but one of the params "
                                f"is {type(p).__name__}")
        owner = type(self).__name__
        first = self._core is None
        for key, default in self.defaults.items():
            # Later groups inherit the optimizer-wide values in force (the first group's).
            if key in self._fixed:
                default = self._fixed[key]
            elif key == "betas" and not first:
                default = (_betas(owner, default)[0], self._fixed["betas[1]"])
            group.setdefault(key, default)
        if first:
            self._fixed = {key: group[key] for key in self.defaults
                           if key not in _CORE_KEYS and key != self._MOMENTUM_KEY}
            if self._MOMENTUM_KEY == "betas":
                self._fixed["betas[1]"] = _betas(owner, group["betas"])[1]
        try:
            lr = _number(owner, "lr", group["lr"])
            weight_decay = _number(owner, "weight_decay", group["weight_decay"])
            momentum = self._group_momentum(group)
            local = {key: value for key, value in group.items()
                     if key not in _CORE_KEYS and key != self._MOMENTUM_KEY}
            for key, value in local.items():
                if key in self._fixed:
                    self._check_fixed(key, value)
            if first:
                self._core = _C.Optim(self._kind(), params, lr=lr, weight_decay=weight_decay,
                                      momentum=momentum, **self._core_options(self._fixed))
        except BaseException:
            if first:
                self._fixed = {}
            raise
        if not first:
            self._core.add_param_group(params, lr, weight_decay, momentum)
        self.param_groups.append(_ParamGroup(self, len(self.param_groups), params, local))

    # ---- stepping ----------------------------------------------------------------------------

    def step(self, closure: Optional[Callable[[], Any]] = None) -> Any:
        """One update of every parameter that has a gradient (``st_optim_step``); others
        are skipped and their state does not advance. ``closure`` (optional, as in torch)
        recomputes the loss: it is called first, with autograd on, and its result is
        returned."""
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        self._core.step()
        return loss

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Drops every parameter's gradient (``st_optim_zero_grad``); with
        ``set_to_none=False`` the gradients are kept and filled with zeros instead."""
        if set_to_none:
            self._core.zero_grad()
            return
        for grad in (p.grad for group in self.param_groups for p in group["params"]):
            if grad is not None:
                grad.zero_()

    # ---- state -------------------------------------------------------------------------------

    def _state_by_index(self) -> Dict[int, Dict[str, Tensor]]:
        state: Dict[int, Dict[str, Tensor]] = {}
        for name, value in self._core.state_dict():
            index, field = name.split(".", 1)
            state.setdefault(int(index), {})[field] = value
        return state

    @property
    def state(self) -> Dict[Tensor, Dict[str, Tensor]]:
        """The per-parameter state (copies), keyed by parameter, with PyTorch's names
        (``step``, ``exp_avg``, ``momentum_buffer``, ...). Parameters that have not been
        updated yet have none."""
        params = [p for group in self.param_groups for p in group["params"]]
        return {params[index]: fields for index, fields in self._state_by_index().items()}

    def state_dict(self) -> Dict[str, Any]:
        """``{"state": {index: {"step": Tensor, "exp_avg": Tensor, ...}}, "param_groups":
        [{"lr": ..., ..., "params": [indices]}]}`` as torch's, parameters numbered across
        groups in order. The tensors are copies."""
        groups, start = [], 0
        for group in self.param_groups:
            entry = {key: value for key, value in group.items() if key != "params"}
            entry["params"] = list(range(start, start + len(group["params"])))
            start += len(group["params"])
            groups.append(entry)
        return {"state": self._state_by_index(), "param_groups": groups}

    def load_state_dict(self, state_dict: Dict[str, Any]) -> None:
        """Restores a state written by :meth:`state_dict` (of an optimizer over the same
        parameters): the per-parameter state and each group's settings."""
        groups = state_dict["param_groups"]
        if len(groups) != len(self.param_groups):
            raise ValueError("loaded state dict has a different number of parameter groups")
        if any(len(saved["params"]) != len(ours["params"])
               for saved, ours in zip(groups, self.param_groups)):
            raise ValueError("loaded state dict contains a parameter group that doesn't match "
                             "the size of optimizer's group")
        index_of = {}
        for saved in groups:
            for key in saved["params"]:
                index_of[key] = len(index_of)
        items = []
        for key, fields in state_dict["state"].items():
            if key not in index_of:
                raise ValueError(f"loaded state dict has state for parameter {key!r}, which "
                                 f"no parameter group lists")
            for field, value in fields.items():
                if not isinstance(value, _C.Tensor):
                    value = tensor(np.asarray(value, dtype=np.float32))
                items.append((f"{index_of[key]}.{field}", value))
        self._core.load_state_dict(items)
        for saved, ours in zip(groups, self.param_groups):
            for key, value in saved.items():
                if key != "params":
                    ours[key] = value

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            for key in sorted(k for k in group if k != "params"):
                lines.append(f"    {key}: {group[key]}")
        lines.append(")")
        return "\n".join(lines)


class SGD(Optimizer):
    """``torch.optim.SGD``: momentum, dampening, Nesterov, L2 weight decay."""

    _KIND, _MOMENTUM_KEY = _KINDS["sgd"], "momentum"
    _ARGUMENTS = ("lr", "momentum", "dampening", "weight_decay", "nesterov", "*", "maximize")


class Adam(Optimizer):
    """``torch.optim.Adam``: L2 weight decay added to the gradient (``AdamW``'s decoupled
    decay with ``decoupled_weight_decay=True``), optional AMSGrad."""

    _KIND, _MOMENTUM_KEY = _KINDS["adam"], "betas"
    _ARGUMENTS = ("lr", "betas", "eps", "weight_decay", "amsgrad", "*", "maximize",
                  "decoupled_weight_decay")

    def _kind(self) -> int:
        return _KINDS["adamw" if self._fixed["decoupled_weight_decay"] else "adam"]


class AdamW(Adam):
    """``torch.optim.AdamW``: Adam with decoupled weight decay (on by default: see
    ``weight_decay``)."""

    _KIND = _KINDS["adamw"]
    _ARGUMENTS = ("lr", "betas", "eps", "weight_decay", "amsgrad", "*", "maximize")
    _ALWAYS = {"decoupled_weight_decay": True}


class RMSprop(Optimizer):
    """``torch.optim.RMSprop``: optional momentum and centering."""

    _KIND, _MOMENTUM_KEY = _KINDS["rmsprop"], "momentum"
    _ARGUMENTS = ("lr", "alpha", "eps", "weight_decay", "momentum", "centered", "*", "maximize")


class Adagrad(Optimizer):
    """``torch.optim.Adagrad``."""

    _KIND = _KINDS["adagrad"]
    _ARGUMENTS = ("lr", "lr_decay", "weight_decay", "initial_accumulator_value", "eps", "*",
                  "maximize")


class Adadelta(Optimizer):
    """``torch.optim.Adadelta``."""

    _KIND = _KINDS["adadelta"]
    _ARGUMENTS = ("lr", "rho", "eps", "weight_decay", "*", "maximize")


class Lion(Optimizer):
    """Lion (Chen et al. 2023, lion-pytorch's arguments): the sign of an interpolated
    momentum, decoupled weight decay."""

    _KIND, _MOMENTUM_KEY = _KINDS["lion"], "betas"
    _ARGUMENTS = ("lr", "betas", "weight_decay")
