#!/usr/bin/env python3
"""Runs the tensor-semantics snippets through PyTorch once and writes
Tests/fixtures/torch_tensor_semantics.json, which Tests/python/test_tensor_semantics.py reads
to run the same snippets through swifttrain and compare.

    /tmp/peers/bin/python tools/torch_tensor_semantics.py

Each snippet is Python code over `lib` (torch, or swifttrain at test time) and `np`, and sets
`result`. Results are made plain by tools/tensor_semantics_form.py (tensors as values, dtype name
and shape; an exception as the built-in class a user would catch), so the fixture needs neither
library to be read.

Where swifttrain differs from torch on purpose, the case carries `swifttrain`: the result it
gives instead, and `why` (the rule documented in docs/tensors.md); every other case must give
torch's result. The output is deterministic (rerun -> identical file).
"""

import json
import os
import sys

import numpy as np
import torch

from tensor_semantics_form import run

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(REPO, "Tests", "fixtures", "torch_tensor_semantics.json")

FLOAT64 = "swifttrain has no float64 (nor float16, int32, uint8): a typed array of another type is refused " \
          "unless dtype= names the conversion"
STRIDED = "a strided result (t[:, 1], t[::2], t.T) is a copy, not a view; writing into it raises instead of " \
          "silently missing t"

# (name, code, swifttrain's result where it differs on purpose, why)
CASES = [
    # ---- tensor() copies; from_numpy() and as_tensor() share --------------------------------------
    ("tensor_copies_an_array", """
a = np.ones(3, dtype=np.float32)
p = lib.tensor(a, requires_grad=True)
opt = lib.optim.SGD([p], lr=1.0)
(p * p).sum().backward()
opt.step()
result = [a, p.detach()]
""", None, None),
    ("tensor_of_a_tensor_copies", """
t = lib.zeros(3)
u = lib.tensor(t)
u.add_(1)
result = [t, u]
""", None, None),
    ("from_numpy_shares", """
a = np.zeros(3, dtype=np.float32)
t = lib.from_numpy(a)
t[1] = 5
a[0] = 2
result = [a, t]
""", None, None),
    ("as_tensor_shares_an_array_of_its_type", """
a = np.zeros(3, dtype=np.float32)
t = lib.as_tensor(a)
t.add_(1)
result = a
""", None, None),
    ("as_tensor_converting_copies", """
a = np.zeros(3, dtype=np.int64)
t = lib.as_tensor(a, dtype=lib.float32)
t.add_(1)
result = [a, t]
""", None, None),
    ("as_tensor_of_a_tensor_is_itself", """
t = lib.zeros(2)
result = lib.as_tensor(t) is t
""", None, None),
    # ---- basic indexing returns views ------------------------------------------------------------
    ("index_then_index_writes_through", """
t = lib.zeros(3, 4)
t[0][1] = 5
result = t
""", None, None),
    ("slice_add_changes_the_original", """
t = lib.arange(12.0).reshape(4, 3)
t[1:3].add_(1)
result = t
""", None, None),
    ("row_slice_mul_changes_the_original", """
t = lib.arange(12.0).reshape(4, 3)
t[2][1:].mul_(2)
result = t
""", None, None),
    ("none_and_ellipsis_views", """
t = lib.arange(6.0).reshape(2, 3)
v = t[None, 1]
v.fill_(7)
w = t[..., None]
w[0] += 10
result = [t, list(v.shape), list(w.shape)]
""", None, None),
    ("reading_views_sees_later_writes", """
t = lib.zeros(2, 3)
row = t[1]
t[1, 2] = 4
result = row
""", None, None),
    ("setitem_on_the_original_with_a_strided_index", """
t = lib.zeros(3, 3)
t[:, 1] = 9
t[::2, 0] = 1
result = t
""", None, None),
    ("write_through_a_column_slice", """
t = lib.zeros(3, 3)
t[:, 1].fill_(9)
result = t
""", {"raises": "RuntimeError"}, STRIDED),
    ("write_through_a_strided_row_slice", """
t = lib.zeros(4, 2)
t[::2].add_(1)
result = t
""", {"raises": "RuntimeError"}, STRIDED),
    ("write_through_a_transpose", """
t = lib.zeros(2, 3)
t.T[0] = 5
result = t
""", {"raises": "RuntimeError"}, STRIDED),
    ("reading_strided_results", """
t = lib.arange(12.0).reshape(3, 4)
result = [t[:, 1], t[::2, 1:3], t.T[1], t[1:, ::3]]
""", None, None),
    ("strided_results_are_not_contiguous", """
t = lib.arange(12.0).reshape(3, 4)
result = [t[:, 1].is_contiguous(), t.T.is_contiguous(), t[1:3].is_contiguous(), t[1].is_contiguous()]
""", None, None),
    ("contiguous_copy_is_writable_and_separate", """
t = lib.zeros(2, 3)
c = t.T.contiguous()
c[0] = 1
result = [t, c]
""", None, None),
    ("gradients_through_views_and_copies", """
x = lib.tensor([[0.5, -1.0, 2.0], [1.5, 0.25, -0.5], [3.0, 1.0, 0.0]], requires_grad=True)
y = (x[1:3] * x[1:3]).sum() + x[:, 0].exp().sum() + (x[0][1:] * 3).sum() + x[..., None, 2].sum()
y.backward()
result = [y.detach(), x.grad]
""", None, None),
    ("view_of_a_parameter_updated_under_no_grad", """
w = lib.zeros(3, 2, requires_grad=True)
with lib.no_grad():
    w[1].add_(2)
    w[2:].fill_(-1)
result = w.detach()
""", None, None),
    # ---- dtypes ----------------------------------------------------------------------------------
    ("python_numbers_and_lists", """
result = [lib.tensor([1.5, 2]), lib.tensor([1, 2]), lib.tensor([True, False]), lib.tensor(3.0),
          lib.tensor([[0.5, 1], [2, 3]]), lib.tensor(7)]
""", None, None),
    ("float32_int64_bool_arrays_keep_their_type", """
result = [lib.tensor(np.zeros(2, dtype=np.float32)), lib.tensor(np.zeros(2, dtype=np.int64)),
          lib.tensor(np.zeros(2, dtype=np.bool_))]
""", None, None),
    ("float64_array", """
result = lib.tensor(np.array([0.5, 1.5]))
""", {"raises": "TypeError"}, FLOAT64),
    ("float64_numpy_scalar", """
result = lib.tensor(np.float64(0.5))
""", {"raises": "TypeError"}, FLOAT64),
    ("float16_array", """
result = lib.tensor(np.array([0.5, 1.5], dtype=np.float16))
""", {"raises": "TypeError"}, FLOAT64),
    ("int32_array", """
result = lib.tensor(np.array([1, 2], dtype=np.int32))
""", {"raises": "TypeError"}, FLOAT64),
    ("from_numpy_float64", """
result = lib.from_numpy(np.array([0.5, 1.5]))
""", {"raises": "TypeError"}, FLOAT64),
    ("explicit_conversions", """
result = [lib.tensor(np.array([0.5, 1.5]), dtype=lib.float32),
          lib.tensor(np.array([1, 2], dtype=np.int32), dtype=lib.int64),
          lib.tensor(np.array([0.5, 1.5], dtype=np.float16), dtype=lib.float32),
          lib.as_tensor(np.array([7, 8], dtype=np.uint8), dtype=lib.int64)]
""", None, None),
    ("double", """
result = lib.tensor([1.0, 2.0]).double()
""", {"raises": "TypeError"}, "swifttrain has no float64; .double() names .float() instead"),
    ("int", """
result = lib.tensor([1.0, 2.7]).int()
""", {"raises": "TypeError"}, "swifttrain has no int32; .int() names .long() instead"),
    ("long_float_bool", """
t = lib.tensor([1.0, -2.7, 0.0])
result = [t.long(), t.bool(), t.long().float()]
""", None, None),
    # ---- all / any / topk ------------------------------------------------------------------------
    ("all_any", """
t = lib.tensor([[1.0, 0.0], [2.0, 3.0]])
b = lib.tensor([[True, True], [False, True]])
i = lib.tensor([[0, 2], [1, 1]])
result = [t.all(), t.any(), t.all(dim=1), t.any(dim=0), t.all(dim=0, keepdim=True), b.all(), b.any(dim=1),
          i.all(dim=1), (t > 5).any(), lib.zeros(0).all(), lib.zeros(0).any()]
""", None, None),
    ("topk_values_and_indices", """
t = lib.tensor([[1.0, 7.0, 3.0, 5.0], [4.0, -2.0, 9.0, 0.5]])
r = t.topk(2)
s = t.topk(3, dim=1, largest=False)
c = t.topk(1, dim=0)
result = [r.values, r.indices, s.values, s.indices, c.values, c.indices, lib.topk(t, 2).indices]
""", None, None),
    ("topk_gradient", """
x = lib.tensor([[1.0, 7.0, 3.0, 5.0], [4.0, -2.0, 9.0, 0.5]], requires_grad=True)
v, _ = x.topk(2, dim=1)
(v * lib.tensor([[1.0, 2.0], [3.0, 4.0]])).sum().backward()
result = x.grad
""", None, None),
    ("topk_k_too_large", """
result = lib.zeros(3).topk(4)
""", None, None),
    # ---- einsum ----------------------------------------------------------------------------------
    ("einsum_contractions", """
a = lib.arange(6.0).reshape(2, 3)
b = lib.arange(12.0).reshape(3, 4) / 10
c = lib.arange(24.0).reshape(2, 3, 4) / 7
d = lib.arange(16.0).reshape(2, 4, 2) - 3
v = lib.tensor([1.0, -2.0, 0.5])
result = [lib.einsum("ij,jk->ik", a, b), lib.einsum("ij->ji", a), lib.einsum("ij->", a), lib.einsum("ij->j", a),
          lib.einsum("bij,bjk->bik", c, d), lib.einsum("i,i->", v, v), lib.einsum("i,j->ij", v, v),
          lib.einsum("ij,j->i", a, v), lib.einsum("bik,bjk->bij", c, c), lib.einsum("ij,kj", a, a),
          lib.einsum("ij,jk,kl->il", a, b, b.T), lib.einsum("bij->bj", c), lib.einsum("ij,ij->ij", a, a)]
""", None, None),
    ("einsum_attention_scores_and_gradients", """
q = lib.tensor([[[[0.1, 0.2], [0.3, -0.4], [0.5, 0.6]]]], requires_grad=True)
k = lib.tensor([[[[1.0, -1.0], [0.5, 2.0], [-0.5, 0.25]]]], requires_grad=True)
s = lib.einsum("bhqd,bhkd->bhqk", q, k)
(s * s).sum().backward()
result = [s.detach(), q.grad, k.grad]
""", None, None),
    ("einsum_result_is_writable", """
a = lib.ones(2, 3)
r = lib.einsum("ij,jk->ki", a, a.T)
r[0] = 5
result = [a, r]
""", None, None),
    ("einsum_permutation_is_a_view", """
a = lib.ones(2, 3)
r = lib.einsum("ij->ji", a)
r[0] = 5
result = a
""", {"raises": "RuntimeError"}, STRIDED),
    ("einsum_size_mismatch", """
result = lib.einsum("ij,jk->ik", lib.ones(2, 3), lib.ones(4, 2))
""", None, None),
    # ---- autograd --------------------------------------------------------------------------------
    ("retain_graph", """
w = lib.tensor([1.0, 2.0], requires_grad=True)
loss = (w * w).sum()
loss.backward(retain_graph=True)
loss.backward()
result = w.grad
""", None, None),
    ("second_backward_without_retain_graph", """
w = lib.tensor([1.0, 2.0], requires_grad=True)
loss = (w * w).sum()
loss.backward()
loss.backward()
result = w.grad
""", None, None),
    # ---- modules: parameters, ModuleList, ModuleDict, clipping -----------------------------------
    ("parameter_registration", """
class M(lib.nn.Module):
    def __init__(self):
        super().__init__()
        self.w = lib.nn.Parameter(lib.ones(2))
        self.not_a_parameter = lib.ones(2, requires_grad=True)
        self.blocks = lib.nn.ModuleList([lib.nn.Linear(2, 2), lib.nn.Linear(2, 1)])
        self.heads = lib.nn.ModuleDict({"a": lib.nn.Linear(2, 3)})
m = M()
result = [[n for n, _ in m.named_parameters()], list(m.state_dict()), isinstance(m.w, lib.nn.Parameter),
          m.w.requires_grad, len(m.blocks), list(m.heads.keys())]
""", None, None),
    ("parameter_of_a_tensor_shares", """
t = lib.zeros(2)
p = lib.nn.Parameter(t)
with lib.no_grad():
    p.add_(1)
result = [t, p.requires_grad, p.is_leaf]
""", None, None),
    ("clip_grad_norm", """
a = lib.zeros(2, requires_grad=True)
b = lib.zeros(1, requires_grad=True)
def fill():
    a.grad = None
    b.grad = None
    ((a * lib.tensor([3.0, -4.0])).sum() + (b * 12).sum()).backward()
fill()
n2 = lib.nn.utils.clip_grad_norm_([a, b], max_norm=1.0)
g2 = [a.grad.clone(), b.grad.clone()]
fill()
ninf = lib.nn.utils.clip_grad_norm_([a, b], 6.0, norm_type=float("inf"))
ginf = [a.grad.clone(), b.grad.clone()]
fill()
n1 = lib.nn.utils.clip_grad_norm_([a, b], 100.0, norm_type=1)
g1 = [a.grad.clone(), b.grad.clone()]
fill()
lib.nn.utils.clip_grad_value_([a, b], 3.5)
result = [n2, g2, ninf, ginf, n1, g1, a.grad, b.grad]
""", None, None),
    ("clip_grad_norm_nonfinite", """
a = lib.zeros(1, requires_grad=True)
(a * float("nan")).sum().backward()
result = lib.nn.utils.clip_grad_norm_([a], 1.0, error_if_nonfinite=True)
""", None, None),
]


def main():
    torch.manual_seed(0)
    cases = []
    for name, code, differs, why in CASES:
        result = run(code, torch)
        if isinstance(result, dict):
            result.pop("message", None)  # torch's wording is not compared
        case = {"name": name, "code": code.strip() + "\n", "torch": result}
        if differs is not None:
            case["swifttrain"], case["why"] = differs, why
        cases.append(case)
    document = {"generator": "tools/torch_tensor_semantics.py", "torch": torch.__version__.split("+")[0],
                "numpy": np.__version__, "cases": cases}
    with open(OUT, "w") as f:
        json.dump(document, f, indent=1, sort_keys=False)
        f.write("\n")
    print(f"wrote {len(cases)} cases to {os.path.relpath(OUT, REPO)}", file=sys.stderr)


if __name__ == "__main__":
    main()
