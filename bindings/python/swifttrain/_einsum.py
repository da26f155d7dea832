"""``einsum``: torch.einsum's subscript notation, computed by the library's sum, permute,
reshape and batched matmul (so autograd records it like any other composition of them).

    st.einsum("ij,jk->ik", a, b)        # a @ b
    st.einsum("bij,bjk->bik", a, b)     # batched matmul
    st.einsum("bhqd,bhkd->bhqk", q, k)  # attention scores
    st.einsum("ij->ji", a)              # transpose;  "ii->" (a trace) is not supported

Operands are contracted left to right, two at a time: labels both share and the output keeps
are batch dimensions, labels they share that are summed are the matmul's inner dimension,
and a label only one of them has is summed first unless the output (or a later operand) keeps
it. Repeated labels in one operand (diagonals, traces) and ``...`` are refused with a message.
"""

from __future__ import annotations

import string
from typing import Any, Dict, List, Sequence, Tuple

from . import _swifttrain as _C
from ._tensor import _shape_error

__all__ = ["einsum"]

_LETTERS = set(string.ascii_letters)


def _parse(equation: str, count: int) -> Tuple[List[str], str]:
    """(the subscripts of each operand, the output's), checked; torch's implicit output
    (labels used once, in alphabetical order) when there is no ``->``."""
    text = equation.replace(" ", "")
    if "." in text:
        raise ValueError(f"einsum: '...' (broadcast dimensions) is not supported in "
                         f"{equation!r}; name every dimension with a letter")
    inputs, arrow, output = text.partition("->")
    terms = inputs.split(",")
    if len(terms) != count:
        raise ValueError(f"einsum: {equation!r} names {len(terms)} operands, but {count} "
                         f"were given")
    for term in terms + [output]:
        bad = [c for c in term if c not in _LETTERS]
        if bad:
            raise ValueError(f"einsum: subscripts are letters, got {bad[0]!r} in {equation!r}")
        repeated = sorted({c for c in term if term.count(c) > 1})
        if repeated:
            where = "the output" if term is output and arrow else f"operand {terms.index(term)}"
            raise ValueError(f"einsum: label {repeated[0]!r} repeats in {where} of {equation!r}; "
                             f"diagonals and traces are not supported")
    if not arrow:
        used = "".join(terms)
        output = "".join(sorted(c for c in set(used) if used.count(c) == 1))
    for c in output:
        if c not in inputs:
            raise ValueError(f"einsum: output label {c!r} of {equation!r} appears in no operand")
    return terms, output


def _sum_out(t: Any, labels: str, keep: str) -> Tuple[Any, str]:
    """``t`` summed over its labels that are not in ``keep``."""
    dims = [i for i, c in enumerate(labels) if c not in keep]
    if not dims:
        return t, labels
    return _C.sum(t, dims, False), "".join(c for c in labels if c in keep)


def _permuted(t: Any, labels: str, order: str) -> Any:
    if labels == order:
        return t
    return _C.permute(t, [labels.index(c) for c in order])


def _contract(a: Any, la: str, b: Any, lb: str, keep: str, sizes: Dict[str, int]) -> Tuple[Any, str]:
    """a (labels la) times b (labels lb), summed over the shared labels not in ``keep``:
    one batched matmul [batch, left, inner] @ [batch, inner, right]."""
    a, la = _sum_out(a, la, keep + lb)
    b, lb = _sum_out(b, lb, keep + la)
    batch = [c for c in la if c in lb and c in keep]
    inner = [c for c in la if c in lb and c not in keep]
    left = [c for c in la if c not in lb]
    right = [c for c in lb if c not in la]

    def size(labels: Sequence[str]) -> int:
        n = 1
        for c in labels:
            n *= sizes[c]
        return n

    shape_a = [size(batch), size(left), size(inner)]
    shape_b = [size(batch), size(inner), size(right)]
    a = _C.reshape(_permuted(a, la, "".join(batch + left + inner)), shape_a)
    b = _C.reshape(_permuted(b, lb, "".join(batch + inner + right)), shape_b)
    out = _C.matmul(a, b)
    labels = batch + left + right
    return _C.reshape(out, [sizes[c] for c in labels]), "".join(labels)


def einsum(equation: str, *operands: Any) -> Any:
    """torch.einsum for float32 tensors: ``einsum("ij,jk->ik", a, b)``; operands may also be
    given as one list. Sizes of a label must agree (no broadcasting of size-1 dimensions)."""
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    if not operands:
        raise ValueError("einsum: at least one operand is needed")
    for i, t in enumerate(operands):
        if not isinstance(t, _C.Tensor):
            raise TypeError(f"einsum: operand {i} must be a Tensor, not {type(t).__name__}")
    terms, output = _parse(equation, len(operands))
    sizes: Dict[str, int] = {}
    for i, (t, term) in enumerate(zip(operands, terms)):
        if len(term) != t.ndim:
            raise ValueError(f"einsum: operand {i} has {t.ndim} dimensions but subscripts "
                             f"{term!r} name {len(term)}")
        for c, n in zip(term, t.shape):
            if sizes.setdefault(c, n) != n:
                raise _shape_error(f"einsum: label {c!r} is {sizes[c]} in one operand and {n} "
                                    f"in operand {i} of {equation!r}")
    result, labels = operands[0], terms[0]
    for i in range(1, len(operands)):
        later = "".join(terms[i + 1:])
        result, labels = _contract(result, labels, operands[i], terms[i], output + later, sizes)
    summed, labels = _sum_out(result, labels, output)
    result = _permuted(summed, labels, output)
    if len(operands) == 1 and summed is operands[0]:
        return result  # a permutation: torch's view, here a copy that refuses writes
    # A computed result is new memory in torch, writable: a permutation's copy is replaced by a
    # writable one (that stays in the graph).
    return result if result._writable else result.contiguous()
