"""``Tensor``: PyTorch's tensor interface over the library's ``st_tensor``.

    import swifttrain as st

    x = st.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    y = (x @ x.T).relu().sum()
    y.backward()
    x.grad            # tensor([[ 8., 12.], [ 8., 12.]])

The C type ``_swifttrain.Tensor`` holds the handle, the buffer protocol and autograd
entry points; this class adds PyTorch's method names and operators. Every number is
computed by the library: this file only picks the library function and shapes arguments.

Memory, as torch: ``st.tensor(data)`` always copies; ``st.from_numpy(array)`` and
``st.as_tensor(array)`` share the memory of a C-contiguous, writable float32 / int64 / bool
numpy array (writing to one changes the other, and the tensor keeps the array alive).
``numpy.asarray(t)`` and ``t.numpy()`` never copy. Basic indexing (ints, slices, None,
``...``) returns a view when the result is one contiguous block of the tensor (``t[1]``,
``t[1:3]``, ``t[0][1:]``); a strided result (``t[:, 1]``, ``t[::2]``, ``t.T``) is a copy
that refuses writes, since torch's view would write through to ``t``.

Types: a numpy array (or buffer) of another type than float32, int64 or bool (float64,
float16, int32, uint8, ...) is refused unless ``dtype=`` says what to convert it to; Python
numbers and lists follow torch.tensor (floats float32, ints int64, bools bool).
"""

from __future__ import annotations

import builtins
import collections
import functools
import numbers
import operator
import threading
from typing import Any, Iterator, List, Optional, Sequence, Tuple, Union

import numpy as np

from . import _layer_defaults as _D
from . import _swifttrain as _C

__all__ = [
    "Tensor", "dtype", "float32", "float", "int64", "long", "bool",
    "tensor", "as_tensor", "from_numpy", "zeros", "ones", "full", "arange", "rand", "randn",
    "zeros_like", "ones_like", "full_like", "rand_like", "randn_like",
    "cat", "concat", "stack", "where", "maximum", "minimum", "matmul", "reshape", "permute",
    "split",
    "no_grad", "enable_grad", "set_grad_enabled", "is_grad_enabled",
]


# ---- dtypes ------------------------------------------------------------------------------

class dtype:
    """An element type: ``swifttrain.float32``, ``swifttrain.int64`` or ``swifttrain.bool``."""

    __slots__ = ("name", "_code", "_numpy", "is_floating_point", "itemsize")

    def __init__(self, name: str, code: int, numpy_type: Any) -> None:
        self.name = name
        self._code = code
        self._numpy = np.dtype(numpy_type)
        self.is_floating_point = name == "float32"
        self.itemsize = self._numpy.itemsize

    def __repr__(self) -> str:
        return f"swifttrain.{self.name}"

    def __reduce__(self) -> str:
        return self.name


_DTYPE_CODES = _C.enum_names("dtype")  # st_dtype, by the library's names
float32 = dtype("float32", _DTYPE_CODES["float32"], np.float32)
int64 = dtype("int64", _DTYPE_CODES["int64"], np.int64)
bool = dtype("bool", _DTYPE_CODES["bool"], np.bool_)  # noqa: A001 - torch's name (shadows the builtin)
float = float32  # noqa: A001
long = int64
_DTYPES = (float32, int64, bool)


def _as_dtype(value: Any) -> dtype:
    """A swifttrain dtype from a swifttrain dtype or a numpy dtype-like."""
    if isinstance(value, dtype):
        return value
    try:
        kind = np.dtype(value)
    except TypeError:
        kind = None
    for candidate in _DTYPES:
        if kind == candidate._numpy:
            return candidate
    raise TypeError(f"dtype must be swifttrain.float32, swifttrain.int64 or swifttrain.bool, "
                    f"got {value!r}")


def _inferred_dtype(array: np.ndarray) -> dtype:
    """torch.tensor's choice for the values of Python numbers and lists: floats -> float32
    (torch's default float type), integers -> int64, bool -> bool."""
    kind = array.dtype.kind
    if kind == "f":
        return float32
    if kind in "iu":
        return int64
    if kind == "b":
        return bool
    raise TypeError(f"can't convert an array of type {array.dtype} to a tensor; the "
                    f"supported types are float32, int64 and bool")


def _typed_dtype(array: np.ndarray, what: str) -> dtype:
    """The type of a numpy array's tensor: its own when swifttrain has it, else an error
    naming the explicit conversion (torch would keep float64, float16, int32, ...; swifttrain
    computes in float32 and int64 only, and converts only when told)."""
    for candidate in _DTYPES:
        if array.dtype == candidate._numpy:
            return candidate
    if array.dtype.kind not in "fiub":
        _inferred_dtype(array)  # raises the TypeError
    suggestion = "float32" if array.dtype.kind == "f" else "int64" if array.dtype.kind in "iu" \
        else "bool"
    raise TypeError(f"{what}: an array of type {array.dtype} has no swifttrain type (tensors are "
                    f"float32, int64 or bool; torch would keep {array.dtype}). Convert it "
                    f"explicitly: {what}(x, dtype=swifttrain.{suggestion}) or "
                    f"x.astype(numpy.{suggestion})")


# ---- grad mode -------------------------------------------------------------------------------

class _GradMode:
    """Context manager and decorator that sets autograd recording for the calling thread
    (``st_set_grad_enabled``) and restores the previous setting on exit."""

    _enabled: builtins.bool = False

    def __init__(self) -> None:
        self._previous = threading.local()

    def __enter__(self) -> None:
        stack = self._previous.__dict__.setdefault("stack", [])
        stack.append(_C.set_grad_enabled(self._enabled))

    def __exit__(self, *exc_info: Any) -> None:
        _C.set_grad_enabled(self._previous.stack.pop())

    def __call__(self, func):
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            with type(self)():
                return func(*args, **kwargs)
        return wrapper


class no_grad(_GradMode):
    """Turns autograd recording off, like ``torch.no_grad``::

        with st.no_grad():
            prediction = model(x)     # no graph is recorded

        @st.no_grad()
        def evaluate(...): ...
    """

    _enabled = False


class enable_grad(_GradMode):
    """Turns autograd recording on (inside a ``no_grad`` block), like ``torch.enable_grad``."""

    _enabled = True


class set_grad_enabled:
    """Sets autograd recording now; as a context manager, restores the previous setting on
    exit (``torch.set_grad_enabled``)."""

    def __init__(self, mode: builtins.bool) -> None:
        self._previous = _C.set_grad_enabled(builtins.bool(mode))

    def __enter__(self) -> None:
        pass

    def __exit__(self, *exc_info: Any) -> None:
        _C.set_grad_enabled(self._previous)


def is_grad_enabled() -> builtins.bool:
    """Whether autograd recording is on for the calling thread."""
    return _C.is_grad_enabled()


# ---- arguments ------------------------------------------------------------------------------

_COMPARISONS = _C.enum_names("comparison")  # st_comparison, by the library's names

max_return = collections.namedtuple("max", ["values", "indices"])
min_return = collections.namedtuple("min", ["values", "indices"])
topk_return = collections.namedtuple("topk", ["values", "indices"])


def _shape_args(shape: Tuple[Any, ...], what: str) -> Tuple[int, ...]:
    """``f(2, 3)``, ``f((2, 3))`` and ``f([2, 3])`` all mean shape (2, 3)."""
    if len(shape) == 1 and not isinstance(shape[0], (numbers.Integral, np.integer)):
        shape = tuple(shape[0])
    for size in shape:
        if isinstance(size, builtins.bool) or not isinstance(size, (numbers.Integral, np.integer)):
            raise TypeError(f"{what}: sizes must be ints, got {type(size).__name__}")
    return tuple(int(size) for size in shape)


def _is_number(value: Any) -> builtins.bool:
    return isinstance(value, (numbers.Number, np.bool_)) and not isinstance(value, np.ndarray)


def _scalar(value: Any, like: "Tensor") -> "Tensor":
    """A 0-d tensor holding a Python number, of the type PyTorch would combine with
    ``like``: float32 next to a float tensor or for a float value, else int64 (bool next to
    a bool tensor)."""
    if like.dtype is float32 or isinstance(value, (builtins.float, np.floating)):
        kind = float32
    elif isinstance(value, (builtins.bool, np.bool_)) and like.dtype is bool:
        kind = bool
    elif isinstance(value, (numbers.Integral, np.integer, np.bool_)):
        kind = int64
    else:
        raise TypeError(f"unsupported scalar {value!r} ({type(value).__name__})")
    return _C.tensor_from_buffer(np.array(value, dtype=kind._numpy), borrow=False)


def _operand(value: Any, like: "Tensor") -> Any:
    """``value`` as a Tensor for a binary operation with ``like``, or NotImplemented. A numpy
    array operand is taken as numbers are (floats of any width as float32, integers as
    int64): the tensor's side decides the type, as with a Python float."""
    if isinstance(value, _C.Tensor):
        return value
    if _is_number(value):
        return _scalar(value, like)
    if isinstance(value, np.ndarray):
        return tensor(value, dtype=_inferred_dtype(value))
    return NotImplemented


def _forbid_in_place_on_graph(t: "Tensor", what: str) -> None:
    if t.requires_grad and _C.is_grad_enabled():
        raise RuntimeError(f"{what}: a tensor that requires grad cannot be changed in place "
                           f"while autograd records; wrap the update in `with "
                           f"swifttrain.no_grad():`")


# ---- the Tensor class ------------------------------------------------------------------------

class Tensor(_C.Tensor):
    """A float32, int64 or bool array on the CPU with PyTorch's interface.

    Make one with :func:`tensor`, :func:`from_numpy`, :func:`zeros`, ... Float tensors take
    part in autograd: set ``requires_grad`` on leaves, call ``backward()`` on a scalar
    result, read ``.grad``. Shape errors raise :class:`swifttrain.ShapeError` (a
    ``RuntimeError`` as in torch, and a ``ValueError``) naming the operation and the shapes.
    """

    __slots__ = ()
    # numpy defers binary operators to the tensor (ndarray + tensor -> tensor).
    __array_ufunc__ = None
    __hash__ = object.__hash__

    # ---- properties ----

    @property
    def dtype(self) -> dtype:
        """``swifttrain.float32``, ``int64`` or ``bool``."""
        return _DTYPES[self._dtype_code]

    def is_floating_point(self) -> builtins.bool:
        return self._dtype_code == 0

    @property
    def T(self) -> "Tensor":
        """The dimensions reversed (the transpose of a matrix)."""
        return self if self.ndim < 2 else self.permute(*range(self.ndim - 1, -1, -1))

    @property
    def device(self) -> str:
        return "cpu"

    def dim(self) -> int:
        """Number of dimensions."""
        return self.ndim

    def size(self, dim: Optional[int] = None) -> Union[Tuple[int, ...], int]:
        """The shape, or the size of dimension ``dim``."""
        return self.shape if dim is None else self.shape[dim]

    def nelement(self) -> int:
        return self.numel()

    def element_size(self) -> int:
        return self.dtype.itemsize

    def is_contiguous(self) -> builtins.bool:
        """False for a copy standing where torch returns a non-contiguous view (a strided
        slice, a transpose, an expansion), True otherwise (the memory itself is always
        contiguous)."""
        return self._writable

    def contiguous(self) -> "Tensor":
        """The tensor itself, or for such a copy a writable copy of it (as torch's
        ``contiguous()`` copies a non-contiguous view); it stays in the graph."""
        return self if self._writable else self.clone()

    # ---- conversion ----

    def numpy(self) -> np.ndarray:
        """A numpy array sharing the tensor's memory (no copy), as ``torch.Tensor.numpy``.
        Like torch, refuses a tensor that requires grad: use ``t.detach().numpy()``."""
        if self.requires_grad:
            raise RuntimeError("Can't call numpy() on a Tensor that requires grad. Use "
                               "tensor.detach().numpy() instead.")
        return np.asarray(self)

    def tolist(self) -> Any:
        """The values as (nested) Python lists of floats, ints or bools."""
        return np.asarray(self).tolist()

    def to(self, dtype_: Any = None, *, dtype: Any = None, copy: builtins.bool = False) -> "Tensor":
        """The tensor converted to ``dtype`` (a copy outside autograd: float to int64
        truncates toward zero, to bool tests ``!= 0``), or itself when it already has that
        type (a copy with ``copy=True``). Devices other than ``"cpu"`` are not supported."""
        target = dtype if dtype is not None else dtype_
        if target is None or (isinstance(target, str) and target == "cpu"):
            return self
        target = _as_dtype(target)
        if target is self.dtype:
            return self.clone() if copy else self
        return _C.to_dtype(self, target._code)  # st_tensor_to

    def float(self) -> "Tensor":
        return self.to(float32)

    def long(self) -> "Tensor":
        return self.to(int64)

    def bool(self) -> "Tensor":
        return self.to(bool)

    def double(self) -> "Tensor":
        """Refused: swifttrain has no float64 (its floats are float32; use ``.float()``)."""
        raise TypeError("double(): swifttrain has no float64 tensors; its float type is float32 "
                        "(use .float(), and compare with a tolerance for float32)")

    def half(self) -> "Tensor":
        """Refused: swifttrain has no float16 (use ``.float()``)."""
        raise TypeError("half(): swifttrain has no float16 tensors; its float type is float32 "
                        "(use .float())")

    def int(self) -> "Tensor":
        """Refused: swifttrain has no int32 (its integers are int64; use ``.long()``)."""
        raise TypeError("int(): swifttrain has no int32 tensors; its integer type is int64 "
                        "(use .long())")

    def cpu(self) -> "Tensor":
        return self

    def clone(self) -> "Tensor":
        """A copy; for float tensors it stays in the graph (computed as ``self * 1``)."""
        if self._dtype_code == 0:
            return _C.mul_scalar(self, 1.0)
        return tensor(np.array(self))

    # ---- autograd ----

    def backward(self, gradient: Any = None, retain_graph: Any = None,
                 create_graph: builtins.bool = False) -> None:
        """Backpropagates from this tensor into the ``.grad`` of every leaf that requires
        gradients (they accumulate). ``gradient`` is d(loss)/d(self); it may be omitted
        for a one-element tensor. The graph is released afterwards unless
        ``retain_graph=True``."""
        if create_graph:
            raise NotImplementedError("backward(create_graph=True): higher-order gradients "
                                      "are not supported")
        if gradient is not None and not isinstance(gradient, _C.Tensor):
            gradient = tensor(gradient, dtype=float32)
        _C.Tensor.backward(self, gradient, builtins.bool(retain_graph))

    def requires_grad_(self, requires_grad: builtins.bool = True) -> "Tensor":
        self.requires_grad = requires_grad
        return self

    # ---- printing ----

    def __repr__(self) -> str:
        array = np.asarray(self)
        suffix = ", requires_grad=True" if self.requires_grad else ""
        if array.size == 0:
            size = "" if array.ndim == 1 else f", size={tuple(array.shape)}"
            kind = "" if self._dtype_code == 0 else f", dtype={self.dtype!r}"
            return f"tensor([]{size}{kind}{suffix})"
        text = np.array2string(array, separator=", ", prefix="tensor(",
                               formatter=_formatter(array), threshold=1000, edgeitems=3,
                               max_line_width=80)
        return f"tensor({text}{suffix})"

    def __format__(self, spec: str) -> str:
        if self.ndim == 0 and spec:
            return format(self.item(), spec)
        return object.__format__(self, spec) if spec else repr(self)

    # ---- Python protocols ----

    def __len__(self) -> int:
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    def __iter__(self) -> Iterator["Tensor"]:
        if self.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self.shape[0]))

    def __bool__(self) -> builtins.bool:
        if self.numel() != 1:
            raise RuntimeError(f"Boolean value of Tensor with {self.numel()} values is "
                               f"ambiguous")
        return builtins.bool(self.item())

    def __float__(self) -> builtins.float:
        return builtins.float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __index__(self) -> int:
        if self._dtype_code == 0:
            raise TypeError("only integer tensors of a single element can be converted to an "
                            "index")
        return int(self.item())

    # ---- indexing ----

    def __getitem__(self, index: Any) -> "Tensor":
        """Basic indexing: ints, slices with a positive step, None and ``...``, or a tuple
        of them; a 1-D int64 tensor selects along the first dimension (index_select)."""
        if isinstance(index, _C.Tensor):
            if index._dtype_code != 1 or index.ndim != 1:
                raise IndexError("tensor indices must be 1-D int64 tensors")
            return _C.index_select(self, 0, index)
        entries = index if isinstance(index, tuple) else (index,)
        if builtins.sum(entry is Ellipsis for entry in entries) > 1:
            raise IndexError("an index can only have a single ellipsis ('...')")
        if builtins.any(entry is Ellipsis for entry in entries):
            at = [i for i, e in enumerate(entries) if e is Ellipsis][0]
            used = builtins.sum(e is not None and e is not Ellipsis for e in entries)
            entries = (entries[:at] + (slice(None),) * builtins.max(self.ndim - used, 0)
                       + entries[at + 1:])
        result, dim = self, 0
        for entry in entries:
            if entry is None:
                result = _C.unsqueeze(result, dim)
                dim += 1
                continue
            if dim >= result.ndim:
                raise IndexError(f"too many indices for tensor of dimension {self.ndim}")
            if isinstance(entry, slice):
                step = 1 if entry.step is None else operator.index(entry.step)
                if step <= 0:
                    raise ValueError("step must be greater than zero")
                start = None if entry.start is None else operator.index(entry.start)
                stop = None if entry.stop is None else operator.index(entry.stop)
                result = _C.slice(result, dim, start, stop, step)
                dim += 1
            elif isinstance(entry, (numbers.Integral, np.integer)) and not isinstance(
                    entry, (builtins.bool, np.bool_)):
                size = result.shape[dim]
                if not -size <= entry < size:
                    raise IndexError(f"index {entry} is out of bounds for dimension {dim} "
                                     f"with size {size}")
                result = _C.select(result, dim, int(entry))
            else:
                raise TypeError(f"only integers, slices (step > 0), None, '...' and 1-D int64 "
                                f"tensors are valid indices, got {type(entry).__name__}")
        return result if result is not self else _C.reshape(self, self.shape)

    def __setitem__(self, index: Any, value: Any) -> None:
        """Writes values in place (a copy into the tensor's memory, no arithmetic); not
        allowed on a tensor that requires grad while autograd records, nor on a copy that
        stands for torch's strided view (the write would not reach the original)."""
        _forbid_in_place_on_graph(self, "__setitem__")
        self._check_writable()
        target = np.asarray(self)
        if isinstance(index, _C.Tensor):
            index = np.asarray(index)
        target[index] = np.asarray(value) if isinstance(value, _C.Tensor) else value

    # ---- operators ----
    # +, -, *, /, the comparisons, the in-place operators and the functions of one tensor
    # are made from tables after the class.

    def _binary(self, other: Any, function, reflected: builtins.bool = False) -> Any:
        other = _operand(other, self)
        if other is NotImplemented:
            return NotImplemented
        return function(other, self) if reflected else function(self, other)

    def _float_scalar(self, other: Any) -> Optional[builtins.float]:
        """``other`` as a float when a float tensor meets a number: the library's scalar
        functions take it directly (add_scalar, mul_scalar)."""
        if self._dtype_code == 0 and _is_number(other) and not isinstance(other, np.bool_):
            return builtins.float(other)
        return None

    def __pow__(self, exponent: Any) -> "Tensor":
        if _is_number(exponent) and not isinstance(exponent, np.bool_):
            return _C.pow_scalar(self, builtins.float(exponent))
        return self._binary(exponent, _C.pow)

    def __matmul__(self, other: Any) -> "Tensor":
        return self._binary(other, _C.matmul) if not _is_number(other) else NotImplemented

    def __rmatmul__(self, other: Any) -> "Tensor":
        return self._binary(other, _C.matmul, reflected=True) if not _is_number(other) \
            else NotImplemented

    def __pos__(self) -> "Tensor":
        return self

    # In-place updates compute out of place in the library, then copy the result into this
    # tensor's memory; so `p -= lr * p.grad` under no_grad() updates a module's parameter.
    def _in_place(self, result: Any, what: str) -> "Tensor":
        if result is NotImplemented:
            return NotImplemented
        if result.shape != self.shape or result.dtype is not self.dtype:
            raise RuntimeError(f"{what}: the result of shape {list(result.shape)} "
                               f"({result.dtype.name}) cannot be written in place into a "
                               f"tensor of shape {list(self.shape)} ({self.dtype.name})")
        self._check_writable()
        np.copyto(np.asarray(self), np.asarray(result))
        return self

    def _update(self, other: Any, what: str, operator_method) -> "Tensor":
        _forbid_in_place_on_graph(self, what)
        return self._in_place(operator_method(self, other), what)

    def add_(self, other: Any, *, alpha: Any = 1) -> "Tensor":
        """In place: self += alpha * other."""
        return self.__iadd__(self._scaled(other, alpha))

    def sub_(self, other: Any, *, alpha: Any = 1) -> "Tensor":
        return self.__isub__(self._scaled(other, alpha))

    def mul_(self, other: Any) -> "Tensor":
        return self.__imul__(other)

    def div_(self, other: Any) -> "Tensor":
        return self.__itruediv__(other)

    def copy_(self, source: Any) -> "Tensor":
        """Copies ``source``'s values (broadcast) into this tensor."""
        _forbid_in_place_on_graph(self, "copy_")
        self._check_writable()
        np.copyto(np.asarray(self), np.asarray(source), casting="same_kind")
        return self

    def fill_(self, value: Any) -> "Tensor":
        _forbid_in_place_on_graph(self, "fill_")
        self._check_writable()
        np.asarray(self).fill(value)
        return self

    def zero_(self) -> "Tensor":
        return self.fill_(0)

    # ---- element-wise functions ----

    def _scaled(self, other: Any, alpha: Any) -> Any:
        """``alpha * other`` for add and sub (``other`` itself when alpha is 1)."""
        return other if alpha == 1 else _operand(other, self) * alpha

    def add(self, other: Any, *, alpha: Any = 1) -> "Tensor":
        return self + self._scaled(other, alpha)

    def sub(self, other: Any, *, alpha: Any = 1) -> "Tensor":
        return self - self._scaled(other, alpha)

    def mul(self, other: Any) -> "Tensor":
        return self * other

    def div(self, other: Any) -> "Tensor":
        return self / other

    def pow(self, exponent: Any) -> "Tensor":
        return self ** exponent

    def clamp(self, min: Any = None, max: Any = None) -> "Tensor":  # noqa: A002
        """Limits values to [min, max] (either may be None)."""
        if min is None and max is None:
            raise RuntimeError("clamp: at least one of 'min' or 'max' must not be None")
        return _C.clamp(self, min, max)

    clip = clamp

    def softmax(self, dim: int) -> "Tensor":
        return _C.softmax(self, dim)

    def log_softmax(self, dim: int) -> "Tensor":
        return _C.log_softmax(self, dim)

    def where(self, condition: "Tensor", other: Any) -> "Tensor":
        return where(condition, self, other)

    # ---- reductions ----

    def sum(self, dim: Any = None, keepdim: builtins.bool = _D.REDUCE.keepdim) -> "Tensor":
        """The sum over ``dim`` (an int or a tuple; None: every dimension)."""
        return _C.sum(self, dim, keepdim)

    def mean(self, dim: Any = None, keepdim: builtins.bool = _D.REDUCE.keepdim) -> "Tensor":
        return _C.mean(self, dim, keepdim)

    def argmax(self, dim: Optional[int] = None,
               keepdim: builtins.bool = _D.REDUCE.keepdim) -> "Tensor":
        return _C.argmax(self, dim, keepdim)

    def _count(self, dim: Any, keepdim: builtins.bool, comparison: str) -> "Tensor":
        """How many elements compare with 0 by ``comparison`` ("eq", "ne"), over ``dim``."""
        flags = _C.compare(self, _COMPARISONS[comparison], _scalar(False, self))
        return _C.sum(_C.to_dtype(flags, float32._code), dim, keepdim)

    def all(self, dim: Any = None, keepdim: builtins.bool = _D.REDUCE.keepdim) -> "Tensor":
        """Whether every element is non-zero (over ``dim``): a bool tensor, as torch."""
        return _C.compare(self._count(dim, keepdim, "eq"), _COMPARISONS["eq"],
                          _scalar(0.0, self))

    def any(self, dim: Any = None, keepdim: builtins.bool = _D.REDUCE.keepdim) -> "Tensor":
        """Whether any element is non-zero (over ``dim``): a bool tensor, as torch."""
        return _C.compare(self._count(dim, keepdim, "ne"), _COMPARISONS["gt"],
                          _scalar(0.0, self))

    def topk(self, k: int, dim: int = -1, largest: builtins.bool = True,
             sorted: builtins.bool = True) -> Any:  # noqa: A002 - torch's name
        """The ``k`` largest (``largest=False``: smallest) values along ``dim`` and their
        indices, a ``(values, indices)`` named tuple as torch.topk; in order, ties by index,
        NaN as the largest. Gradients flow to the chosen values."""
        return topk_return(*_C.topk(self, operator.index(k), operator.index(dim), largest,
                                    sorted))

    # ---- shapes ----

    def reshape(self, *shape: Any) -> "Tensor":
        """The same values in a new shape (sharing memory); one size may be -1."""
        return _C.reshape(self, _shape_args(shape, "reshape"))

    def view(self, *shape: Any) -> "Tensor":
        return _C.reshape(self, _shape_args(shape, "view"))

    def view_as(self, other: "Tensor") -> "Tensor":
        return _C.reshape(self, other.shape)

    reshape_as = view_as

    def flatten(self, start_dim: int = _D.TENSOR_FLATTEN.start_dim,
                end_dim: int = _D.TENSOR_FLATTEN.end_dim) -> "Tensor":
        return _C.flatten(self, start_dim, end_dim)

    def squeeze(self, dim: Optional[int] = None) -> "Tensor":
        return _C.squeeze(self, dim)

    def unsqueeze(self, dim: int) -> "Tensor":
        return _C.unsqueeze(self, dim)

    def transpose(self, dim0: int, dim1: int) -> "Tensor":
        return _C.transpose(self, dim0, dim1)

    def t(self) -> "Tensor":
        if self.ndim > 2:
            raise ValueError(f"t() expects a tensor with <= 2 dimensions, but self is "
                             f"{self.ndim}-D")
        return self if self.ndim < 2 else _C.transpose(self, 0, 1)

    def permute(self, *dims: Any) -> "Tensor":
        return _C.permute(self, _shape_args(dims, "permute"))

    def expand(self, *sizes: Any) -> "Tensor":
        return _C.expand(self, _shape_args(sizes, "expand"))

    def expand_as(self, other: "Tensor") -> "Tensor":
        return _C.expand(self, other.shape)

    def split(self, split_size_or_sections: Any, dim: int = 0) -> Tuple["Tensor", ...]:
        """Pieces of ``split_size_or_sections`` along ``dim`` (the last may be smaller), or
        pieces of the given sizes when it is a list."""
        if isinstance(split_size_or_sections, (numbers.Integral, np.integer)):
            return tuple(_C.split(self, int(split_size_or_sections), dim))
        sizes = [int(size) for size in split_size_or_sections]
        length = self.shape[dim]
        if builtins.sum(sizes) != length or builtins.min(sizes, default=0) < 0:
            raise _shape_error(f"split: sizes {sizes} must be non-negative and sum exactly "
                               f"to {length}, the size of dimension {dim} of shape "
                               f"{list(self.shape)}")
        pieces, start = [], 0
        for size in sizes:
            pieces.append(_C.slice(self, dim, start, start + size, 1))
            start += size
        return tuple(pieces)

    def chunk(self, chunks: int, dim: int = 0) -> Tuple["Tensor", ...]:
        return tuple(_C.chunk(self, chunks, dim))

    def gather(self, dim: int, index: "Tensor") -> "Tensor":
        return _C.gather(self, dim, index)

    def index_select(self, dim: int, index: "Tensor") -> "Tensor":
        return _C.index_select(self, dim, index)


def _set_method(name: str, method) -> None:
    method.__name__, method.__qualname__ = name, f"Tensor.{name}"
    setattr(Tensor, name, method)


def _operator(function, reflected: builtins.bool = False, scalar=None):
    """A method applying ``function`` (a library function of two tensors) to self and a
    tensor, number or array; ``scalar(self, value)`` instead when a float tensor meets a
    number, if given."""
    def method(self: Tensor, other: Any) -> Any:
        value = None if scalar is None else self._float_scalar(other)
        if value is not None:
            return scalar(self, value)
        return self._binary(other, function, reflected)
    return method


def _compare(a: Tensor, b: Tensor, code: int) -> Tensor:
    return _C.compare(a, code, b)


def _in_place_operator(what: str, operator_method):
    def method(self: Tensor, other: Any) -> Any:
        return self._update(other, what, operator_method)
    return method


_OPERATORS = {  # name: (library function, reflected, scalar form)
    "__add__": (_C.add, False, _C.add_scalar),
    "__radd__": (_C.add, True, _C.add_scalar),
    "__sub__": (_C.sub, False, lambda t, value: _C.add_scalar(t, -value)),
    "__rsub__": (_C.sub, True, lambda t, value: _C.add_scalar(_C.neg(t), value)),
    "__mul__": (_C.mul, False, _C.mul_scalar),
    "__rmul__": (_C.mul, True, _C.mul_scalar),
    "__truediv__": (_C.div, False, None),
    "__rtruediv__": (_C.div, True, None),
    "__rpow__": (_C.pow, True, None),
    "maximum": (_C.maximum, False, None),
    "minimum": (_C.minimum, False, None),
    "matmul": (_C.matmul, False, None),
}
for _name, (_library, _reflected, _scalar_form) in _OPERATORS.items():
    _set_method(_name, _operator(_library, _reflected, _scalar_form))
Tensor.mm = Tensor.matmul

# ==, !=, <, <=, >, >= and torch's eq, ne, lt, le, gt, ge: bool tensors (st_compare), by
# the library's names of st_comparison.
for _name, _code in _COMPARISONS.items():
    for _method_name in (_name, f"__{_name}__"):
        _set_method(_method_name, _operator(functools.partial(_compare, code=_code)))

# +=, -=, *=, /=: the operator's result written into the tensor's memory (Tensor._update).
for _name, _what in (("add", "+="), ("sub", "-="), ("mul", "*="), ("truediv", "/=")):
    _set_method(f"__i{_name}__", _in_place_operator(_what, getattr(Tensor, f"__{_name}__")))


def _unary(function):
    def method(self: Tensor) -> Tensor:
        return function(self)
    return method


# Functions of one tensor, by the library's names (st_neg, st_exp, ...).
for _name in ("neg", "exp", "log", "sqrt", "rsqrt", "abs", "relu", "sigmoid", "tanh"):
    _set_method(_name, _unary(getattr(_C, _name)))
Tensor.__neg__, Tensor.__abs__ = Tensor.neg, Tensor.abs


def _moment(function, defaults, what: str):
    def moment(self: Tensor, dim: Any = None, unbiased: Any = None,
               keepdim: builtins.bool = defaults.keepdim, *, correction: Any = None) -> Tensor:
        if correction is None:
            correction = (defaults.correction if unbiased is None
                          else int(builtins.bool(unbiased)))
        return function(self, dim, int(correction), keepdim)
    moment.__doc__ = (f"The {what} with ``correction`` (default {defaults.correction}, "
                      f"Bessel's; ``unbiased=False`` is 0).")
    return moment


def _extreme(reduce, reduce_dim, elementwise, result, doc: Optional[str] = None):
    def extreme(self: Tensor, dim: Any = None, keepdim: builtins.bool = _D.REDUCE.keepdim) -> Any:
        if isinstance(dim, _C.Tensor):
            return self._binary(dim, elementwise)
        if dim is None:
            return reduce(self)
        return result(*reduce_dim(self, dim, keepdim))
    extreme.__doc__ = doc
    return extreme


_set_method("var", _moment(_C.var, _D.VAR, "variance"))
_set_method("std", _moment(_C.std, _D.STD, "standard deviation"))
_set_method("max", _extreme(_C.max, _C.max_dim, _C.maximum, max_return,
                            "The largest element (a 0-d tensor), or with ``dim`` a "
                            "``(values, indices)`` named tuple; with a tensor argument, "
                            "the element-wise maximum."))
_set_method("min", _extreme(_C.min, _C.min_dim, _C.minimum, min_return))

def _shape_error(message: str) -> Exception:
    error = _C.ShapeError(message)
    error.status = -3
    return error


def _formatter(array: np.ndarray) -> dict:
    """torch's number format: ``1.`` when every float is whole, else 4 decimals (or
    scientific notation for a wide range), right-aligned to one width."""
    if array.dtype == np.bool_:
        width = 4 if array.all() else 5
        return {"bool": lambda v: ("True" if v else "False").rjust(width)}
    if array.dtype.kind != "f":
        width = builtins.max(len(str(v)) for v in array.flat)
        return {"int": lambda v: str(v).rjust(width)}
    finite = np.abs(array[np.isfinite(array)]).astype(np.float64)
    if finite.size and np.all(finite == np.round(finite)):
        text = lambda v: f"{v:.0f}." if np.isfinite(v) else str(v)  # noqa: E731
    elif finite.size and (finite.max() >= 1e8 or
                          (finite[finite > 0].size and finite[finite > 0].min() < 1e-4) or
                          finite.max() / builtins.max(finite[finite > 0].min(initial=1), 1e-30)
                          > 1000 and finite.max() > 1e3):
        text = lambda v: f"{v:.4e}"  # noqa: E731
    else:
        text = lambda v: f"{v:.4f}"  # noqa: E731
    width = builtins.max(len(text(v)) for v in array.flat)
    return {"float_kind": lambda v: text(v).rjust(width)}


_C.set_tensor_class(Tensor)


# ---- creation ----------------------------------------------------------------------------

def _finish(t: Tensor, requires_grad: builtins.bool) -> Tensor:
    if requires_grad:
        t.requires_grad = True
    return t


def _source(data: Any, dtype_: Any, what: str) -> Tuple[np.ndarray, dtype, builtins.bool]:
    """(values as an array, the tensor's type, whether the caller's memory could be shared):
    a tensor's or a typed array's own type, torch.tensor's inference for numbers and lists,
    or ``dtype_`` when given."""
    if isinstance(data, (_C.Tensor, np.generic)):  # numpy scalars carry their type too
        source, typed = np.asarray(data), True
    elif isinstance(data, np.ndarray) or (not isinstance(data, (list, tuple)) and
                                          not _is_number(data) and _has_buffer(data)):
        source, typed = np.asarray(data), True
    else:
        source, typed = np.asarray(data), False
    if source.dtype.kind not in "fiub":
        _inferred_dtype(source)  # raises the TypeError
    if dtype_ is not None:
        return source, _as_dtype(dtype_), typed
    return source, (_typed_dtype(source, what) if typed else _inferred_dtype(source)), typed


def tensor(data: Any, dtype: Any = None, requires_grad: builtins.bool = False) -> Tensor:
    """A new tensor holding a **copy** of ``data`` (a numpy array, a buffer, a tensor,
    (nested) lists or a number), as ``torch.tensor``: changing one never changes the other.

    Python numbers and lists follow torch.tensor: floats become float32, ints int64, bools
    bool. An array keeps its type when it is float32, int64 or bool; another type (float64,
    float16, int32, uint8, ...) is refused with a ``TypeError`` unless ``dtype`` names the
    conversion (``tensor(x, dtype=swifttrain.float32)``). :func:`as_tensor` and
    :func:`from_numpy` share an array's memory instead.
    """
    source, target, _ = _source(data, dtype, "tensor")
    converted = np.array(source, dtype=target._numpy, order="C", copy=True)
    return _finish(_C.tensor_from_buffer(converted, borrow=False), requires_grad)


def _has_buffer(obj: Any) -> builtins.bool:
    try:
        memoryview(obj)
    except TypeError:
        return False
    return True


def as_tensor(data: Any, dtype: Any = None) -> Tensor:
    """``data`` as a tensor, sharing its memory where it can, as ``torch.as_tensor``: a tensor
    of the asked type is returned itself, and a C-contiguous, writable numpy array of the
    tensor's type is used in place (as :func:`from_numpy`). Anything else is copied as
    :func:`tensor` does (with the same rule for types)."""
    if isinstance(data, _C.Tensor) and (dtype is None or _as_dtype(dtype) is data.dtype):
        return data
    source, target, typed = _source(data, dtype, "as_tensor")
    if (typed and not isinstance(data, _C.Tensor) and source.dtype == target._numpy
            and source.flags.c_contiguous and source.flags.writeable):
        return _C.tensor_from_buffer(source, borrow=True)
    return tensor(source, dtype=target)


def from_numpy(array: np.ndarray) -> Tensor:
    """A tensor sharing the memory of a numpy array (no copy), as ``torch.from_numpy``.
    The array must be C-contiguous, writable, and float32, int64 or bool."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"expected np.ndarray (got {type(array).__name__})")
    if array.dtype not in (np.float32, np.int64, np.bool_):
        raise TypeError(f"can't convert np.ndarray of type {array.dtype}; the supported "
                        f"types are float32, int64 and bool (convert with "
                        f"array.astype(numpy.float32), which copies: swifttrain.tensor(array, "
                        f"dtype=swifttrain.float32) does the same)")
    if not array.flags.c_contiguous:
        raise ValueError("array is not C-contiguous; use numpy.ascontiguousarray(array)")
    if not array.flags.writeable:
        raise ValueError("array is read-only; a tensor shares writable memory only (use "
                         "swifttrain.tensor(array.copy()))")
    return _C.tensor_from_buffer(array, borrow=True)


def zeros(*size: Any, dtype: Any = None, requires_grad: builtins.bool = False) -> Tensor:
    """Zeros of the given shape (float32 unless ``dtype`` says otherwise)."""
    kind = float32 if dtype is None else _as_dtype(dtype)
    return _finish(_C.zeros(_shape_args(size, "zeros"), kind._code), requires_grad)


def full(size: Any, fill_value: Any, dtype: Any = None,
         requires_grad: builtins.bool = False) -> Tensor:
    """A tensor filled with ``fill_value``: float32 for a float, int64 for an int, bool for
    a bool (as torch.full), unless ``dtype`` says otherwise."""
    shape = _shape_args((size,), "full")
    if dtype is None:
        dtype = (bool if isinstance(fill_value, (builtins.bool, np.bool_)) else
                 int64 if isinstance(fill_value, (numbers.Integral, np.integer)) else float32)
    kind = _as_dtype(dtype)
    if kind is float32:
        return _finish(_C.full(shape, builtins.float(fill_value)), requires_grad)
    return _finish(tensor(np.full(shape, fill_value, dtype=kind._numpy)), requires_grad)


def ones(*size: Any, dtype: Any = None, requires_grad: builtins.bool = False) -> Tensor:
    """Ones of the given shape (float32 unless ``dtype`` says otherwise)."""
    kind = float32 if dtype is None else _as_dtype(dtype)
    return full(_shape_args(size, "ones"), 1 if kind is not bool else True, dtype=kind,
                requires_grad=requires_grad)


def arange(start: Any = 0, end: Any = None, step: Any = 1, *, dtype: Any = None,
           requires_grad: builtins.bool = False) -> Tensor:
    """``start, start + step, ...`` before ``end`` (``arange(n)``: ``0 .. n-1``); int64 when
    every argument is an int, else float32."""
    if end is None:
        start, end = 0, start
    if dtype is None:
        whole = builtins.all(isinstance(v, (numbers.Integral, np.integer)) for v in (start, end, step))
        dtype = int64 if whole else float32
    kind = _as_dtype(dtype)
    return _finish(_C.arange(builtins.float(start), builtins.float(end), builtins.float(step),
                             kind._code), requires_grad)


# Random tensors: each call without `seed` draws the next seed of a sequence that
# swifttrain.manual_seed() restarts, so a seeded program gets the same values every run.
_seed_lock = threading.Lock()
_seed_state = [0, 0]  # [base seed, calls since manual_seed]


def _reseed(seed: int) -> None:
    with _seed_lock:
        _seed_state[0], _seed_state[1] = seed, 0


def _next_seed() -> int:
    """SplitMix64 of (base + counter): well-spread, reproducible 64-bit seeds."""
    with _seed_lock:
        _seed_state[1] += 1
        z = (_seed_state[0] + _seed_state[1] * 0x9E3779B97F4A7C15) & (2**64 - 1)
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & (2**64 - 1)
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & (2**64 - 1)
    return z ^ (z >> 31)


def _random(kind: str, size: Tuple[Any, ...], seed: Optional[int], dtype: Any,
            requires_grad: builtins.bool) -> Tensor:
    if dtype is not None and _as_dtype(dtype) is not float32:
        raise TypeError(f"{kind}: only float32 random tensors are supported")
    shape = _shape_args(size, kind)
    seed = _next_seed() if seed is None else int(seed) & (2**64 - 1)
    make = _C.uniform if kind == "rand" else _C.normal
    return _finish(make(shape, 0.0, 1.0, seed), requires_grad)


def rand(*size: Any, seed: Optional[int] = None, dtype: Any = None,
         requires_grad: builtins.bool = False) -> Tensor:
    """Uniform values in [0, 1). ``seed`` picks the values; without it, the next seed of
    the sequence that :func:`swifttrain.manual_seed` restarts."""
    return _random("rand", size, seed, dtype, requires_grad)


def randn(*size: Any, seed: Optional[int] = None, dtype: Any = None,
          requires_grad: builtins.bool = False) -> Tensor:
    """Standard normal values; ``seed`` as in :func:`rand`."""
    return _random("randn", size, seed, dtype, requires_grad)


def zeros_like(input: Tensor, dtype: Any = None, requires_grad: builtins.bool = False) -> Tensor:  # noqa: A002
    return zeros(input.shape, dtype=input.dtype if dtype is None else dtype,
                 requires_grad=requires_grad)


def ones_like(input: Tensor, dtype: Any = None, requires_grad: builtins.bool = False) -> Tensor:  # noqa: A002
    return ones(input.shape, dtype=input.dtype if dtype is None else dtype,
                requires_grad=requires_grad)


def full_like(input: Tensor, fill_value: Any, dtype: Any = None,  # noqa: A002
              requires_grad: builtins.bool = False) -> Tensor:
    return full(input.shape, fill_value, dtype=input.dtype if dtype is None else dtype,
                requires_grad=requires_grad)


def rand_like(input: Tensor, seed: Optional[int] = None) -> Tensor:  # noqa: A002
    return rand(input.shape, seed=seed)


def randn_like(input: Tensor, seed: Optional[int] = None) -> Tensor:  # noqa: A002
    return randn(input.shape, seed=seed)


# ---- functions of several tensors ----------------------------------------------------------

def cat(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Joins tensors along an existing dimension."""
    return _C.cat(list(tensors), dim)


concat = cat


def stack(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Joins tensors along a new dimension."""
    return _C.stack(list(tensors), dim)


def where(condition: Tensor, input: Any, other: Any) -> Tensor:  # noqa: A002
    """``input`` where ``condition`` (bool) is true, else ``other``; numbers are allowed."""
    if not isinstance(input, _C.Tensor) and isinstance(other, _C.Tensor):
        input = _operand(input, other)
    if isinstance(input, _C.Tensor) and not isinstance(other, _C.Tensor):
        other = _operand(other, input)
    if not isinstance(input, _C.Tensor):
        input, other = tensor(input), tensor(other)
    return _C.where(condition, input, other)


def reshape(input: Tensor, shape: Sequence[int]) -> Tensor:  # noqa: A002
    """``input`` with a new shape (sharing memory); one size may be -1."""
    return input.reshape(shape)


def permute(input: Tensor, dims: Sequence[int]) -> Tensor:  # noqa: A002
    return input.permute(dims)


def split(tensor: Tensor, split_size_or_sections: Any, dim: int = 0) -> Tuple[Tensor, ...]:
    """Pieces of ``split_size_or_sections`` along ``dim`` (or of the listed sizes)."""
    return tensor.split(split_size_or_sections, dim)


def maximum(input: Tensor, other: Tensor) -> Tensor:  # noqa: A002
    return input.maximum(other)


def minimum(input: Tensor, other: Tensor) -> Tensor:  # noqa: A002
    return input.minimum(other)


def matmul(input: Tensor, other: Tensor) -> Tensor:  # noqa: A002
    return input.matmul(other)


# torch.* spellings of the Tensor methods: st.exp(x) is x.exp(), and so on.
def _function_of(name: str):
    method = getattr(Tensor, name)

    def function(input: Tensor, *args: Any, **kwargs: Any) -> Any:  # noqa: A002
        if not isinstance(input, _C.Tensor):
            raise TypeError(f"{name}(): argument 'input' must be a Tensor, not "
                            f"{type(input).__name__}")
        return method(input, *args, **kwargs)

    function.__name__ = function.__qualname__ = name
    function.__doc__ = method.__doc__
    return function


_METHOD_FUNCTIONS = [
    "add", "sub", "mul", "div", "pow", "neg", "exp", "log", "sqrt", "rsqrt", "abs", "clamp",
    "clip", "relu", "sigmoid", "tanh", "softmax", "log_softmax", "sum", "mean", "var", "std",
    "max", "min", "argmax", "flatten", "squeeze", "unsqueeze", "transpose", "chunk",
    "gather", "index_select", "numel", "eq", "ne", "lt", "le", "gt", "ge", "t", "mm",
    "all", "any", "topk",
]
for _name in _METHOD_FUNCTIONS:
    globals()[_name] = _function_of(_name)
__all__ += _METHOD_FUNCTIONS
