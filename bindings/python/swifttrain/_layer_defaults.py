"""The library's defaults of layers, functional ops and lr schedulers (``st_layer_defaults``,
which reads the core's table of PyTorch's defaults), read once at import.

``swifttrain.nn``'s classes, ``swifttrain.functional``'s functions, ``Tensor``'s flatten,
var and std, and ``swifttrain.optim.lr_scheduler``'s classes take their signature defaults
from here, so the signatures show them (``help(nn.LayerNorm)``, ``inspect.signature``)
without repeating them. The library gives every value as a number; this only turns each
into the Python type of torch's argument (``bool``, ``int``, a name for an enum), which is
all the face decides.
"""

from __future__ import annotations

import types
from typing import Any, Callable, Dict

from . import _swifttrain as _C


def _name_of(kind: str) -> Callable[[float], str]:
    """An st_<kind> value (st_activation, st_reduction) as torch's name of it, its main name
    (st_enum_names lists a main name before aliases)."""
    names: Dict[int, str] = {}
    for name, value in _C.enum_names(kind).items():
        names.setdefault(value, name)
    return lambda value: names[int(value)]


activation_name = _name_of("activation")  # torch's activation=
reduction_name = _name_of("reduction")  # torch's reduction=


def int_if_whole(value: float) -> Any:
    """A whole number as an ``int`` (torch's ``min_lr=0``), any other as the float."""
    return int(value) if value == int(value) else value


def library_defaults(layer: str, **kinds: Callable[[float], Any]) -> types.SimpleNamespace:
    """The library's defaults of ``layer`` (st_layer_defaults) by torch's argument names;
    each argument named in ``kinds`` converted by it (``bool``, ``int``, ...), the others
    floats."""
    values = _C.layer_defaults(layer)
    unknown = sorted(set(kinds) - set(values))
    if unknown:
        raise RuntimeError(f"the library's defaults of {layer!r} have no {', '.join(unknown)}; "
                           f"it has {', '.join(values)}")
    return types.SimpleNamespace(**{name: kinds.get(name, float)(value)
                                    for name, value in values.items()})


LINEAR = library_defaults("linear", bias=bool)
CONV2D = library_defaults("conv2d", stride=int, padding=int, dilation=int, groups=int, bias=bool)
MAX_POOL2D = library_defaults("max_pool2d", padding=int, dilation=int, ceil_mode=bool)
AVG_POOL2D = library_defaults("avg_pool2d", padding=int, ceil_mode=bool, count_include_pad=bool)
FLATTEN = library_defaults("flatten", start_dim=int, end_dim=int)
TENSOR_FLATTEN = library_defaults("tensor_flatten", start_dim=int, end_dim=int)  # Tensor.flatten
VAR = library_defaults("var", correction=int, keepdim=bool)  # Tensor.var
STD = library_defaults("std", correction=int, keepdim=bool)  # Tensor.std
REDUCE = library_defaults("reduce", keepdim=bool)  # Tensor.sum, mean, max, min, argmax
LAYER_NORM = library_defaults("layer_norm", elementwise_affine=bool, bias=bool)
BATCH_NORM = library_defaults("batch_norm", affine=bool, track_running_stats=bool, training=bool)
DROPOUT = library_defaults("dropout", training=bool)
GELU = library_defaults("gelu", approximate_tanh=bool)
GELU_APPROXIMATE = "tanh" if GELU.approximate_tanh else "none"  # torch's approximate=
LEAKY_RELU = library_defaults("leaky_relu")
SOFTPLUS = library_defaults("softplus")
MULTIHEAD_ATTENTION = library_defaults("multihead_attention", bias=bool, batch_first=bool)
TRANSFORMER_ENCODER_LAYER = library_defaults(
    "transformer_encoder_layer", dim_feedforward=int, activation=activation_name, batch_first=bool,
    norm_first=bool, bias=bool)
SCALED_DOT_PRODUCT_ATTENTION = library_defaults("scaled_dot_product_attention", is_causal=bool)
MSE_LOSS = library_defaults("mse_loss", reduction=reduction_name)
L1_LOSS = library_defaults("l1_loss", reduction=reduction_name)
SMOOTH_L1_LOSS = library_defaults("smooth_l1_loss", reduction=reduction_name)
HUBER_LOSS = library_defaults("huber_loss", reduction=reduction_name)
NLL_LOSS = library_defaults("nll_loss", ignore_index=int, reduction=reduction_name)
CROSS_ENTROPY = library_defaults("cross_entropy", ignore_index=int, reduction=reduction_name)
BINARY_CROSS_ENTROPY_WITH_LOGITS = library_defaults("binary_cross_entropy_with_logits",
                                                    reduction=reduction_name)
KL_DIV = library_defaults("kl_div", reduction=reduction_name, log_target=bool)

# torch.optim.lr_scheduler
STEP_LR = library_defaults("step_lr")
# torch's min_lr default is the int 0 (its signature's `min_lr=0`)
REDUCE_LR_ON_PLATEAU = library_defaults("reduce_lr_on_plateau", mode_max=bool, patience=int,
                                        threshold_mode_abs=bool, cooldown=int,
                                        min_lr=int_if_whole)
REDUCE_LR_ON_PLATEAU_MODE = "max" if REDUCE_LR_ON_PLATEAU.mode_max else "min"  # torch's mode=
REDUCE_LR_ON_PLATEAU_THRESHOLD_MODE = ("abs" if REDUCE_LR_ON_PLATEAU.threshold_mode_abs
                                       else "rel")  # torch's threshold_mode=
