"""``swifttrain.functional``: ``torch.nn.functional``'s names, arguments and defaults.

    import swifttrain.functional as F

    loss = F.cross_entropy(logits, labels, label_smoothing=0.1)
    y = F.conv2d(x, weight, bias, stride=2, padding=1)

Each function maps its keywords to one library call (``st_cross_entropy``, ``st_conv2d``,
...): the library computes values and gradients. The defaults are the library's
(``st_layer_defaults``, the core's table of PyTorch's defaults), read once at import.
"""

from __future__ import annotations

from typing import Any, Optional, Sequence, Union

from . import _swifttrain as _C
from . import _layer_defaults as _D
from ._tensor import Tensor

__all__ = [
    "relu", "leaky_relu", "gelu", "silu", "tanh", "sigmoid", "softplus", "softmax",
    "log_softmax", "linear", "layer_norm", "batch_norm", "embedding", "dropout", "conv2d",
    "max_pool2d", "avg_pool2d", "scaled_dot_product_attention", "mse_loss", "l1_loss",
    "smooth_l1_loss", "huber_loss", "cross_entropy", "nll_loss",
    "binary_cross_entropy_with_logits", "kl_div",
]

_REDUCTIONS = _C.enum_names("reduction")  # st_reduction, by the library's names


def _reduction(reduction: str, allow_batchmean: bool = False) -> int:
    """The st_reduction of a torch ``reduction=`` name; "batchmean" is kl_div's only."""
    if reduction not in _REDUCTIONS or (reduction == "batchmean" and not allow_batchmean):
        names = [name for name in _REDUCTIONS if allow_batchmean or name != "batchmean"]
        raise ValueError(f"{reduction!r} is not a valid value for reduction; use one of "
                         f"{', '.join(map(repr, names))}")
    return _REDUCTIONS[reduction]


# ---- activations ---------------------------------------------------------------------------

def relu(input: Tensor, inplace: bool = False) -> Tensor:  # noqa: A002
    """max(x, 0)."""
    return _C.relu(input)


def leaky_relu(input: Tensor, negative_slope: float = _D.LEAKY_RELU.negative_slope,  # noqa: A002
               inplace: bool = False) -> Tensor:
    """x for x >= 0, negative_slope * x otherwise."""
    return _C.leaky_relu(input, negative_slope)


def gelu(input: Tensor, approximate: str = _D.GELU_APPROXIMATE) -> Tensor:  # noqa: A002
    """x * Phi(x), exact (``"none"``) or with the tanh approximation (``"tanh"``)."""
    if approximate not in ("none", "tanh"):
        raise ValueError(f"approximate must be 'none' or 'tanh', got {approximate!r}")
    return _C.gelu(input, approximate == "tanh")


def silu(input: Tensor, inplace: bool = False) -> Tensor:  # noqa: A002
    """x * sigmoid(x)."""
    return _C.silu(input)


def tanh(input: Tensor) -> Tensor:  # noqa: A002
    return _C.tanh(input)


def sigmoid(input: Tensor) -> Tensor:  # noqa: A002
    return _C.sigmoid(input)


def softplus(input: Tensor, beta: float = _D.SOFTPLUS.beta,  # noqa: A002
             threshold: float = _D.SOFTPLUS.threshold) -> Tensor:
    """log(1 + exp(beta x)) / beta, linear where beta x > threshold."""
    return _C.softplus(input, beta, threshold)


def softmax(input: Tensor, dim: int) -> Tensor:  # noqa: A002
    return _C.softmax(input, dim)


def log_softmax(input: Tensor, dim: int) -> Tensor:  # noqa: A002
    return _C.log_softmax(input, dim)


# ---- layers as functions ---------------------------------------------------------------------

def linear(input: Tensor, weight: Tensor, bias: Optional[Tensor] = None) -> Tensor:  # noqa: A002
    """input W^T + b: input [..., in], weight [out, in], bias [out] -> [..., out]."""
    return _C.linear(input, weight, bias)


def layer_norm(input: Tensor, normalized_shape: Union[int, Sequence[int]],  # noqa: A002
               weight: Optional[Tensor] = None, bias: Optional[Tensor] = None,
               eps: float = _D.LAYER_NORM.eps) -> Tensor:
    """Normalises over the last dimensions (``normalized_shape``), then scales and shifts."""
    return _C.layer_norm(input, normalized_shape, weight, bias, eps)


def batch_norm(input: Tensor, running_mean: Optional[Tensor],  # noqa: A002
               running_var: Optional[Tensor], weight: Optional[Tensor] = None,
               bias: Optional[Tensor] = None, training: bool = _D.BATCH_NORM.training,
               momentum: float = _D.BATCH_NORM.momentum, eps: float = _D.BATCH_NORM.eps) -> Tensor:
    """Input [N, C, ...]. With ``training``, batch statistics are used and the running
    statistics (if given) are updated in place; otherwise the running statistics are used."""
    return _C.batch_norm(input, running_mean, running_var, weight, bias, training,
                         momentum, eps)


def embedding(input: Tensor, weight: Tensor, padding_idx: Optional[int] = None) -> Tensor:  # noqa: A002
    """Rows of ``weight`` [num, dim] at the int64 indices ``input``; the ``padding_idx`` row
    gets no gradient (a negative index counts from the end)."""
    if padding_idx is not None and padding_idx < 0:
        padding_idx += weight.shape[0]
    return _C.embedding(input, weight, padding_idx)


def dropout(input: Tensor, p: float = _D.DROPOUT.p, training: bool = _D.DROPOUT.training,  # noqa: A002
            inplace: bool = False) -> Tensor:
    """Zeroes elements with probability p and scales the rest by 1/(1-p) when training. The
    masks come from the generator seeded by :func:`swifttrain.manual_seed`."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    return _C.dropout(input, p, training)


def _conv_padding(padding: Any, weight: Tensor, dilation: Any) -> Any:
    """torch's padding="valid" / "same" (stride 1, symmetric padding only) as numbers."""
    if padding == "valid":
        return 0
    if padding == "same":
        d = (dilation, dilation) if isinstance(dilation, int) else tuple(dilation)
        totals = [d[i] * (weight.shape[2 + i] - 1) for i in range(2)]
        if any(total % 2 for total in totals):
            raise NotImplementedError("padding='same' needs an even total padding here "
                                      "(odd kernel size or even dilation)")
        return (totals[0] // 2, totals[1] // 2)
    return padding


def conv2d(input: Tensor, weight: Tensor, bias: Optional[Tensor] = None,  # noqa: A002
           stride: Any = _D.CONV2D.stride, padding: Any = _D.CONV2D.padding,
           dilation: Any = _D.CONV2D.dilation, groups: int = _D.CONV2D.groups) -> Tensor:
    """2-D convolution: input [N, C, H, W], weight [O, C/groups, kh, kw], bias [O] or None;
    stride, padding and dilation are ints or pairs (padding also ``"valid"`` / ``"same"``)."""
    padding = _conv_padding(padding, weight, dilation)
    if isinstance(padding, str):
        raise ValueError(f"padding must be an int, a pair, 'valid' or 'same', got {padding!r}")
    return _C.conv2d(input, weight, bias, stride, padding, dilation, groups)


def max_pool2d(input: Tensor, kernel_size: Any, stride: Any = None,  # noqa: A002
               padding: Any = _D.MAX_POOL2D.padding, dilation: Any = _D.MAX_POOL2D.dilation,
               ceil_mode: bool = _D.MAX_POOL2D.ceil_mode,
               return_indices: bool = False) -> Tensor:
    """Maximum over windows; ``stride`` defaults to the kernel size."""
    if return_indices:
        raise NotImplementedError("max_pool2d(return_indices=True) is not supported")
    return _C.max_pool2d(input, kernel_size, stride, padding, dilation, ceil_mode)


def avg_pool2d(input: Tensor, kernel_size: Any, stride: Any = None,  # noqa: A002
               padding: Any = _D.AVG_POOL2D.padding, ceil_mode: bool = _D.AVG_POOL2D.ceil_mode,
               count_include_pad: bool = _D.AVG_POOL2D.count_include_pad,
               divisor_override: Optional[int] = None) -> Tensor:
    """Mean over windows; ``stride`` defaults to the kernel size."""
    return _C.avg_pool2d(input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                         divisor_override)


def scaled_dot_product_attention(query: Tensor, key: Tensor, value: Tensor,
                                 attn_mask: Optional[Tensor] = None,
                                 dropout_p: float = _D.SCALED_DOT_PRODUCT_ATTENTION.dropout_p,
                                 is_causal: bool = _D.SCALED_DOT_PRODUCT_ATTENTION.is_causal,
                                 scale: Optional[float] = None,
                                 enable_gqa: bool = False) -> Tensor:
    """softmax(q k^T * scale + mask) v for q [..., L, E], k [..., S, E], v [..., S, Ev].
    ``attn_mask``: bool (True = may attend) or float (added). ``scale`` defaults to
    1/sqrt(E). Only ``dropout_p=0`` is supported."""
    if dropout_p != 0.0:
        raise NotImplementedError(f"scaled_dot_product_attention: dropout_p={dropout_p} is not "
                                  f"supported; only 0.0 is")
    if enable_gqa:
        raise NotImplementedError("scaled_dot_product_attention: enable_gqa is not supported")
    if scale is not None and not scale > 0:
        raise ValueError(f"scaled_dot_product_attention: scale must be positive, got {scale}")
    return _C.scaled_dot_product_attention(query, key, value, attn_mask, is_causal, scale)


# ---- losses ------------------------------------------------------------------------------------

def mse_loss(input: Tensor, target: Tensor,  # noqa: A002
             reduction: str = _D.MSE_LOSS.reduction) -> Tensor:
    return _C.mse_loss(input, target, _reduction(reduction))


def l1_loss(input: Tensor, target: Tensor,  # noqa: A002
            reduction: str = _D.L1_LOSS.reduction) -> Tensor:
    return _C.l1_loss(input, target, _reduction(reduction))


def smooth_l1_loss(input: Tensor, target: Tensor,  # noqa: A002
                   reduction: str = _D.SMOOTH_L1_LOSS.reduction,
                   beta: float = _D.SMOOTH_L1_LOSS.beta) -> Tensor:
    return _C.smooth_l1_loss(input, target, beta, _reduction(reduction))


def huber_loss(input: Tensor, target: Tensor,  # noqa: A002
               reduction: str = _D.HUBER_LOSS.reduction,
               delta: float = _D.HUBER_LOSS.delta) -> Tensor:
    return _C.huber_loss(input, target, delta, _reduction(reduction))


def cross_entropy(input: Tensor, target: Tensor, weight: Optional[Tensor] = None,  # noqa: A002
                  *, ignore_index: int = _D.CROSS_ENTROPY.ignore_index,
                  reduction: str = _D.CROSS_ENTROPY.reduction,
                  label_smoothing: float = _D.CROSS_ENTROPY.label_smoothing) -> Tensor:
    """Softmax cross-entropy: logits [N, C, ...], int64 class targets [N, ...], optional
    class weights [C]. Targets equal to ``ignore_index`` do not count."""
    return _C.cross_entropy(input, target, weight, ignore_index, _reduction(reduction),
                            label_smoothing)


def nll_loss(input: Tensor, target: Tensor, weight: Optional[Tensor] = None,  # noqa: A002
             *, ignore_index: int = _D.NLL_LOSS.ignore_index,
             reduction: str = _D.NLL_LOSS.reduction) -> Tensor:
    """Negative log-likelihood of log-probabilities [N, C, ...] at int64 targets."""
    return _C.nll_loss(input, target, weight, ignore_index, _reduction(reduction))


def binary_cross_entropy_with_logits(input: Tensor, target: Tensor,  # noqa: A002
                                     weight: Optional[Tensor] = None, *,
                                     reduction: str = _D.BINARY_CROSS_ENTROPY_WITH_LOGITS.reduction,
                                     pos_weight: Optional[Tensor] = None) -> Tensor:
    """Sigmoid + binary cross-entropy; ``weight`` and ``pos_weight`` broadcast."""
    return _C.binary_cross_entropy_with_logits(input, target, weight, pos_weight,
                                               _reduction(reduction))


def kl_div(input: Tensor, target: Tensor,  # noqa: A002
           reduction: str = _D.KL_DIV.reduction, log_target: bool = _D.KL_DIV.log_target) -> Tensor:
    """KL divergence with ``input`` as log-probabilities; ``target`` probabilities (or
    log-probabilities with ``log_target``). ``"batchmean"`` divides the sum by the batch
    size, ``"mean"`` by the number of elements (as torch)."""
    return _C.kl_div(input, target, _reduction(reduction, allow_batchmean=True), log_target)
