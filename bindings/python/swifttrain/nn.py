"""Layers, spelled like ``torch.nn``: thin handles over the library's modules.

Each class creates one library module (``st_linear_create``, ``st_conv2d_create``, ...)
and keeps its handle; the library owns the parameters and does all the computing. Layers
are callable on tensors, and a model built from them can be trained by
:class:`swifttrain.Trainer` or by a loop of your own::

    model = nn.Sequential(nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Flatten(), nn.Linear(32 * 4 * 4, 10))
    logits = model(st.randn(8, 1, 8, 8))          # st_module_forward
    model.state_dict()["0.weight"].shape          # (32, 1, 3, 3)

Parameters are initialised like PyTorch from the generator seeded by
:func:`swifttrain.manual_seed`. ``parameters()``, ``state_dict()`` and layer attributes
such as ``layer.weight`` are tensors sharing memory with the module.

The constructors' defaults are the library's (``st_layer_defaults``, which reads the core's
table of PyTorch's defaults), read once at import: the signatures show them but do not
repeat them.
"""

from __future__ import annotations

import collections
import numbers
import sys
from typing import Any, Iterator, List, Mapping, NamedTuple, Optional, Tuple

import numpy as np

from . import _swifttrain as _C
from . import _layer_defaults as _D
from ._tensor import Tensor, tensor
from . import _nn_utils as utils

# `import swifttrain.nn.utils` and `from swifttrain.nn.utils import clip_grad_norm_` work as
# torch's, though this module is not a package.
sys.modules[__name__ + ".utils"] = utils

__all__ = [
    "Module", "Parameter", "ModuleList", "ModuleDict", "Linear", "ReLU", "Sequential", "Conv2d", "MaxPool2d", "AvgPool2d", "Flatten",
    "Embedding", "LayerNorm", "BatchNorm1d", "BatchNorm2d", "Dropout", "GELU", "SiLU", "Tanh",
    "Sigmoid", "LeakyReLU", "Softplus", "Softmax", "LogSoftmax", "MultiheadAttention",
    "TransformerEncoderLayer",
]

_ACTIVATIONS = _C.enum_names("activation")  # st_activation, by the library's names


class _IncompatibleKeys(NamedTuple):
    missing_keys: List[str]
    unexpected_keys: List[str]


def _pair(value: Any) -> Tuple[int, int]:
    if isinstance(value, (numbers.Integral, np.integer)):
        return (int(value), int(value))
    first, second = value
    return (int(first), int(second))


def _state_value(value: Any) -> Tensor:
    """A state-dict value given as an array or list: floats of any width as float32 (as torch's
    load_state_dict copies into a float32 parameter), else the type tensor() gives it."""
    array = np.asarray(value)
    return tensor(array, dtype=np.float32 if array.dtype.kind == "f" else None)


def _state_dict_error(message: str) -> Exception:
    error = _C.StateDictError(message)
    error.status = -2
    return error


class Parameter(Tensor):
    """A tensor that is a module's parameter (``torch.nn.Parameter``): assigned as an
    attribute of a :class:`Module`, it is registered under that name and trained.
    ``Parameter(data)`` shares ``data``'s memory when ``data`` is a tensor (as torch) and
    requires gradients; only float32 values can."""

    __slots__ = ()

    def __new__(cls, data: Any = None, requires_grad: bool = True) -> "Parameter":
        if data is None:
            value = tensor(np.empty(0, dtype=np.float32))
        elif isinstance(data, _C.Tensor):
            value = data.detach()
        else:
            value = tensor(data)
        if value.dtype.name != "float32":
            raise TypeError(f"Parameter: only float32 tensors can be parameters (they require "
                            f"gradients), got {value.dtype!r}")
        value.__class__ = cls
        value.requires_grad = requires_grad
        return value  # type: ignore[return-value]

    def __init__(self, data: Any = None, requires_grad: bool = True) -> None:
        pass

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()


def _library_host(module: "Module", target: Any) -> _C.Module:
    """A library module (``st_module_create_custom``) with ``module``'s parameters, buffers
    and children declared under torch's names; its forward calls ``target`` (held weakly).
    A built-in module's state is adopted as it is."""
    host = _C.custom_module_create(type(module).__name__, target)
    if module._handle is not None:
        _C.module_adopt(host, module._handle)
        return host
    for name, value in module._parameters.items():
        if value is not None:
            trains = value.requires_grad
            _C.module_add_parameter(host, name, value)
            value.requires_grad = trains  # a frozen parameter (requires_grad=False) stays frozen
    for name, value in module._buffers.items():
        if value is not None and name not in module._non_persistent:
            _C.module_add_buffer(host, name, value)
    for name, child in module.named_children():
        _C.module_add_child(host, name, child._handle if child._handle is not None
                            else _library_host(child, None))
    return host


def _structure(module: "Module", prefix: str = "") -> List[Tuple[str, int]]:
    """What the library was given of a Python model: (name, identity) of each parameter and of
    each built-in child module, recursively; a built-in model is fixed."""
    if module._handle is not None:
        return [(prefix or "(model)", id(module))]
    out = [(prefix + name, id(p)) for name, p in module._parameters.items() if p is not None]
    out += [(prefix + name, 0) for name, b in module._buffers.items()
            if b is not None and name not in module._non_persistent]
    for name, child in module.named_children():
        out += (_structure(child, f"{prefix}{name}.") if child._handle is None
                else [(prefix + name, id(child))])
    return out


def _python_buffers(module: "Module") -> List[Tuple["Module", str, Tensor]]:
    """(module, name, tensor) of every persistent buffer of the Python modules of a model, as
    registered with the library."""
    if module._handle is not None:
        return []
    out = [(module, name, b) for name, b in module._buffers.items()
           if b is not None and name not in module._non_persistent]
    for child in module.children():
        out += _python_buffers(child)
    return out


class Module:
    """Base class of the layers and of models of your own, as ``torch.nn.Module``.

    A layer of this package holds one library module handle: its ``forward`` runs in the
    library. Subclass ``Module`` to write a model of your own: assign layers, :class:`Parameter`
    s, :class:`ModuleList` s and :class:`ModuleDict` s as attributes (registered as torch
    does, so ``state_dict()`` names are torch's) and write ``forward`` in Python::

        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.embedding = nn.Embedding(100, 32)
                self.head = nn.Linear(32, 2)

            def forward(self, input_ids, labels=None):
                logits = self.head(self.embedding(input_ids).mean(dim=1))
                return {"logits": logits}

    :class:`swifttrain.Trainer` trains such a model: the library calls ``forward`` once per
    micro-batch with the batch's tensors by name (HF's ``model(**inputs)``); the operations
    inside run in the library, which records autograd there.
    """

    def __init__(self, handle: Optional[_C.Module] = None) -> None:
        object.__setattr__(self, "_handle", handle)
        object.__setattr__(self, "_parameters", collections.OrderedDict())
        object.__setattr__(self, "_buffers", collections.OrderedDict())
        object.__setattr__(self, "_non_persistent", set())
        object.__setattr__(self, "_modules", collections.OrderedDict())
        object.__setattr__(self, "training", True)

    # ---- attributes: parameters, buffers and child modules are registered -------------

    def _register(self, registry: str, name: str, value: Any) -> None:
        values = self.__dict__.get(registry)
        if values is None:
            raise AttributeError(f"cannot assign to {type(self).__name__} before "
                                 f"Module.__init__() call")
        self._forget(name)
        values[name] = value

    def __setattr__(self, name: str, value: Any) -> None:
        parameters = self.__dict__.get("_parameters")
        handle = self.__dict__.get("_handle")
        if handle is not None and isinstance(value, _C.Tensor) and any(
                key == name for key, _ in handle.state_dict()):
            # a built-in layer's forward reads its own tensors in the library: a new tensor
            # set here would be trained by nobody and read by nothing (torch would use it)
            raise TypeError(
                f"{type(self).__name__}.{name} lives in the library and cannot be replaced by another "
                f"tensor (swifttrain differs from torch here; weight tying is not supported): copy the "
                f"values instead, 'with swifttrain.no_grad(): module.{name}.copy_(value)', or write a "
                f"Module subclass whose forward uses your Parameter")
        if isinstance(value, Parameter):
            self._register("_parameters", name, value)
            return
        if parameters is not None and name in parameters:
            if value is not None:
                raise TypeError(f"cannot assign '{type(value).__name__}' as parameter '{name}' "
                                f"(swifttrain.nn.Parameter or None expected)")
            parameters[name] = None
            return
        buffers = self.__dict__.get("_buffers")
        if buffers is not None and name in buffers:
            if value is not None and not isinstance(value, _C.Tensor):
                raise TypeError(f"cannot assign '{type(value).__name__}' as buffer '{name}' "
                                f"(swifttrain.Tensor or None expected)")
            buffers[name] = value
            return
        if isinstance(value, Module):
            self._register("_modules", name, value)
        elif "_modules" in self.__dict__:
            self._modules.pop(name, None)
        object.__setattr__(self, name, value)

    def _forget(self, name: str) -> None:
        for registry in ("_parameters", "_buffers", "_modules"):
            self.__dict__[registry].pop(name, None)
        self.__dict__.pop(name, None)

    def __getattr__(self, name: str) -> Any:
        # Only called for names not found normally: parameters and buffers by name.
        for registry in ("_parameters", "_buffers"):
            values = self.__dict__.get(registry)
            if values is not None and name in values:
                return values[name]
        handle = self.__dict__.get("_handle")
        if handle is not None and not name.startswith("_"):
            for key, value in handle.state_dict():
                if key == name:
                    return value
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name: str) -> None:
        if any(name in self.__dict__.get(registry, ())
               for registry in ("_parameters", "_buffers", "_modules")):
            self._forget(name)
        else:
            object.__delattr__(self, name)

    def register_parameter(self, name: str, param: Optional[Parameter]) -> None:
        """Registers ``param`` (a :class:`Parameter`, or None) under ``name``."""
        if "." in name or not name:
            raise KeyError(f'parameter name can\'t contain "." or be empty, got {name!r}')
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"cannot assign '{type(param).__name__}' object to parameter "
                            f"'{name}' (swifttrain.nn.Parameter or None required)")
        self._register("_parameters", name, param)

    def register_buffer(self, name: str, tensor_value: Optional[Tensor],
                        persistent: bool = True) -> None:
        """Registers state that is not trained (running statistics, masks): in
        ``state_dict()`` unless ``persistent=False``, as torch."""
        if "." in name or not name:
            raise KeyError(f'buffer name can\'t contain "." or be empty, got {name!r}')
        if tensor_value is not None and not isinstance(tensor_value, _C.Tensor):
            raise TypeError(f"cannot assign '{type(tensor_value).__name__}' object to buffer "
                            f"'{name}' (swifttrain.Tensor or None required)")
        self._register("_buffers", name, tensor_value)
        if persistent:
            self._non_persistent.discard(name)
        else:
            self._non_persistent.add(name)

    def register_module(self, name: str, module: Optional["Module"]) -> None:
        """Registers a child module (``add_module``)."""
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{type(module).__name__} is not a swifttrain.nn.Module subclass")
        self._register("_modules", name, module)
        object.__setattr__(self, name, module)

    add_module = register_module

    # ---- running ------------------------------------------------------------------------

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        """Runs the module (``st_module_forward``); subclasses without a library handle
        must define their own."""
        if self._handle is None:
            raise NotImplementedError(f'Module [{type(self).__name__}] is missing the '
                                      f'required "forward" function')
        return self._handle.forward(input)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.forward(*args, **kwargs)

    def train(self, mode: bool = True) -> "Module":
        """Training mode (dropout active, batch statistics) or, with ``mode=False``,
        evaluation mode, for the module and its children. Returns the module."""
        if not isinstance(mode, bool):
            raise ValueError("training mode is expected to be boolean")
        if self._handle is not None:
            self._handle.train(mode)
        object.__setattr__(self, "training", mode)
        for child in self.children():
            if self._handle is None:
                child.train(mode)
            else:
                object.__setattr__(child, "training", mode)
        return self

    def eval(self) -> "Module":
        """Evaluation mode (``train(False)``). Returns the module."""
        return self.train(False)

    # ---- parameters and state -----------------------------------------------------------

    def named_parameters(self, prefix: str = "", recurse: bool = True) -> List[Tuple[str, Tensor]]:
        """``[(name, parameter), ...]`` with dotted names ("0.weight"), sharing memory with
        the module: its own parameters first, then each child's, as torch."""
        if self._handle is not None:
            return [(prefix + name, value) for name, value in self._handle.named_parameters()]
        return self._named("named_parameters", self._parameters.items(), prefix, recurse)

    def _named(self, method: str, own: Any, prefix: str, recurse: bool) -> List[Tuple[str, Any]]:
        """A Python module's (name, value) pairs of ``own`` that are set, then (``recurse``)
        what ``method`` gives of each child."""
        named = [(prefix + name, value) for name, value in own if value is not None]
        for child_name, child in self.named_children() if recurse else ():
            part = getattr(child, method)(f"{prefix}{child_name}.")
            named += part.items() if isinstance(part, Mapping) else part
        return named

    def parameters(self, recurse: bool = True) -> List[Tensor]:
        """The parameters as a list of tensors sharing memory with the module."""
        return [value for _, value in self.named_parameters(recurse=recurse)]

    def named_buffers(self, prefix: str = "", recurse: bool = True) -> List[Tuple[str, Tensor]]:
        """``[(name, buffer), ...]``: state that is saved but not trained."""
        if self._handle is not None:
            own = {name for name, _ in self._handle.named_parameters()}
            return [(prefix + name, value) for name, value in self._handle.state_dict()
                    if name not in own]
        return self._named("named_buffers", self._buffers.items(), prefix, recurse)

    def buffers(self, recurse: bool = True) -> List[Tensor]:
        return [value for _, value in self.named_buffers(recurse=recurse)]

    def state_dict(self, prefix: str = "") -> "collections.OrderedDict[str, Tensor]":
        """Parameters and persistent buffers by name, as torch's ``state_dict()``: per module,
        its parameters, its buffers, then its children's. The tensors share memory with the
        module and are detached, as torch's (``v.numpy()`` and in-place writes work)."""
        if self._handle is not None:
            return collections.OrderedDict((prefix + name, value.detach())
                                           for name, value in self._handle.state_dict())
        own = list(self._parameters.items()) + [(name, b) for name, b in self._buffers.items()
                                                if name not in self._non_persistent]
        return collections.OrderedDict((name, value.detach()) for name, value
                                       in self._named("state_dict", own, prefix, True))

    def load_state_dict(self, state_dict: Mapping[str, Any], strict: bool = True) -> _IncompatibleKeys:
        """Copies values (tensors or numpy arrays) into the parameters and buffers by name.
        With ``strict``, missing and unexpected names are errors; mismatched shapes always
        are. Raises :class:`swifttrain.StateDictError` (a ``RuntimeError``) naming every
        offending key; nothing is changed then. Returns ``(missing_keys, unexpected_keys)``."""
        items = [(name, value if isinstance(value, _C.Tensor) else _state_value(value))
                 for name, value in state_dict.items()]
        own = self.state_dict()
        given = [name for name, _ in items]
        missing = [name for name in own if name not in set(given)]
        unexpected = [name for name in given if name not in own]
        if self._handle is not None:
            self._handle.load_state_dict(items, strict)
            return _IncompatibleKeys(missing, unexpected)
        parts = []
        if strict and missing:
            parts.append("missing keys: " + ", ".join(f'"{k}"' for k in missing))
        if strict and unexpected:
            parts.append("unexpected keys: " + ", ".join(f'"{k}"' for k in unexpected))
        mismatched = [f'"{name}": copying a param with shape {tuple(value.shape)} '
                      f'({value.dtype!r}), the shape in the current model is '
                      f'{tuple(own[name].shape)} ({own[name].dtype!r})'
                      for name, value in items if name in own
                      and (tuple(value.shape) != tuple(own[name].shape)
                           or value.dtype != own[name].dtype)]
        if mismatched:
            parts.append("size mismatch for " + "; ".join(mismatched))
        if parts:
            raise _state_dict_error(f"Error(s) in loading state_dict for {type(self).__name__}: "
                                    + "; ".join(parts))
        for name, value in items:
            if name in own:  # memory moves; the library keeps every number
                np.copyto(np.asarray(own[name].detach()), np.asarray(value.detach()))
        return _IncompatibleKeys(missing, unexpected)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Drops every parameter's gradient."""
        if self._handle is not None:
            self._handle.zero_grad()
            return
        for value in self._parameters.values():
            if value is not None:
                value.grad = None
        for child in self.children():
            child.zero_grad()

    def requires_grad_(self, requires_grad: bool = True) -> "Module":
        for parameter in self.parameters():
            parameter.requires_grad = requires_grad
        return self

    def num_parameters(self) -> int:
        """Number of scalar parameters (weights and biases) in the module and its children."""
        if self._handle is not None:
            return self._handle.num_parameters()
        return sum(int(np.prod(p.shape)) for p in self.parameters())

    # ---- structure ----------------------------------------------------------------------

    def children(self) -> Iterator["Module"]:
        return iter([m for m in self._modules.values() if m is not None])

    def named_children(self) -> Iterator[Tuple[str, "Module"]]:
        return iter([(n, m) for n, m in self._modules.items() if m is not None])

    def modules(self) -> Iterator["Module"]:
        yield self
        for child in self.children():
            yield from child.modules()

    def named_modules(self, prefix: str = "") -> Iterator[Tuple[str, "Module"]]:
        yield prefix, self
        for name, child in self.named_children():
            yield from child.named_modules(f"{prefix}.{name}" if prefix else name)

    def to(self, *args: Any, **kwargs: Any) -> "Module":
        """The module itself: everything lives on the CPU in float32."""
        return self

    def cpu(self) -> "Module":
        return self

    #: the attributes ``extra_repr`` shows as ``name=value`` (the layers', as torch's)
    _repr_fields: Tuple[str, ...] = ()

    def extra_repr(self) -> str:
        return ", ".join(f"{name}={getattr(self, name)}" for name in self._repr_fields)

    def __repr__(self) -> str:
        lines = [f"({name}): {child!r}".replace("\n", "\n  ")
                 for name, child in self._modules.items()]
        extra = self.extra_repr()
        if not lines:
            return f"{type(self).__name__}({extra})"
        body = ([extra] if extra else []) + lines
        return f"{type(self).__name__}(\n  " + "\n  ".join(body) + "\n)"


class ModuleList(Module):
    """Modules in a list (``torch.nn.ModuleList``), registered as children "0", "1", ...
    so their parameters are named "<attribute>.0.weight", ... It has no forward."""

    def __init__(self, modules: Optional[Any] = None) -> None:
        super().__init__()
        if modules is not None:
            self.extend(modules)

    def _check(self, module: Any) -> "Module":
        if not isinstance(module, Module):
            raise TypeError(f"ModuleList: {type(module).__name__} is not a swifttrain.nn.Module")
        return module

    def _index(self, index: int) -> int:
        n = len(self._modules)
        if not -n <= index < n:
            raise IndexError(f"index {index} is out of range")
        return index + n if index < 0 else index

    def __getitem__(self, index: Any) -> Any:
        values = list(self._modules.values())
        if isinstance(index, slice):
            return ModuleList(values[index])
        return values[self._index(index)]

    def __setitem__(self, index: int, module: "Module") -> None:
        self.register_module(str(self._index(index)), self._check(module))

    def _renumber(self, values: List["Module"]) -> None:
        for key in list(self._modules):
            self._forget(key)
        for i, module in enumerate(values):
            self.register_module(str(i), module)

    def __delitem__(self, index: Any) -> None:
        values = list(self._modules.values())
        del values[index]
        self._renumber(values)

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator["Module"]:
        return iter(list(self._modules.values()))

    def append(self, module: "Module") -> "ModuleList":
        self.register_module(str(len(self)), self._check(module))
        return self

    def extend(self, modules: Any) -> "ModuleList":
        for module in modules:
            self.append(module)
        return self

    def insert(self, index: int, module: "Module") -> None:
        values = list(self._modules.values())
        values.insert(index, self._check(module))
        self._renumber(values)

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("ModuleList has no forward; iterate over it in yours")


class ModuleDict(Module):
    """Modules by name (``torch.nn.ModuleDict``), registered as children under their keys,
    in insertion order. It has no forward."""

    def __init__(self, modules: Optional[Any] = None) -> None:
        super().__init__()
        if modules is not None:
            self.update(modules)

    def __getitem__(self, key: str) -> "Module":
        return self._modules[key]

    def __setitem__(self, key: str, module: "Module") -> None:
        if not isinstance(module, Module):
            raise TypeError(f"ModuleDict: {type(module).__name__} is not a swifttrain.nn.Module")
        self.register_module(key, module)

    def __delitem__(self, key: str) -> None:
        self._forget(key)

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._modules))

    def __contains__(self, key: object) -> bool:
        return key in self._modules

    def keys(self) -> Any:
        return self._modules.keys()

    def items(self) -> Any:
        return self._modules.items()

    def values(self) -> Any:
        return self._modules.values()

    def pop(self, key: str) -> "Module":
        module = self._modules[key]
        self._forget(key)
        return module

    def update(self, modules: Any) -> None:
        pairs = modules.items() if isinstance(modules, Mapping) else modules
        for key, module in pairs:
            self[key] = module

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("ModuleDict has no forward; pick its modules in yours")


class Linear(Module):
    """``y = x W^T + b`` with ``W`` of shape ``[out_features, in_features]``, as
    ``torch.nn.Linear``; initialised uniformly in ``+-1/sqrt(in_features)``."""

    def __init__(self, in_features: int, out_features: int, bias: bool = _D.LINEAR.bias) -> None:
        super().__init__(_C.linear_create(in_features, out_features, bool(bias)))
        self.in_features = in_features
        self.out_features = out_features
        if not bias:
            self.bias = None

    def extra_repr(self) -> str:
        has_bias = "bias" not in self.__dict__
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={has_bias}")


class ReLU(Module):
    """Element-wise ``max(x, 0)``. No parameters."""

    def __init__(self, inplace: bool = False) -> None:
        super().__init__(_C.activation_create(_ACTIVATIONS["relu"]))


class Sequential(Module):
    """Runs its modules in order; children are named ``"0"``, ``"1"``, ... A module may
    appear only once. Built from library layers it runs in the library (and can be trained
    by :class:`swifttrain.Trainer`); with a Python-defined module inside, it runs the
    children from Python."""

    def __init__(self, *modules: Module) -> None:
        for index, module in enumerate(modules):
            if not isinstance(module, Module):
                raise TypeError(f"Sequential: argument {index} is a {type(module).__name__}, "
                                f"not a swifttrain.nn.Module (e.g. nn.Linear(64, 10))")
        in_library = all(module._handle is not None for module in modules)
        super().__init__(_C.sequential_create([module._handle for module in modules])
                         if in_library else None)
        for index, module in enumerate(modules):
            self._modules[str(index)] = module

    def forward(self, input: Any) -> Any:  # noqa: A002
        if self._handle is not None:
            return self._handle.forward(input)
        for module in self._modules.values():
            input = module(input)
        return input

    def __len__(self) -> int:
        return len(self._modules)

    def __getitem__(self, index: int) -> Module:
        return list(self._modules.values())[index]

    def __iter__(self) -> Iterator[Module]:
        return iter(list(self._modules.values()))


class Conv2d(Module):
    """2-D convolution over ``[N, C, H, W]``, as ``torch.nn.Conv2d``: weight
    ``[out_channels, in_channels / groups, kh, kw]``, PyTorch's default initialisation.
    ``padding`` may be an int, a pair, ``"valid"`` or ``"same"`` (stride 1)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any,
                 stride: Any = _D.CONV2D.stride, padding: Any = _D.CONV2D.padding,
                 dilation: Any = _D.CONV2D.dilation, groups: int = _D.CONV2D.groups,
                 bias: bool = _D.CONV2D.bias, padding_mode: str = "zeros") -> None:
        if padding_mode != "zeros":
            raise NotImplementedError(f"Conv2d: padding_mode={padding_mode!r} is not supported; "
                                      f"only 'zeros' is")
        kernel, dilation_pair = _pair(kernel_size), _pair(dilation)
        if padding == "valid":
            padding = 0
        elif padding == "same":
            totals = [dilation_pair[i] * (kernel[i] - 1) for i in range(2)]
            if _pair(stride) != (1, 1) or any(total % 2 for total in totals):
                raise NotImplementedError("Conv2d: padding='same' needs stride 1 and an even "
                                          "total padding")
            padding = (totals[0] // 2, totals[1] // 2)
        super().__init__(_C.conv2d_create(in_channels, out_channels, kernel, _pair(stride),
                                          _pair(padding), dilation_pair, groups, bool(bias)))
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride = kernel, _pair(stride)
        self.padding, self.dilation, self.groups = _pair(padding), dilation_pair, groups
        if not bias:
            self.bias = None

    def extra_repr(self) -> str:
        text = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}")
        if self.padding != (0, 0):
            text += f", padding={self.padding}"
        if self.dilation != (1, 1):
            text += f", dilation={self.dilation}"
        if self.groups != 1:
            text += f", groups={self.groups}"
        if "bias" in self.__dict__:
            text += ", bias=False"
        return text


class MaxPool2d(Module):
    """Maximum over windows, as ``torch.nn.MaxPool2d``; ``stride`` defaults to the kernel
    size."""

    _repr_fields = ("kernel_size", "stride", "padding", "dilation", "ceil_mode")

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = _D.MAX_POOL2D.padding,
                 dilation: Any = _D.MAX_POOL2D.dilation, return_indices: bool = False,
                 ceil_mode: bool = _D.MAX_POOL2D.ceil_mode) -> None:
        if return_indices:
            raise NotImplementedError("MaxPool2d(return_indices=True) is not supported")
        super().__init__(_C.max_pool2d_create(kernel_size, stride, padding, dilation,
                                              bool(ceil_mode)))
        self.kernel_size = kernel_size
        self.stride = kernel_size if stride is None else stride
        self.padding, self.dilation, self.ceil_mode = padding, dilation, ceil_mode


class AvgPool2d(Module):
    """Mean over windows, as ``torch.nn.AvgPool2d``; ``stride`` defaults to the kernel size."""

    _repr_fields = ("kernel_size", "stride", "padding")

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = _D.AVG_POOL2D.padding,
                 ceil_mode: bool = _D.AVG_POOL2D.ceil_mode,
                 count_include_pad: bool = _D.AVG_POOL2D.count_include_pad,
                 divisor_override: Optional[int] = None) -> None:
        super().__init__(_C.avg_pool2d_create(kernel_size, stride, padding, bool(ceil_mode),
                                              bool(count_include_pad), divisor_override))
        self.kernel_size = kernel_size
        self.stride = kernel_size if stride is None else stride
        self.padding, self.ceil_mode = padding, ceil_mode
        self.count_include_pad, self.divisor_override = count_include_pad, divisor_override


class Flatten(Module):
    """Flattens dimensions ``start_dim .. end_dim`` (by default all but the batch one)."""

    _repr_fields = ("start_dim", "end_dim")

    def __init__(self, start_dim: int = _D.FLATTEN.start_dim, end_dim: int = _D.FLATTEN.end_dim) -> None:
        super().__init__(_C.flatten_create(start_dim, end_dim))
        self.start_dim, self.end_dim = start_dim, end_dim


class Embedding(Module):
    """A lookup table ``weight [num_embeddings, embedding_dim]`` initialised N(0, 1); the
    ``padding_idx`` row gets no gradient."""

    def __init__(self, num_embeddings: int, embedding_dim: int,
                 padding_idx: Optional[int] = None) -> None:
        if padding_idx is not None and padding_idx < 0:
            padding_idx += num_embeddings
        super().__init__(_C.embedding_create(num_embeddings, embedding_dim, padding_idx))
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        self.padding_idx = padding_idx

    def extra_repr(self) -> str:
        text = f"{self.num_embeddings}, {self.embedding_dim}"
        return text + (f", padding_idx={self.padding_idx}" if self.padding_idx is not None else "")


class LayerNorm(Module):
    """Normalises over the last ``len(normalized_shape)`` dimensions, then scales and
    shifts (weight 1, bias 0)."""

    def __init__(self, normalized_shape: Any, eps: float = _D.LAYER_NORM.eps,
                 elementwise_affine: bool = _D.LAYER_NORM.elementwise_affine,
                 bias: bool = _D.LAYER_NORM.bias) -> None:
        shape = ((int(normalized_shape),) if isinstance(normalized_shape, (numbers.Integral, np.integer))
                 else tuple(int(n) for n in normalized_shape))
        super().__init__(_C.layer_norm_create(shape, eps, bool(elementwise_affine), bool(bias)))
        self.normalized_shape, self.eps = shape, eps
        self.elementwise_affine = elementwise_affine

    def extra_repr(self) -> str:
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}")


class _BatchNorm(Module):
    _create = None

    def __init__(self, num_features: int, eps: float = _D.BATCH_NORM.eps,
                 momentum: Optional[float] = _D.BATCH_NORM.momentum,
                 affine: bool = _D.BATCH_NORM.affine,
                 track_running_stats: bool = _D.BATCH_NORM.track_running_stats) -> None:
        if momentum is None:
            raise NotImplementedError(f"{type(self).__name__}(momentum=None) (a cumulative "
                                      f"average) is not supported")
        super().__init__(type(self)._create(num_features, eps, momentum, bool(affine),
                                            bool(track_running_stats)))
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """Batch normalisation over ``[N, C]`` or ``[N, C, L]``, as ``torch.nn.BatchNorm1d``."""

    _create = staticmethod(_C.batch_norm1d_create)


class BatchNorm2d(_BatchNorm):
    """Batch normalisation over ``[N, C, H, W]``, as ``torch.nn.BatchNorm2d``."""

    _create = staticmethod(_C.batch_norm2d_create)


class Dropout(Module):
    """Zeroes elements with probability ``p`` in training mode (scaling the rest by
    1/(1-p)); the identity in evaluation mode."""

    def __init__(self, p: float = _D.DROPOUT.p, inplace: bool = False) -> None:
        super().__init__(_C.dropout_create(p))
        self.p = p

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace=False"


class GELU(Module):
    """x * Phi(x), exact (``approximate="none"``) or with the tanh approximation."""

    def __init__(self, approximate: str = _D.GELU_APPROXIMATE) -> None:
        if approximate not in ("none", "tanh"):
            raise ValueError(f"approximate must be 'none' or 'tanh', got {approximate!r}")
        super().__init__(_C.activation_create(_ACTIVATIONS["gelu" if approximate == "none"
                                                           else "gelu_tanh"]))
        self.approximate = approximate

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class SiLU(Module):
    """x * sigmoid(x)."""

    def __init__(self, inplace: bool = False) -> None:
        super().__init__(_C.activation_create(_ACTIVATIONS["silu"]))


class Tanh(Module):
    def __init__(self) -> None:
        super().__init__(_C.activation_create(_ACTIVATIONS["tanh"]))


class Sigmoid(Module):
    def __init__(self) -> None:
        super().__init__(_C.activation_create(_ACTIVATIONS["sigmoid"]))


class LeakyReLU(Module):
    """x for x >= 0, ``negative_slope * x`` otherwise."""

    _repr_fields = ("negative_slope",)

    def __init__(self, negative_slope: float = _D.LEAKY_RELU.negative_slope,
                 inplace: bool = False) -> None:
        super().__init__(_C.leaky_relu_create(negative_slope))
        self.negative_slope = negative_slope


class Softplus(Module):
    """log(1 + exp(beta x)) / beta, linear where beta x > threshold."""

    _repr_fields = ("beta", "threshold")

    def __init__(self, beta: float = _D.SOFTPLUS.beta, threshold: float = _D.SOFTPLUS.threshold) -> None:
        super().__init__(_C.softplus_create(beta, threshold))
        self.beta, self.threshold = beta, threshold


class Softmax(Module):
    """Softmax along ``dim`` (which must be given)."""

    _repr_fields = ("dim",)
    _log = False

    def __init__(self, dim: Optional[int] = None) -> None:
        if dim is None:
            raise ValueError(f"{type(self).__name__}: pass dim explicitly (torch's implicit "
                             f"choice of dimension is deprecated)")
        super().__init__(_C.softmax_create(dim, self._log))
        self.dim = dim


class LogSoftmax(Softmax):
    """Log-softmax along ``dim`` (which must be given)."""

    _log = True


class MultiheadAttention(Module):
    """``torch.nn.MultiheadAttention``: parameters ``in_proj_weight [3E, E]``,
    ``in_proj_bias [3E]``, ``out_proj.weight`` and ``out_proj.bias``. Inputs are
    ``[L, N, E]``, or ``[N, L, E]`` with ``batch_first``.

    ``forward(query, key, value, key_padding_mask=None, need_weights=True, attn_mask=None,
    average_attn_weights=True, is_causal=False)`` returns ``(output, weights)``; weights are
    averaged over heads ``[N, L, S]``, or None without ``need_weights``. A bool
    ``attn_mask`` marks positions that may **not** be attended; a float one is added.
    ``key_padding_mask`` and per-head weights are not supported.
    """

    def __init__(self, embed_dim: int, num_heads: int,
                 dropout: float = _D.MULTIHEAD_ATTENTION.dropout,
                 bias: bool = _D.MULTIHEAD_ATTENTION.bias,
                 add_bias_kv: bool = False, add_zero_attn: bool = False,
                 kdim: Optional[int] = None, vdim: Optional[int] = None,
                 batch_first: bool = _D.MULTIHEAD_ATTENTION.batch_first) -> None:
        if add_bias_kv or add_zero_attn or kdim not in (None, embed_dim) or \
                vdim not in (None, embed_dim):
            raise NotImplementedError("MultiheadAttention: add_bias_kv, add_zero_attn and "
                                      "kdim / vdim other than embed_dim are not supported")
        super().__init__(_C.multihead_attention_create(embed_dim, num_heads, dropout, bool(bias),
                                                       bool(batch_first)))
        self.embed_dim, self.num_heads, self.dropout = embed_dim, num_heads, dropout
        self.batch_first, self._bias = batch_first, bool(bias)

    def forward(self, query: Tensor, key: Tensor, value: Tensor,  # type: ignore[override]
                key_padding_mask: Optional[Tensor] = None, need_weights: bool = True,
                attn_mask: Optional[Tensor] = None, average_attn_weights: bool = True,
                is_causal: bool = False) -> Tuple[Tensor, Optional[Tensor]]:
        if key_padding_mask is not None:
            raise NotImplementedError("MultiheadAttention: key_padding_mask is not supported; "
                                      "fold it into attn_mask")
        if need_weights and not average_attn_weights:
            raise NotImplementedError("MultiheadAttention: per-head attention weights "
                                      "(average_attn_weights=False) are not supported")
        self_attention = key is query and value is query
        return self._handle.attention_forward(query, None if self_attention else key,
                                              None if self_attention else value, attn_mask,
                                              bool(is_causal), bool(need_weights))

    def __repr__(self) -> str:
        return (f"MultiheadAttention(\n  (out_proj): NonDynamicallyQuantizableLinear("
                f"in_features={self.embed_dim}, out_features={self.embed_dim}, "
                f"bias={self._bias})\n)")


class TransformerEncoderLayer(Module):
    """``torch.nn.TransformerEncoderLayer``: self-attention and a feed-forward block, each
    with a residual connection and layer norm (after, or before with ``norm_first``).
    ``activation`` is ``"relu"`` or ``"gelu"``. Inputs are ``[S, N, E]``, or ``[N, S, E]``
    with ``batch_first``.

    ``forward(src, src_mask=None, src_key_padding_mask=None, is_causal=False)``: a bool
    ``src_mask`` marks positions that may **not** be attended; a float one is added.
    """

    def __init__(self, d_model: int, nhead: int,
                 dim_feedforward: int = _D.TRANSFORMER_ENCODER_LAYER.dim_feedforward,
                 dropout: float = _D.TRANSFORMER_ENCODER_LAYER.dropout,
                 activation: Any = _D.TRANSFORMER_ENCODER_LAYER.activation,
                 layer_norm_eps: float = _D.TRANSFORMER_ENCODER_LAYER.layer_norm_eps,
                 batch_first: bool = _D.TRANSFORMER_ENCODER_LAYER.batch_first,
                 norm_first: bool = _D.TRANSFORMER_ENCODER_LAYER.norm_first,
                 bias: bool = _D.TRANSFORMER_ENCODER_LAYER.bias) -> None:
        if activation not in ("relu", "gelu"):
            raise NotImplementedError(f"TransformerEncoderLayer: activation must be 'relu' or "
                                      f"'gelu', got {activation!r}")
        super().__init__(_C.transformer_encoder_layer_create(
            d_model, nhead, dim_feedforward, dropout, _ACTIVATIONS[activation], layer_norm_eps,
            bool(batch_first), bool(norm_first), bool(bias)))
        self.d_model, self.nhead, self.dim_feedforward = d_model, nhead, dim_feedforward
        self.dropout_p, self.activation = dropout, activation
        self.layer_norm_eps, self.batch_first, self.norm_first = layer_norm_eps, batch_first, norm_first
        self._bias = bool(bias)

    def forward(self, src: Tensor, src_mask: Optional[Tensor] = None,  # type: ignore[override]
                src_key_padding_mask: Optional[Tensor] = None,
                is_causal: bool = False) -> Tensor:
        if src_key_padding_mask is not None:
            raise NotImplementedError("TransformerEncoderLayer: src_key_padding_mask is not "
                                      "supported; fold it into src_mask")
        if src_mask is None and not is_causal:
            return self._handle.forward(src)
        return self._handle.attention_forward(src, None, None, src_mask, bool(is_causal),
                                              False)[0]

    def __repr__(self) -> str:
        d, f, b, eps = self.d_model, self.dim_feedforward, self._bias, self.layer_norm_eps
        children = [
            f"(self_attn): MultiheadAttention(\n    (out_proj): NonDynamicallyQuantizableLinear("
            f"in_features={d}, out_features={d}, bias={b})\n  )",
            f"(linear1): Linear(in_features={d}, out_features={f}, bias={b})",
            f"(dropout): Dropout(p={self.dropout_p}, inplace=False)",
            f"(linear2): Linear(in_features={f}, out_features={d}, bias={b})",
            f"(norm1): LayerNorm(({d},), eps={eps}, elementwise_affine=True)",
            f"(norm2): LayerNorm(({d},), eps={eps}, elementwise_affine=True)",
            f"(dropout1): Dropout(p={self.dropout_p}, inplace=False)",
            f"(dropout2): Dropout(p={self.dropout_p}, inplace=False)",
        ]
        return "TransformerEncoderLayer(\n  " + "\n  ".join(children) + "\n)"
