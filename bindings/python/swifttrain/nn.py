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
"""

from __future__ import annotations

import collections
import numbers
from typing import Any, Dict, Iterator, List, Mapping, NamedTuple, Optional, Tuple

import numpy as np

from . import _swifttrain as _C
from ._tensor import Tensor, tensor

__all__ = [
    "Module", "Linear", "ReLU", "Sequential", "Conv2d", "MaxPool2d", "AvgPool2d", "Flatten",
    "Embedding", "LayerNorm", "BatchNorm1d", "BatchNorm2d", "Dropout", "GELU", "SiLU", "Tanh",
    "Sigmoid", "LeakyReLU", "Softplus", "Softmax", "LogSoftmax", "MultiheadAttention",
    "TransformerEncoderLayer",
]

# st_activation
_ACTIVATIONS = {"relu": 0, "gelu": 1, "gelu_tanh": 2, "silu": 3, "tanh": 4, "sigmoid": 5}


class _IncompatibleKeys(NamedTuple):
    missing_keys: List[str]
    unexpected_keys: List[str]


def _pair(value: Any) -> Tuple[int, int]:
    if isinstance(value, (numbers.Integral, np.integer)):
        return (int(value), int(value))
    first, second = value
    return (int(first), int(second))


def _state_dict_error(message: str) -> Exception:
    error = _C.StateDictError(message)
    error.status = -2
    return error


class Module:
    """Base class of the layers and of models of your own.

    A layer of this package holds one library module handle: its ``forward`` runs in the
    library, and :class:`swifttrain.Trainer` can train it. You may also subclass
    ``Module`` like ``torch.nn.Module``, assigning layers as attributes and writing
    ``forward`` in Python::

        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.body = nn.Sequential(nn.Linear(64, 64), nn.ReLU())
                self.head = nn.Linear(64, 10)

            def forward(self, x):
                return self.head(self.body(x))

    Such a model works with tensors, autograd, ``parameters()``, ``state_dict()``,
    ``train()`` / ``eval()`` and ``zero_grad()``, but **not with** :class:`swifttrain.Trainer`,
    which runs the whole model inside the library: train it with a loop of your own.
    """

    def __init__(self, handle: Optional[_C.Module] = None) -> None:
        object.__setattr__(self, "_handle", handle)
        object.__setattr__(self, "_modules", collections.OrderedDict())
        object.__setattr__(self, "training", True)

    # ---- attributes: child modules are registered, parameters are looked up -------------

    def __setattr__(self, name: str, value: Any) -> None:
        modules = self.__dict__.get("_modules")
        if isinstance(value, Module):
            if modules is None:
                raise AttributeError("cannot assign a module before Module.__init__() call")
            modules[name] = value
        elif modules is not None:
            modules.pop(name, None)
        object.__setattr__(self, name, value)

    def __getattr__(self, name: str) -> Any:
        # Only called for names not found normally: parameters and buffers by name.
        handle = self.__dict__.get("_handle")
        if handle is not None and not name.startswith("_"):
            for key, value in handle.state_dict():
                if key == name:
                    return value
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

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
        for child in self._modules.values():
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
        the module."""
        if self._handle is not None:
            return [(prefix + name, value) for name, value in self._handle.named_parameters()]
        named: List[Tuple[str, Tensor]] = []
        for child_name, child in self._modules.items():
            named += child.named_parameters(f"{prefix}{child_name}.")
        return named

    def parameters(self, recurse: bool = True) -> List[Tensor]:
        """The parameters as a list of tensors sharing memory with the module."""
        return [value for _, value in self.named_parameters()]

    def state_dict(self, prefix: str = "") -> "collections.OrderedDict[str, Tensor]":
        """Parameters and buffers (running statistics) by name, as torch's ``state_dict()``;
        the tensors share memory with the module."""
        if self._handle is not None:
            return collections.OrderedDict((prefix + name, value)
                                           for name, value in self._handle.state_dict())
        state: "collections.OrderedDict[str, Tensor]" = collections.OrderedDict()
        for child_name, child in self._modules.items():
            state.update(child.state_dict(f"{prefix}{child_name}."))
        return state

    def load_state_dict(self, state_dict: Mapping[str, Any], strict: bool = True) -> _IncompatibleKeys:
        """Copies values (tensors or numpy arrays) into the parameters and buffers by name.
        With ``strict``, missing and unexpected names are errors; mismatched shapes always
        are. Raises :class:`swifttrain.StateDictError` (a ``RuntimeError``) naming every
        offending key; nothing is changed then. Returns ``(missing_keys, unexpected_keys)``."""
        items = [(name, value if isinstance(value, _C.Tensor) else tensor(value))
                 for name, value in state_dict.items()]
        own = list(self.state_dict().keys())
        given = [name for name, _ in items]
        missing = [name for name in own if name not in set(given)]
        unexpected = [name for name in given if name not in set(own)]
        if self._handle is not None:
            self._handle.load_state_dict(items, strict)
            return _IncompatibleKeys(missing, unexpected)
        if strict and (missing or unexpected):
            parts = []
            if missing:
                parts.append("missing keys: " + ", ".join(f'"{k}"' for k in missing))
            if unexpected:
                parts.append("unexpected keys: " + ", ".join(f'"{k}"' for k in unexpected))
            raise _state_dict_error(f"Error(s) in loading state_dict for {type(self).__name__}: "
                                    + "; ".join(parts))
        for child_name, child in self._modules.items():
            head = f"{child_name}."
            child.load_state_dict({name[len(head):]: value for name, value in items
                                   if name.startswith(head)}, strict=False)
        return _IncompatibleKeys(missing, unexpected)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Drops every parameter's gradient."""
        if self._handle is not None:
            self._handle.zero_grad()
        else:
            for child in self._modules.values():
                child.zero_grad()

    def requires_grad_(self, requires_grad: bool = True) -> "Module":
        for parameter in self.parameters():
            parameter.requires_grad = requires_grad
        return self

    def num_parameters(self) -> int:
        """Number of scalar parameters (weights and biases) in the module and its children."""
        if self._handle is not None:
            return self._handle.num_parameters()
        return sum(child.num_parameters() for child in self._modules.values())

    # ---- structure ----------------------------------------------------------------------

    def children(self) -> Iterator["Module"]:
        return iter(list(self._modules.values()))

    def named_children(self) -> Iterator[Tuple[str, "Module"]]:
        return iter(list(self._modules.items()))

    def modules(self) -> Iterator["Module"]:
        yield self
        for child in self._modules.values():
            yield from child.modules()

    def to(self, *args: Any, **kwargs: Any) -> "Module":
        """The module itself: everything lives on the CPU in float32."""
        return self

    def cpu(self) -> "Module":
        return self

    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        lines = [f"({name}): {child!r}".replace("\n", "\n  ")
                 for name, child in self._modules.items()]
        extra = self.extra_repr()
        if not lines:
            return f"{type(self).__name__}({extra})"
        body = ([extra] if extra else []) + lines
        return f"{type(self).__name__}(\n  " + "\n  ".join(body) + "\n)"


class Linear(Module):
    """``y = x W^T + b`` with ``W`` of shape ``[out_features, in_features]``, as
    ``torch.nn.Linear``; initialised uniformly in ``+-1/sqrt(in_features)``."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True) -> None:
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
        super().__init__(_C.relu_create())


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

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any = 1,
                 padding: Any = 0, dilation: Any = 1, groups: int = 1, bias: bool = True,
                 padding_mode: str = "zeros") -> None:
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

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0, dilation: Any = 1,
                 return_indices: bool = False, ceil_mode: bool = False) -> None:
        if return_indices:
            raise NotImplementedError("MaxPool2d(return_indices=True) is not supported")
        super().__init__(_C.max_pool2d_create(kernel_size, stride, padding, dilation,
                                              bool(ceil_mode)))
        self.kernel_size = kernel_size
        self.stride = kernel_size if stride is None else stride
        self.padding, self.dilation, self.ceil_mode = padding, dilation, ceil_mode

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class AvgPool2d(Module):
    """Mean over windows, as ``torch.nn.AvgPool2d``; ``stride`` defaults to the kernel size."""

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0,
                 ceil_mode: bool = False, count_include_pad: bool = True,
                 divisor_override: Optional[int] = None) -> None:
        super().__init__(_C.avg_pool2d_create(kernel_size, stride, padding, bool(ceil_mode),
                                              bool(count_include_pad), divisor_override))
        self.kernel_size = kernel_size
        self.stride = kernel_size if stride is None else stride
        self.padding = padding

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class Flatten(Module):
    """Flattens dimensions ``start_dim .. end_dim`` (by default all but the batch one)."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__(_C.flatten_create(start_dim, end_dim))
        self.start_dim, self.end_dim = start_dim, end_dim

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


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

    def __init__(self, normalized_shape: Any, eps: float = 1e-5, elementwise_affine: bool = True,
                 bias: bool = True) -> None:
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

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: Optional[float] = 0.1,
                 affine: bool = True, track_running_stats: bool = True) -> None:
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

    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        super().__init__(_C.dropout_create(p))
        self.p = p

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace=False"


class GELU(Module):
    """x * Phi(x), exact (``approximate="none"``) or with the tanh approximation."""

    def __init__(self, approximate: str = "none") -> None:
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

    def __init__(self, negative_slope: float = 0.01, inplace: bool = False) -> None:
        super().__init__(_C.leaky_relu_create(negative_slope))
        self.negative_slope = negative_slope

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}"


class Softplus(Module):
    """log(1 + exp(beta x)) / beta, linear where beta x > threshold."""

    def __init__(self, beta: float = 1.0, threshold: float = 20.0) -> None:
        super().__init__(_C.softplus_create(beta, threshold))
        self.beta, self.threshold = beta, threshold

    def extra_repr(self) -> str:
        return f"beta={self.beta}, threshold={self.threshold}"


class Softmax(Module):
    """Softmax along ``dim`` (which must be given)."""

    _log = False

    def __init__(self, dim: Optional[int] = None) -> None:
        if dim is None:
            raise ValueError(f"{type(self).__name__}: pass dim explicitly (torch's implicit "
                             f"choice of dimension is deprecated)")
        super().__init__(_C.softmax_create(dim, self._log))
        self.dim = dim

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


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

    def __init__(self, embed_dim: int, num_heads: int, dropout: float = 0.0, bias: bool = True,
                 add_bias_kv: bool = False, add_zero_attn: bool = False,
                 kdim: Optional[int] = None, vdim: Optional[int] = None,
                 batch_first: bool = False) -> None:
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

    def __init__(self, d_model: int, nhead: int, dim_feedforward: int = 2048,
                 dropout: float = 0.1, activation: Any = "relu", layer_norm_eps: float = 1e-5,
                 batch_first: bool = False, norm_first: bool = False,
                 bias: bool = True) -> None:
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
