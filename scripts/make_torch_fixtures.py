#!/usr/bin/env python3
"""Generate PyTorch reference fixtures for swifttrain's tensor ops, losses and layers.

Writes Tests/fixtures/torch/<group>.json (see Tests/fixtures/torch/README.md for the
format). PyTorch is needed only here, never at test time:

    python -m venv /tmp/torchvenv && /tmp/torchvenv/bin/pip install torch numpy
    /tmp/torchvenv/bin/python scripts/make_torch_fixtures.py

How every case is made:
  * inputs are drawn in float32 with numpy from a seed derived from the case name, so
    they are float32-representable and independent of torch's RNG and of case order;
  * the reference is computed in float64 (inputs cast to float64, modules .double());
  * "upstream" is a fixed random tensor of the output's shape, grads are
    d(sum(output * upstream)) / d(input), i.e. output.backward(upstream);
  * every case is recomputed in float32 and checked against the float64 reference with
    the case's tolerance (|a - e| <= tol + tol * |e|), so each fixture is achievable by a
    float32 implementation. A failed check aborts the run.

Only torch and numpy are needed. The output is deterministic (rerun -> identical files).
"""

import json
import math
import os
import sys
import warnings
import zlib

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT_DIR = os.path.join(REPO, "Tests", "fixtures", "torch")
GENERATOR = "scripts/make_torch_fixtures.py"

torch.set_num_threads(1)
torch.use_deterministic_algorithms(True)
# kl_div(reduction="mean") is recorded on purpose; its deprecation notice is not news here.
warnings.filterwarnings("ignore", message="reduction: 'mean' divides the total loss")

# --------------------------------------------------------------------------------------
# Input specifications
# --------------------------------------------------------------------------------------


class In:
    """One input tensor of a case: how to draw it, and how torch receives it."""

    def __init__(self, shape, kind="randn", arg="input", grad=True, dtype="float32", **opts):
        self.shape = list(shape)
        self.kind = kind
        self.arg = arg
        self.grad = grad and dtype == "float32"
        self.dtype = dtype
        self.opts = opts

    def draw(self, seed):
        rng = np.random.default_rng(seed)
        n = int(np.prod(self.shape, dtype=np.int64))
        o = self.opts
        k = self.kind
        if k == "randn":
            a = rng.standard_normal(n) * o.get("scale", 1.0) + o.get("shift", 0.0)
        elif k == "uniform":
            a = rng.uniform(o["lo"], o["hi"], n)
        elif k == "choice":  # small discrete set: produces ties on purpose
            a = rng.choice(np.array(o["choices"], dtype=np.float64), n)
        elif k == "values":
            a = np.array(o["values"], dtype=np.float64).ravel()
        elif k == "randint":
            a = rng.integers(o["lo"], o["hi"], n)
        elif k == "ints":
            a = np.array(o["values"], dtype=np.int64).ravel()
        elif k == "randbool":
            a = rng.uniform(0, 1, n) < 0.5
        elif k == "bools":
            a = np.array(o["values"], dtype=bool).ravel()
        elif k == "logprobs":  # log_softmax over dim 1 (class dim), done in float32
            x = torch.from_numpy(rng.standard_normal(n).astype(np.float32)).reshape(self.shape)
            a = torch.log_softmax(x, dim=1).numpy().ravel()
        elif k == "probs":  # softmax over dim 1, done in float32
            x = torch.from_numpy(rng.standard_normal(n).astype(np.float32)).reshape(self.shape)
            a = torch.softmax(x, dim=1).numpy().ravel()
        else:
            raise ValueError(k)
        if a.size != n:
            raise ValueError(f"{k}: {a.size} values for shape {self.shape}")
        np_dtype = {"float32": np.float32, "int64": np.int64, "bool": np.bool_}[self.dtype]
        return a.astype(np_dtype).reshape(self.shape)


def R(shape, arg="input", grad=True, scale=1.0, shift=0.0):
    return In(shape, "randn", arg, grad, scale=scale, shift=shift)


def U(shape, lo, hi, arg="input", grad=True):
    return In(shape, "uniform", arg, grad, lo=lo, hi=hi)


def V(shape, values, arg="input", grad=True):
    return In(shape, "values", arg, grad, values=values)


def Ch(shape, choices, arg="input", grad=False):
    return In(shape, "choice", arg, grad, choices=choices)


def Int(shape, values=None, arg="index", lo=None, hi=None):
    if values is not None:
        return In(shape, "ints", arg, False, "int64", values=values)
    return In(shape, "randint", arg, False, "int64", lo=lo, hi=hi)


def Bool(shape, values=None, arg="condition"):
    if values is not None:
        return In(shape, "bools", arg, False, "bool", values=values)
    return In(shape, "randbool", arg, False, "bool")


def LogP(shape, arg="input", grad=True):
    return In(shape, "logprobs", arg, grad)


def Prob(shape, arg="target", grad=False):
    return In(shape, "probs", arg, False)


def seed_of(*parts):
    return zlib.crc32("/".join(str(p) for p in parts).encode())


# --------------------------------------------------------------------------------------
# JSON helpers
# --------------------------------------------------------------------------------------

FLOAT_DTYPES = (torch.float16, torch.bfloat16, torch.float32, torch.float64)


def dtype_name(t):
    if t.dtype in FLOAT_DTYPES:
        return "float32"  # logical dtype; values are the float64 reference
    return {torch.int64: "int64", torch.bool: "bool"}[t.dtype]


def values_of(arr):
    arr = np.asarray(arr)
    if arr.dtype == np.bool_:
        return [bool(v) for v in arr.ravel()]
    if np.issubdtype(arr.dtype, np.integer):
        return [int(v) for v in arr.ravel()]
    flat = arr.astype(np.float64).ravel()
    if not np.all(np.isfinite(flat)):
        raise ValueError("non-finite value in a fixture")
    return [float(v) for v in flat]


def tjson(t, with_dtype=True):
    """Tensor (torch or numpy) -> {"shape", ["dtype"], "values"}."""
    if t is None:
        return None
    if isinstance(t, torch.Tensor):
        d = {"shape": list(t.shape)}
        if with_dtype:
            d["dtype"] = dtype_name(t)
        d["values"] = values_of(t.detach().cpu().numpy())
        return d
    d = {"shape": list(t.shape)}
    if with_dtype:
        d["dtype"] = {np.dtype(np.float32): "float32", np.dtype(np.int64): "int64",
                      np.dtype(np.bool_): "bool"}[t.dtype]
    d["values"] = values_of(t)
    return d


def to_torch(arr, float_dtype, requires_grad=False):
    t = torch.from_numpy(arr.copy())
    if t.dtype == torch.float32:
        t = t.to(float_dtype)
        t.requires_grad_(requires_grad)
    return t


def upstream_for(out, seed):
    if out.dim() == 0:
        return np.array(0.7, dtype=np.float32)
    rng = np.random.default_rng(seed)
    return rng.standard_normal(out.numel()).astype(np.float32).reshape(list(out.shape))


class Mismatch(Exception):
    pass


def check_close(what, got, ref, tol):
    got = np.asarray(got, dtype=np.float64)
    ref = np.asarray(ref, dtype=np.float64)
    if got.shape != ref.shape:
        raise Mismatch(f"{what}: shape {got.shape} vs {ref.shape}")
    if got.size == 0:
        return
    err = np.abs(got - ref) - tol * (1.0 + np.abs(ref))
    if np.any(err > 0):
        i = int(np.argmax(err))
        raise Mismatch(f"{what}: {got.ravel()[i]!r} vs reference {ref.ravel()[i]!r} "
                       f"(flat index {i}) exceeds tolerance {tol}")


# --------------------------------------------------------------------------------------
# Function cases (ops and losses)
# --------------------------------------------------------------------------------------


def case(name, op, inputs, tol=1e-5, after=(), **kwargs):
    """A function case: op name, input specs, torch keyword arguments."""
    return {"name": name, "op": op, "inputs": inputs, "kwargs": kwargs, "tol": tol,
            "after": list(after)}


def to_index(index):
    out = []
    for e in index:
        if isinstance(e, list):
            out.append(slice(*e))
        else:
            out.append(e)
    return tuple(out)


def resolve(op):
    if op == "getitem":
        return lambda input, index: input[to_index(index)]
    if op in ("view", "expand"):
        return lambda input, **kw: getattr(input, op)(**kw)
    for ns in (F, torch):
        if hasattr(ns, op):
            return getattr(ns, op)
    raise ValueError(f"unknown op {op}")


def call_op(spec, tensors):
    fn = resolve(spec["op"])
    args = {}
    for s, t in zip(spec["inputs"], tensors):
        if s.arg == "tensors":  # list argument (cat, stack)
            args.setdefault("tensors", []).append(t)
        else:
            args[s.arg] = t
    return fn(**args, **spec["kwargs"])


def evaluate_function(spec, arrays, float_dtype, upstreams=None):
    tensors = [to_torch(a, float_dtype, s.grad) for s, a in zip(spec["inputs"], arrays)]
    out = call_op(spec, tensors)
    outs = [out] if isinstance(out, torch.Tensor) else list(out)
    if upstreams is None:
        upstreams = [upstream_for(o, seed_of(spec["name"], "upstream", j))
                     if o.dtype in FLOAT_DTYPES else None for j, o in enumerate(outs)]
    grad_inputs = [t for s, t in zip(spec["inputs"], tensors) if s.grad]
    grads = []
    if grad_inputs:
        total = sum((o * torch.from_numpy(u).to(float_dtype)).sum()
                    for o, u in zip(outs, upstreams) if u is not None and o.requires_grad)
        g = torch.autograd.grad(total, grad_inputs, allow_unused=True)
        g = [torch.zeros_like(t) if gi is None else gi for t, gi in zip(grad_inputs, g)]
        it = iter(g)
        grads = [next(it) if s.grad else None for s in spec["inputs"]]
    else:
        grads = [None for _ in spec["inputs"]]
    after = [(s.arg, t) for s, t in zip(spec["inputs"], tensors) if s.arg in spec["after"]]
    return outs, upstreams, grads, after, isinstance(out, torch.Tensor)


def run_function_case(spec):
    name = spec["name"]
    arrays = [s.draw(seed_of(name, "input", i)) for i, s in enumerate(spec["inputs"])]
    outs, ups, grads, after, single = evaluate_function(spec, arrays, torch.float64)

    # float32 check: what a float32 implementation would produce must be within tolerance
    outs32, _, grads32, after32, _ = evaluate_function(spec, arrays, torch.float32, ups)
    tol = spec["tol"]
    for j, (o, o32) in enumerate(zip(outs, outs32)):
        if o.dtype in FLOAT_DTYPES:
            check_close(f"{name} output {j} (float32 run)", o32.detach().numpy(),
                        o.detach().numpy(), tol)
        elif not torch.equal(o, o32):
            raise Mismatch(f"{name} output {j}: integer/bool output differs in float32")
    for j, (g, g32) in enumerate(zip(grads, grads32)):
        if g is not None:
            check_close(f"{name} grad {j} (float32 run)", g32.numpy(), g.numpy(), tol)
    for (a, t), (_, t32) in zip(after, after32):
        check_close(f"{name} {a} after (float32 run)", t32.numpy(), t.numpy(), tol)

    rec = {"name": name, "op": spec["op"], "inputs": []}
    for s, a in zip(spec["inputs"], arrays):
        d = {"arg": s.arg}
        d.update(tjson(a))
        d["requires_grad"] = s.grad
        rec["inputs"].append(d)
    rec["kwargs"] = spec["kwargs"]
    if single:
        rec["output"] = tjson(outs[0])
        rec["upstream"] = tjson(ups[0], with_dtype=False) if ups[0] is not None else None
    else:
        rec["outputs"] = [tjson(o) for o in outs]
        rec["upstreams"] = [tjson(u, with_dtype=False) if u is not None else None for u in ups]
    rec["grads"] = [tjson(g, with_dtype=False) if g is not None else None for g in grads]
    if after:
        rec["outputs_after"] = [dict(arg=a, **tjson(t)) for a, t in after]
    rec["tolerance"] = tol
    return rec


# --------------------------------------------------------------------------------------
# Group 1: creation (no inputs, no grads)
# --------------------------------------------------------------------------------------


def creation_cases():
    return [
        ("zeros_2x3", "zeros", {"size": [2, 3]}),
        ("zeros_scalar", "zeros", {"size": []}),
        ("zeros_empty_0x3", "zeros", {"size": [0, 3]}),
        ("ones_3", "ones", {"size": [3]}),
        ("ones_2x1x3", "ones", {"size": [2, 1, 3]}),
        ("full_2x2", "full", {"size": [2, 2], "fill_value": 3.5}),
        ("full_negative_3", "full", {"size": [3], "fill_value": -0.25}),
        ("arange_end", "arange", {"end": 5}),
        ("arange_start_end", "arange", {"start": 2, "end": 7}),
        ("arange_start_end_step", "arange", {"start": 1, "end": 10, "step": 3}),
        ("arange_negative_step", "arange", {"start": 5, "end": -3, "step": -2}),
        ("arange_float_step", "arange", {"start": 0.0, "end": 1.0, "step": 0.25}),
        ("arange_float_step_inexact", "arange", {"start": 0.0, "end": 1.0, "step": 0.3}),
        ("arange_float_start", "arange", {"start": -1.5, "end": 1.0, "step": 0.5}),
    ]


def run_creation_case(name, op, kwargs):
    fn = getattr(torch, op)
    out = fn(**kwargs)
    if out.dtype in FLOAT_DTYPES:
        out = fn(**kwargs, dtype=torch.float64)  # reference values in float64
        d = tjson(out)
    else:
        d = tjson(out)
    return {"name": name, "op": op, "inputs": [], "kwargs": kwargs, "output": d,
            "upstream": None, "grads": [], "tolerance": 1e-5}


# --------------------------------------------------------------------------------------
# Group 2: elementwise
# --------------------------------------------------------------------------------------


def elementwise_cases():
    A, B = "input", "other"
    POS = dict(lo=0.5, hi=2.0)
    cases = [
        case("add_same_shape", "add", [R([2, 3]), R([2, 3], B)]),
        case("add_broadcast_row", "add", [R([2, 3]), R([3], B)]),
        case("add_broadcast_col", "add", [R([2, 3]), R([2, 1], B)]),
        case("add_broadcast_both_ways", "add", [R([2, 1, 3]), R([4, 1], B)]),
        case("add_scalar_tensor", "add", [R([2, 3]), R([], B)]),
        case("add_scalar_tensor_first", "add", [R([]), R([2, 3], B)]),
        case("add_alpha", "add", [R([2, 3]), R([3], B)], alpha=2.5),
        case("add_python_scalar", "add", [R([2, 3])], other=1.5),
        case("sub_same_shape", "sub", [R([2, 3]), R([2, 3], B)]),
        case("sub_broadcast_both_ways", "sub", [R([4, 1]), R([2, 1, 3], B)]),
        case("sub_alpha", "sub", [R([3, 2]), R([3, 1], B)], alpha=0.5),
        case("mul_same_shape", "mul", [R([2, 3]), R([2, 3], B)]),
        case("mul_broadcast_both_ways", "mul", [R([2, 1, 3]), R([4, 1], B)]),
        case("mul_scalar_tensor", "mul", [R([3, 2]), R([], B)]),
        case("mul_python_scalar", "mul", [R([2, 3])], other=-2.0),
        case("div_same_shape", "div", [R([2, 3]), U([2, 3], arg=B, **POS)]),
        case("div_broadcast_both_ways", "div", [R([2, 1, 3]), U([4, 1], arg=B, **POS)]),
        case("div_scalar_tensor_numerator", "div", [R([]), U([2, 3], arg=B, **POS)]),
        case("neg", "neg", [R([2, 3])]),
        case("neg_scalar", "neg", [R([])]),
        case("pow_scalar_2", "pow", [R([2, 3])], exponent=2.0),
        case("pow_scalar_3", "pow", [R([2, 3])], exponent=3.0),
        case("pow_scalar_half", "pow", [U([2, 3], **POS)], exponent=0.5),
        case("pow_scalar_neg1", "pow", [U([2, 3], **POS)], exponent=-1.0),
        case("pow_tensor_tensor", "pow", [U([2, 3], **POS), R([2, 3], "exponent")]),
        case("pow_tensor_tensor_broadcast", "pow",
             [U([2, 1, 3], **POS), U([4, 1], -2.0, 2.0, "exponent")]),
        case("exp", "exp", [R([2, 3])]),
        case("exp_scalar", "exp", [R([])]),
        case("log", "log", [U([2, 3], 0.1, 5.0)]),
        case("sqrt", "sqrt", [U([2, 3], 0.1, 5.0)]),
        case("rsqrt", "rsqrt", [U([2, 3], 0.1, 5.0)]),
        case("abs", "abs", [R([2, 3])]),
        case("clamp_min_max", "clamp", [R([3, 4])], min=-0.5, max=0.5),
        case("clamp_min_only", "clamp", [R([3, 4])], min=0.0),
        case("clamp_max_only", "clamp", [R([3, 4])], max=0.25),
        case("maximum_same_shape", "maximum", [R([2, 3]), R([2, 3], B)]),
        case("maximum_broadcast_both_ways", "maximum", [R([2, 1, 3]), R([4, 1], B)]),
        case("minimum_same_shape", "minimum", [R([2, 3]), R([2, 3], B)]),
        case("minimum_broadcast_row", "minimum", [R([2, 3]), R([3], B)]),
        case("where_same_shape", "where", [Bool([2, 3]), R([2, 3], "input"), R([2, 3], "other")]),
        case("where_broadcast", "where",
             [Bool([2, 1, 3]), R([4, 1], "input"), R([3], "other")]),
    ]
    # comparisons: values from a small set so that equalities actually occur
    cmp_choices = [-1.0, 0.0, 0.5, 2.0]
    for op in ["eq", "ne", "lt", "le", "gt", "ge"]:
        cases.append(case(f"{op}_same_shape", op,
                          [Ch([3, 4], cmp_choices), Ch([3, 4], cmp_choices, B)]))
        cases.append(case(f"{op}_broadcast_both_ways", op,
                          [Ch([2, 1, 3], cmp_choices), Ch([4, 1], cmp_choices, B)]))
    cases.append(case("gt_python_scalar", "gt", [Ch([2, 3], cmp_choices)], other=0.5))
    return cases


# --------------------------------------------------------------------------------------
# Group 3: reductions
# --------------------------------------------------------------------------------------


def reduction_cases():
    ties = V([3, 4], [1, 3, 3, 0,
                      5, 2, 5, 5,
                      -1, -1, -2, -1], grad=True)
    ties_nograd = V([3, 4], [1, 3, 3, 0,
                             5, 2, 5, 5,
                             -1, -1, -2, -1], grad=False)
    cases = [
        case("sum_all", "sum", [R([2, 3, 4])]),
        case("sum_dim1", "sum", [R([2, 3, 4])], dim=1),
        case("sum_dim_neg1_keepdim", "sum", [R([2, 3, 4])], dim=-1, keepdim=True),
        case("sum_dims_0_2", "sum", [R([2, 3, 4])], dim=[0, 2]),
        case("sum_dims_0_2_keepdim", "sum", [R([2, 3, 4])], dim=[0, 2], keepdim=True),
        case("sum_scalar_input", "sum", [R([])]),
        case("mean_all", "mean", [R([2, 3, 4])]),
        case("mean_dim0", "mean", [R([3, 4])], dim=0),
        case("mean_dim_neg1_keepdim", "mean", [R([2, 3, 4])], dim=-1, keepdim=True),
        case("mean_dims_neg1_neg3", "mean", [R([2, 3, 4])], dim=[-1, -3]),
        case("max_all", "max", [R([3, 4])]),
        case("max_dim1", "max", [R([3, 4])], dim=1),
        case("max_dim0_keepdim", "max", [R([3, 4])], dim=0, keepdim=True),
        case("max_dim_neg1_3d", "max", [R([2, 3, 4])], dim=-1),
        case("max_dim1_ties", "max", [ties], dim=1),
        case("min_all", "min", [R([3, 4])]),
        case("min_dim1", "min", [R([3, 4])], dim=1),
        case("min_dim0_keepdim", "min", [R([3, 4])], dim=0, keepdim=True),
        case("min_dim1_ties", "min", [ties], dim=1),
        case("argmax_all", "argmax", [R([3, 4], grad=False)]),
        case("argmax_dim1", "argmax", [R([3, 4], grad=False)], dim=1),
        case("argmax_dim0_keepdim", "argmax", [R([3, 4], grad=False)], dim=0, keepdim=True),
        case("argmax_dim_neg1_3d", "argmax", [R([2, 3, 4], grad=False)], dim=-1),
        case("argmax_dim1_ties", "argmax", [ties_nograd], dim=1),
        case("argmax_all_ties", "argmax", [ties_nograd]),
    ]
    for fn in ["var", "std"]:
        cases += [
            case(f"{fn}_all_correction1", fn, [R([3, 4])], correction=1),
            case(f"{fn}_all_correction0", fn, [R([3, 4])], correction=0),
            case(f"{fn}_all_default", fn, [R([3, 4])]),
            case(f"{fn}_dim1_correction1", fn, [R([3, 4])], dim=1, correction=1),
            case(f"{fn}_dim1_correction0", fn, [R([3, 4])], dim=1, correction=0),
            case(f"{fn}_dim0_keepdim_correction1", fn, [R([3, 4])], dim=0, keepdim=True,
                 correction=1),
            case(f"{fn}_dim_neg1_keepdim_correction0", fn, [R([2, 3, 4])], dim=-1,
                 keepdim=True, correction=0),
            case(f"{fn}_dims_0_2_correction1", fn, [R([2, 3, 4])], dim=[0, 2], correction=1),
            case(f"{fn}_dim1_unbiased_false", fn, [R([3, 4])], dim=1, unbiased=False),
            case(f"{fn}_dim1_unbiased_true", fn, [R([3, 4])], dim=1, unbiased=True),
        ]
    return cases


# --------------------------------------------------------------------------------------
# Group 4: shape
# --------------------------------------------------------------------------------------


def shape_cases():
    T = "tensors"
    return [
        case("reshape_2x3_to_3x2", "reshape", [R([2, 3])], shape=[3, 2]),
        case("reshape_infer_dim", "reshape", [R([2, 3, 4])], shape=[4, -1]),
        case("reshape_to_flat", "reshape", [R([2, 3, 4])], shape=[24]),
        case("reshape_scalar_to_1x1", "reshape", [R([])], shape=[1, 1]),
        case("view_2x3_to_3x2", "view", [R([2, 3])], size=[3, 2]),
        case("view_infer_dim", "view", [R([2, 3, 4])], size=[-1, 3, 2]),
        case("transpose_2d", "transpose", [R([2, 3])], dim0=0, dim1=1),
        case("transpose_3d_neg", "transpose", [R([2, 3, 4])], dim0=-1, dim1=-3),
        case("permute_3d", "permute", [R([2, 3, 4])], dims=[2, 0, 1]),
        case("permute_neg_dims", "permute", [R([2, 3, 4])], dims=[-1, -3, -2]),
        case("squeeze_dim", "squeeze", [R([2, 1, 3])], dim=1),
        case("squeeze_dim_neg", "squeeze", [R([2, 3, 1])], dim=-1),
        case("squeeze_all", "squeeze", [R([1, 2, 1, 3, 1])]),
        case("squeeze_non_one_dim_noop", "squeeze", [R([2, 3])], dim=0),
        case("unsqueeze_0", "unsqueeze", [R([2, 3])], dim=0),
        case("unsqueeze_neg1", "unsqueeze", [R([2, 3])], dim=-1),
        case("unsqueeze_middle", "unsqueeze", [R([2, 3])], dim=1),
        case("expand_col", "expand", [R([3, 1])], size=[3, 4]),
        case("expand_new_leading_dims", "expand", [R([3])], size=[2, 4, 3]),
        case("expand_minus_one", "expand", [R([2, 1, 3])], size=[-1, 4, -1]),
        case("cat_dim0", "cat", [R([2, 3], T), R([1, 3], T)], dim=0),
        case("cat_dim_neg1_three", "cat", [R([2, 2], T), R([2, 3], T), R([2, 1], T)], dim=-1),
        case("cat_3d_dim1", "cat", [R([2, 1, 3], T), R([2, 2, 3], T)], dim=1),
        case("stack_dim0", "stack", [R([2, 3], T), R([2, 3], T)], dim=0),
        case("stack_dim1", "stack", [R([2, 3], T), R([2, 3], T), R([2, 3], T)], dim=1),
        case("stack_dim_neg1", "stack", [R([2, 3], T), R([2, 3], T)], dim=-1),
        case("split_size_uneven", "split", [R([2, 5], "tensor")],
             split_size_or_sections=2, dim=1),
        case("split_sections", "split", [R([4, 3], "tensor")],
             split_size_or_sections=[1, 3], dim=0),
        case("split_sections_neg_dim", "split", [R([2, 3, 4], "tensor")],
             split_size_or_sections=[1, 2, 1], dim=-1),
        case("chunk_uneven", "chunk", [R([5, 2])], chunks=3, dim=0),
        case("chunk_even_dim1", "chunk", [R([2, 4])], chunks=2, dim=1),
        case("chunk_neg_dim", "chunk", [R([2, 3, 6])], chunks=4, dim=-1),
        case("getitem_rows_cols", "getitem", [R([4, 5])], index=[[1, 3, 1], [0, 5, 2]]),
        case("getitem_int_index", "getitem", [R([4, 5])], index=[2, [1, 4, 1]]),
        case("getitem_negative_int", "getitem", [R([4, 5])], index=[[None, None, 1], -1]),
        case("getitem_negative_start_stop", "getitem", [R([4, 5])],
             index=[[-3, -1, 1], [-4, None, 2]]),
        case("getitem_step3_3d", "getitem", [R([3, 4, 7])],
             index=[[0, 3, 2], 1, [None, None, 3]]),
        case("getitem_scalar_element", "getitem", [R([3, 4])], index=[1, -2]),
        case("gather_dim1", "gather", [R([3, 4]), Int([3, 2], [0, 3, 1, 1, 2, 0])], dim=1),
        case("gather_dim0_duplicates", "gather", [R([3, 4]), Int([2, 4], [0, 1, 2, 0, 0, 1, 2, 2])],
             dim=0),
        case("gather_3d_neg_dim", "gather", [R([2, 3, 4]), Int([2, 3, 2], lo=0, hi=4)], dim=-1),
        case("index_select_dim0_duplicates", "index_select",
             [R([4, 3]), Int([5], [3, 0, 3, 1, 3])], dim=0),
        case("index_select_dim1", "index_select", [R([3, 5]), Int([3], [4, 0, 2])], dim=1),
        case("index_select_neg_dim_3d", "index_select", [R([2, 3, 4]), Int([2], [2, 0])], dim=-2),
    ]


# --------------------------------------------------------------------------------------
# Group 5: matmul
# --------------------------------------------------------------------------------------


def matmul_cases():
    W, Bi = "weight", "bias"
    return [
        case("matmul_2d", "matmul", [R([3, 4]), R([4, 5], "other")]),
        case("matmul_batched_3d", "matmul", [R([2, 3, 4]), R([2, 4, 5], "other")]),
        case("matmul_broadcast_batched_rhs_2d", "matmul", [R([2, 3, 4]), R([4, 5], "other")]),
        case("matmul_broadcast_batched_lhs_2d", "matmul", [R([3, 4]), R([2, 4, 5], "other")]),
        case("matmul_broadcast_batch_dims", "matmul", [R([2, 1, 3, 4]), R([3, 4, 2], "other")]),
        case("matmul_vector_matrix", "matmul", [R([4]), R([4, 5], "other")]),
        case("matmul_matrix_vector", "matmul", [R([3, 4]), R([4], "other")]),
        case("matmul_vector_vector", "matmul", [R([4]), R([4], "other")]),
        case("linear_bias", "linear", [R([3, 4]), R([5, 4], W), R([5], Bi)]),
        case("linear_no_bias", "linear", [R([3, 4]), R([5, 4], W)]),
        case("linear_3d_input", "linear", [R([2, 3, 4]), R([5, 4], W), R([5], Bi)]),
        case("linear_1d_input", "linear", [R([4]), R([5, 4], W), R([5], Bi)]),
    ]


# --------------------------------------------------------------------------------------
# Group 6: activations
# --------------------------------------------------------------------------------------


def activation_cases():
    extreme = V([2, 4], [1e4, -1e4, 0.0, 1.0,
                         -1e4, -1e4, 5.0, 1e4])
    softplus_x = V([2, 4], [-30.0, -3.0, -0.5, 0.0,
                            0.5, 3.0, 19.0, 25.0])
    cases = [
        case("relu", "relu", [R([3, 4])]),
        case("leaky_relu_default", "leaky_relu", [R([3, 4])]),
        case("leaky_relu_slope", "leaky_relu", [R([3, 4])], negative_slope=0.2),
        case("gelu_none", "gelu", [R([3, 4], scale=2.0)], approximate="none"),
        case("gelu_tanh", "gelu", [R([3, 4], scale=2.0)], approximate="tanh"),
        case("gelu_default", "gelu", [R([3, 4], scale=2.0)]),
        case("silu", "silu", [R([3, 4], scale=2.0)]),
        case("tanh", "tanh", [R([3, 4], scale=2.0)]),
        case("sigmoid", "sigmoid", [R([3, 4], scale=2.0)]),
        case("softplus_default", "softplus", [softplus_x]),
        case("softplus_beta_threshold", "softplus", [softplus_x], beta=2.0, threshold=5.0),
        case("softplus_random", "softplus", [R([3, 4], scale=2.0)]),
    ]
    for fn in ["softmax", "log_softmax"]:
        cases += [
            case(f"{fn}_dim0", fn, [R([3, 4])], dim=0),
            case(f"{fn}_dim1", fn, [R([3, 4])], dim=1),
            case(f"{fn}_dim_neg1", fn, [R([3, 4])], dim=-1),
            case(f"{fn}_3d_dim1", fn, [R([2, 3, 4], scale=3.0)], dim=1),
            case(f"{fn}_3d_dim_neg1", fn, [R([2, 3, 4], scale=3.0)], dim=-1),
            case(f"{fn}_extreme_logits", fn, [extreme], dim=-1),
            case(f"{fn}_extreme_logits_dim0", fn, [extreme], dim=0),
        ]
    return cases


# --------------------------------------------------------------------------------------
# Group 7: normalization
# --------------------------------------------------------------------------------------


def normalization_cases():
    W, Bi = "weight", "bias"
    RM, RV = "running_mean", "running_var"
    after = (RM, RV)

    def rv(shape):  # running_var: positive, not trained
        return U(shape, 0.5, 1.5, RV, grad=False)

    def rm(shape):
        return R(shape, RM, grad=False, scale=0.5)

    return [
        case("layer_norm_last_dim", "layer_norm",
             [R([3, 4], scale=2.0, shift=1.0), U([4], 0.5, 1.5, W), R([4], Bi, scale=0.5)],
             normalized_shape=[4]),
        case("layer_norm_last_two_dims", "layer_norm",
             [R([2, 3, 4], scale=2.0), U([3, 4], 0.5, 1.5, W), R([3, 4], Bi, scale=0.5)],
             normalized_shape=[3, 4]),
        case("layer_norm_no_affine", "layer_norm", [R([2, 3, 4], scale=2.0)],
             normalized_shape=[4]),
        case("layer_norm_weight_only", "layer_norm", [R([3, 5]), U([5], 0.5, 1.5, W)],
             normalized_shape=[5]),
        case("layer_norm_eps", "layer_norm",
             [R([3, 4], scale=0.1), U([4], 0.5, 1.5, W), R([4], Bi, scale=0.5)],
             normalized_shape=[4], eps=1e-3),
        case("embedding", "embedding", [Int([2, 3], [1, 4, 1, 0, 5, 4], "input"), R([6, 4], W)]),
        case("embedding_1d_indices", "embedding", [Int([5], [2, 2, 0, 3, 2], "input"),
                                                   R([4, 3], W)]),
        case("embedding_padding_idx", "embedding",
             [Int([2, 4], [0, 3, 2, 0, 1, 0, 3, 3], "input"), R([5, 3], W)], padding_idx=0),
        case("batch_norm_train_2d", "batch_norm",
             [R([4, 3], scale=2.0, shift=0.5), rm([3]), rv([3]), U([3], 0.5, 1.5, W),
              R([3], Bi, scale=0.5)],
             after=after, training=True, momentum=0.1, eps=1e-5),
        case("batch_norm_train_3d", "batch_norm",
             [R([2, 3, 4], scale=2.0), rm([3]), rv([3]), U([3], 0.5, 1.5, W),
              R([3], Bi, scale=0.5)],
             after=after, training=True, momentum=0.1, eps=1e-5),
        case("batch_norm_train_4d", "batch_norm",
             [R([2, 3, 2, 3], scale=2.0), rm([3]), rv([3]), U([3], 0.5, 1.5, W),
              R([3], Bi, scale=0.5)],
             after=after, training=True, momentum=0.1, eps=1e-5),
        case("batch_norm_train_no_affine_momentum", "batch_norm",
             [R([5, 2]), rm([2]), rv([2])], after=after, training=True, momentum=0.3),
        case("batch_norm_train_no_running_stats", "batch_norm",
             [R([4, 3]), U([3], 0.5, 1.5, W), R([3], Bi, scale=0.5)],
             running_mean=None, running_var=None, training=True),
        case("batch_norm_eval_2d", "batch_norm",
             [R([4, 3]), rm([3]), rv([3]), U([3], 0.5, 1.5, W), R([3], Bi, scale=0.5)],
             after=after, training=False, eps=1e-5),
        case("batch_norm_eval_4d", "batch_norm",
             [R([2, 3, 2, 2]), rm([3]), rv([3]), U([3], 0.5, 1.5, W), R([3], Bi, scale=0.5)],
             after=after, training=False, eps=1e-5),
    ]


# --------------------------------------------------------------------------------------
# Group 8: conv and pooling
# --------------------------------------------------------------------------------------


def conv_pool_cases():
    W, Bi = "weight", "bias"
    t = 1e-4
    return [
        case("conv2d_basic", "conv2d",
             [R([2, 3, 5, 5]), R([4, 3, 3, 3], W, scale=0.3), R([4], Bi)], tol=t),
        case("conv2d_stride2_padding1", "conv2d",
             [R([2, 3, 5, 5]), R([4, 3, 3, 3], W, scale=0.3), R([4], Bi)], tol=t,
             stride=2, padding=1),
        case("conv2d_dilation2", "conv2d",
             [R([1, 2, 6, 6]), R([3, 2, 3, 3], W, scale=0.3), R([3], Bi)], tol=t,
             dilation=2, padding=1),
        case("conv2d_groups2", "conv2d",
             [R([2, 4, 4, 4]), R([6, 2, 3, 3], W, scale=0.3), R([6], Bi)], tol=t,
             padding=1, groups=2),
        case("conv2d_depthwise", "conv2d",
             [R([2, 3, 4, 4]), R([6, 1, 3, 3], W, scale=0.3), R([6], Bi)], tol=t, groups=3),
        case("conv2d_no_bias", "conv2d",
             [R([2, 3, 5, 5]), R([4, 3, 3, 3], W, scale=0.3)], tol=t, padding=1),
        case("conv2d_1x1", "conv2d",
             [R([2, 4, 3, 3]), R([5, 4, 1, 1], W, scale=0.3), R([5], Bi)], tol=t),
        case("conv2d_asymmetric", "conv2d",
             [R([1, 2, 5, 6]), R([3, 2, 2, 3], W, scale=0.3), R([3], Bi)], tol=t,
             stride=[2, 1], padding=[1, 0], dilation=[1, 2]),
        case("conv2d_all_options", "conv2d",
             [R([1, 4, 7, 7]), R([4, 2, 3, 3], W, scale=0.3)], tol=t,
             stride=2, padding=2, dilation=2, groups=2),
        case("max_pool2d_k2", "max_pool2d", [R([2, 2, 4, 4])], tol=t, kernel_size=2),
        case("max_pool2d_k3_s2_p1", "max_pool2d", [R([2, 2, 5, 5])], tol=t,
             kernel_size=3, stride=2, padding=1),
        case("max_pool2d_overlapping", "max_pool2d", [R([1, 2, 5, 5])], tol=t,
             kernel_size=3, stride=1),
        case("max_pool2d_rect", "max_pool2d", [R([1, 2, 4, 6])], tol=t,
             kernel_size=[2, 3], stride=[1, 2]),
        case("max_pool2d_ceil_mode", "max_pool2d", [R([1, 2, 5, 5])], tol=t,
             kernel_size=2, ceil_mode=True),
        case("max_pool2d_dilation", "max_pool2d", [R([1, 2, 6, 6])], tol=t,
             kernel_size=2, dilation=2),
        case("avg_pool2d_k2", "avg_pool2d", [R([2, 2, 4, 4])], tol=t, kernel_size=2),
        case("avg_pool2d_k3_s2_p1", "avg_pool2d", [R([2, 2, 5, 5])], tol=t,
             kernel_size=3, stride=2, padding=1),
        case("avg_pool2d_k3_s2_p1_exclude_pad", "avg_pool2d", [R([2, 2, 5, 5])], tol=t,
             kernel_size=3, stride=2, padding=1, count_include_pad=False),
        case("avg_pool2d_rect", "avg_pool2d", [R([1, 2, 4, 6])], tol=t,
             kernel_size=[2, 3], stride=[2, 1]),
        case("avg_pool2d_ceil_mode", "avg_pool2d", [R([1, 2, 5, 5])], tol=t,
             kernel_size=2, ceil_mode=True),
        case("avg_pool2d_divisor_override", "avg_pool2d", [R([1, 2, 4, 4])], tol=t,
             kernel_size=2, divisor_override=3),
        case("flatten_default", "flatten", [R([2, 3, 2, 2])]),
        case("flatten_start1", "flatten", [R([2, 3, 2, 2])], start_dim=1),
        case("flatten_start1_end2", "flatten", [R([2, 3, 2, 2])], start_dim=1, end_dim=2),
        case("flatten_neg_dims", "flatten", [R([2, 3, 2, 2])], start_dim=-3, end_dim=-2),
    ]


# --------------------------------------------------------------------------------------
# Group 9: attention
# --------------------------------------------------------------------------------------


def attention_cases():
    Q, K, Vv, M = "query", "key", "value", "attn_mask"
    t = 1e-4

    def qkv(b, h, lq, lk, d, dv=None):
        return [R([b, h, lq, d], Q), R([b, h, lk, d], K), R([b, h, lk, dv or d], Vv)]

    causal_keep = [i >= j for i in range(4) for j in range(4)]  # True = may attend
    return [
        case("sdpa_basic", "scaled_dot_product_attention", qkv(2, 2, 3, 3, 4), tol=t,
             dropout_p=0.0, is_causal=False),
        case("sdpa_causal", "scaled_dot_product_attention", qkv(2, 2, 4, 4, 4), tol=t,
             dropout_p=0.0, is_causal=True),
        case("sdpa_float_mask_broadcast", "scaled_dot_product_attention",
             qkv(2, 2, 3, 3, 4) + [R([3, 3], M, grad=False)], tol=t, dropout_p=0.0),
        case("sdpa_float_mask_full", "scaled_dot_product_attention",
             qkv(1, 2, 3, 4, 4) + [R([1, 2, 3, 4], M, grad=False, scale=2.0)], tol=t,
             dropout_p=0.0),
        case("sdpa_float_mask_large_negative", "scaled_dot_product_attention",
             qkv(1, 2, 4, 4, 4) + [V([4, 4], [0.0 if k else -1e9 for k in causal_keep], M,
                                     grad=False)], tol=t, dropout_p=0.0),
        case("sdpa_bool_mask", "scaled_dot_product_attention",
             qkv(1, 2, 4, 4, 4) + [Bool([4, 4], causal_keep, M)], tol=t, dropout_p=0.0),
        case("sdpa_cross_lengths", "scaled_dot_product_attention", qkv(2, 1, 3, 5, 4, 2),
             tol=t, dropout_p=0.0),
        case("sdpa_scale", "scaled_dot_product_attention", qkv(1, 2, 3, 3, 4), tol=t,
             dropout_p=0.0, scale=0.3),
        case("sdpa_3d_no_heads", "scaled_dot_product_attention",
             [R([2, 3, 4], Q), R([2, 3, 4], K), R([2, 3, 4], Vv)], tol=t, dropout_p=0.0,
             is_causal=True),
    ]


# --------------------------------------------------------------------------------------
# Group 10: losses
# --------------------------------------------------------------------------------------


def loss_cases():
    TG = "target"
    cases = []
    for red in ["mean", "sum", "none"]:
        cases += [
            case(f"mse_loss_{red}", "mse_loss", [R([3, 4]), R([3, 4], TG, grad=False)],
                 reduction=red),
            case(f"l1_loss_{red}", "l1_loss", [R([3, 4]), R([3, 4], TG, grad=False)],
                 reduction=red),
            case(f"smooth_l1_loss_{red}", "smooth_l1_loss",
                 [R([3, 4], scale=1.5), R([3, 4], TG, grad=False)], reduction=red),
            case(f"huber_loss_{red}", "huber_loss",
                 [R([3, 4], scale=1.5), R([3, 4], TG, grad=False)], reduction=red),
        ]
    cases += [
        case("mse_loss_default", "mse_loss", [R([2, 3, 2]), R([2, 3, 2], TG, grad=False)]),
        case("smooth_l1_loss_beta_half", "smooth_l1_loss",
             [R([3, 4], scale=1.5), R([3, 4], TG, grad=False)], beta=0.5),
        case("smooth_l1_loss_beta_2", "smooth_l1_loss",
             [R([3, 4], scale=1.5), R([3, 4], TG, grad=False)], beta=2.0, reduction="sum"),
        case("smooth_l1_loss_beta_0", "smooth_l1_loss",
             [R([3, 4], scale=1.5), R([3, 4], TG, grad=False)], beta=0.0),
        case("huber_loss_delta_half", "huber_loss",
             [R([3, 4], scale=1.5), R([3, 4], TG, grad=False)], delta=0.5),
        case("huber_loss_delta_2", "huber_loss",
             [R([3, 4], scale=1.5), R([3, 4], TG, grad=False)], delta=2.0, reduction="sum"),
    ]

    # cross_entropy: logits [N, C], integer targets
    logits = lambda n=5, c=4: R([n, c], scale=2.0)
    tgt = Int([5], [1, 0, 3, 3, 2], TG)
    tgt_ign = Int([5], [1, 2, 3, 1, 0], TG)  # ignore_index=1 used below
    tgt_default_ign = Int([5], [1, -100, 3, 0, -100], TG)
    w = U([4], 0.2, 2.0, "weight", grad=False)
    ce = "cross_entropy"
    for red in ["mean", "sum", "none"]:
        cases.append(case(f"{ce}_{red}", ce, [logits(), tgt], reduction=red))
        cases.append(case(f"{ce}_weight_{red}", ce, [logits(), tgt, w], reduction=red))
        cases.append(case(f"{ce}_ignore_index_{red}", ce, [logits(), tgt_ign], ignore_index=1,
                          reduction=red))
        cases.append(case(f"{ce}_weight_ignore_index_{red}", ce, [logits(), tgt_ign, w],
                          ignore_index=1, reduction=red))
        cases.append(case(f"{ce}_label_smoothing_{red}", ce, [logits(), tgt],
                          label_smoothing=0.1, reduction=red))
        cases.append(case(f"{ce}_all_options_{red}", ce, [logits(), tgt_ign, w],
                          ignore_index=1, label_smoothing=0.2, reduction=red))
    cases += [
        case(f"{ce}_default", ce, [logits(), tgt]),
        case(f"{ce}_default_ignore_index_-100", ce, [logits(), tgt_default_ign]),
        case(f"{ce}_label_smoothing_weight", ce, [logits(), tgt, w], label_smoothing=0.1),
        case(f"{ce}_label_smoothing_ignore_index", ce, [logits(), tgt_ign],
             label_smoothing=0.1, ignore_index=1),
        case(f"{ce}_extreme_logits", ce,
             [V([3, 3], [1e4, -1e4, 0.0, -1e4, 1e4, 0.0, -1e4, -1e4, 1e4]),
              Int([3], [0, 2, 1], TG)]),
        case(f"{ce}_extreme_logits_sum", ce,
             [V([3, 3], [1e4, -1e4, 0.0, -1e4, 1e4, 0.0, -1e4, -1e4, 1e4]),
              Int([3], [0, 2, 1], TG)], reduction="sum", label_smoothing=0.1),
        case(f"{ce}_kdim", ce, [R([2, 4, 3], scale=2.0), Int([2, 3], [0, 3, 1, 2, 2, 0], TG)]),
        case(f"{ce}_kdim_weight_none", ce,
             [R([2, 4, 3], scale=2.0), Int([2, 3], [0, 3, 1, 2, 2, 0], TG), w],
             reduction="none"),
        case(f"{ce}_single_sample", ce, [R([1, 5], scale=2.0), Int([1], [4], TG)]),
    ]

    nll = "nll_loss"
    for red in ["mean", "sum", "none"]:
        cases.append(case(f"{nll}_{red}", nll, [LogP([5, 4]), tgt], reduction=red))
        cases.append(case(f"{nll}_weight_{red}", nll, [LogP([5, 4]), tgt, w], reduction=red))
        cases.append(case(f"{nll}_weight_ignore_index_{red}", nll, [LogP([5, 4]), tgt_ign, w],
                          ignore_index=1, reduction=red))
    cases += [
        case(f"{nll}_default", nll, [LogP([5, 4]), tgt]),
        case(f"{nll}_ignore_index", nll, [LogP([5, 4]), tgt_ign], ignore_index=1),
        case(f"{nll}_default_ignore_index_-100", nll, [LogP([5, 4]), tgt_default_ign]),
        case(f"{nll}_kdim", nll, [LogP([2, 4, 3]), Int([2, 3], [0, 3, 1, 2, 2, 0], TG)]),
    ]

    bce = "binary_cross_entropy_with_logits"
    soft = lambda shape: U(shape, 0.0, 1.0, TG, grad=False)
    hard = lambda shape: In(shape, "choice", TG, False, choices=[0.0, 1.0])
    for red in ["mean", "sum", "none"]:
        cases += [
            case(f"{bce}_{red}", bce, [R([3, 4], scale=2.0), hard([3, 4])], reduction=red),
            case(f"{bce}_soft_targets_{red}", bce, [R([3, 4], scale=2.0), soft([3, 4])],
                 reduction=red),
            case(f"{bce}_pos_weight_{red}", bce,
                 [R([3, 4], scale=2.0), hard([3, 4]), U([4], 0.5, 3.0, "pos_weight", grad=False)],
                 reduction=red),
            case(f"{bce}_weight_{red}", bce,
                 [R([3, 4], scale=2.0), hard([3, 4]), U([3, 4], 0.2, 2.0, "weight", grad=False)],
                 reduction=red),
        ]
    cases += [
        case(f"{bce}_default", bce, [R([2, 3, 2], scale=2.0), soft([2, 3, 2])]),
        case(f"{bce}_weight_and_pos_weight", bce,
             [R([3, 4], scale=2.0), soft([3, 4]), U([4], 0.2, 2.0, "weight", grad=False),
              U([4], 0.5, 3.0, "pos_weight", grad=False)]),
        case(f"{bce}_extreme_logits", bce,
             [V([2, 3], [1e4, -1e4, 0.0, -1e4, 1e4, 30.0]),
              V([2, 3], [0.0, 1.0, 1.0, 0.0, 1.0, 0.25], TG, grad=False)]),
        case(f"{bce}_extreme_logits_pos_weight_sum", bce,
             [V([2, 3], [1e4, -1e4, 0.0, -1e4, 1e4, 30.0]),
              V([2, 3], [0.0, 1.0, 1.0, 0.0, 1.0, 0.25], TG, grad=False),
              V([3], [2.0, 0.5, 1.5], "pos_weight", grad=False)], reduction="sum"),
    ]

    kl = "kl_div"
    for red in ["batchmean", "sum", "mean", "none"]:
        cases.append(case(f"{kl}_{red}", kl, [LogP([3, 4]), Prob([3, 4])], reduction=red))
        cases.append(case(f"{kl}_log_target_{red}", kl,
                          [LogP([3, 4]), In([3, 4], "logprobs", TG, False)],
                          reduction=red, log_target=True))
    cases.append(case(f"{kl}_batchmean_3d", kl, [LogP([2, 3, 2]), Prob([2, 3, 2])],
                      reduction="batchmean"))
    return cases


# --------------------------------------------------------------------------------------
# Group 11: layers (nn.Module)
# --------------------------------------------------------------------------------------


def mcase(name, module, config, inputs, mode="train", tol=1e-5, forward="call",
          forward_kwargs=None):
    return {"name": name, "module": module, "config": config, "inputs": inputs, "mode": mode,
            "tol": tol, "forward": forward, "forward_kwargs": forward_kwargs or {}}


def build_module(module, config):
    if module == "Sequential":
        return nn.Sequential(*[build_module(m["module"], m["config"]) for m in config["modules"]])
    return getattr(nn, module)(**config)


NORM_TYPES = (nn.LayerNorm, nn.BatchNorm1d, nn.BatchNorm2d)


def initial_state(mod, case_name):
    """Seeded float32 values for every parameter and buffer, named as in state_dict()."""
    state = {}
    for key, v in mod.state_dict().items():
        if v.dtype not in FLOAT_DTYPES:
            state[key] = v.detach().cpu().numpy().copy()  # e.g. num_batches_tracked
            continue
        owner_name, _, leaf = key.rpartition(".")
        owner = mod.get_submodule(owner_name) if owner_name else mod
        shape = list(v.shape)
        rng = np.random.default_rng(seed_of(case_name, "state", key))
        n = v.numel()
        if leaf == "running_mean":
            a = rng.standard_normal(n) * 0.5
        elif leaf == "running_var":
            a = rng.uniform(0.5, 1.5, n)
        elif isinstance(owner, NORM_TYPES):
            a = rng.uniform(0.5, 1.5, n) if leaf == "weight" else rng.uniform(-0.5, 0.5, n)
        elif isinstance(owner, nn.Embedding):
            a = rng.standard_normal(n)
        elif len(shape) >= 2:
            fan_in = int(np.prod(shape[1:]))
            bound = math.sqrt(3.0 / fan_in)
            a = rng.uniform(-bound, bound, n)
        else:
            a = rng.uniform(-0.5, 0.5, n)
        state[key] = a.astype(np.float32).reshape(shape)
    return state


def evaluate_module(spec, state, arrays, kw_arrays, float_dtype, upstreams=None):
    mod = build_module(spec["module"], spec["config"])
    mod = mod.to(float_dtype)
    mod.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in state.items()})
    mod.train(spec["mode"] == "train")
    tensors = [to_torch(a, float_dtype, s.grad) for s, a in zip(spec["inputs"], arrays)]
    fkw = dict(spec["forward_kwargs"])
    for k, a in kw_arrays.items():
        fkw[k] = to_torch(a, float_dtype)
    if spec["forward"] == "self_attention":
        x = tensors[0]
        out = mod(x, x, x, **fkw)
    else:
        out = mod(*tensors, **fkw)
    outs = [out] if isinstance(out, torch.Tensor) else list(out)
    if upstreams is None:
        # only the first output (e.g. attn_output of MultiheadAttention) gets an upstream
        upstreams = [upstream_for(outs[0], seed_of(spec["name"], "upstream", 0))]
        upstreams += [None] * (len(outs) - 1)
    params = list(mod.named_parameters())
    grad_inputs = [t for s, t in zip(spec["inputs"], tensors) if s.grad]
    total = sum((o * torch.from_numpy(u).to(float_dtype)).sum()
                for o, u in zip(outs, upstreams) if u is not None)
    wrt = grad_inputs + [p for _, p in params]
    g = torch.autograd.grad(total, wrt, allow_unused=True)
    g = [torch.zeros_like(t) if gi is None else gi for t, gi in zip(wrt, g)]
    it = iter(g[:len(grad_inputs)])
    input_grads = [next(it) if s.grad else None for s in spec["inputs"]]
    param_grads = {n: gi for (n, _), gi in zip(params, g[len(grad_inputs):])}
    buffer_names = {n for n, _ in mod.named_buffers()}
    after = {k: v for k, v in mod.state_dict().items() if k in buffer_names}
    return outs, upstreams, input_grads, param_grads, after, isinstance(out, torch.Tensor)


def run_module_case(spec):
    name = spec["name"]
    probe = build_module(spec["module"], spec["config"])
    state = initial_state(probe, name)
    arrays = [s.draw(seed_of(name, "input", i)) for i, s in enumerate(spec["inputs"])]
    kw_specs = {k: v for k, v in spec["forward_kwargs"].items() if isinstance(v, In)}
    kw_arrays = {k: v.draw(seed_of(name, "kwarg", k)) for k, v in kw_specs.items()}
    spec = dict(spec, forward_kwargs={k: v for k, v in spec["forward_kwargs"].items()
                                      if k not in kw_specs})
    outs, ups, igrads, pgrads, after, single = evaluate_module(
        spec, state, arrays, kw_arrays, torch.float64)

    tol = spec["tol"]
    outs32, _, igrads32, pgrads32, after32, _ = evaluate_module(
        spec, state, arrays, kw_arrays, torch.float32, ups)
    for j, (o, o32) in enumerate(zip(outs, outs32)):
        if o is not None:
            check_close(f"{name} output {j} (float32 run)", o32.detach().numpy(),
                        o.detach().numpy(), tol)
    for j, (g, g32) in enumerate(zip(igrads, igrads32)):
        if g is not None:
            check_close(f"{name} input grad {j} (float32 run)", g32.numpy(), g.numpy(), tol)
    for k in pgrads:
        check_close(f"{name} grad {k} (float32 run)", pgrads32[k].numpy(), pgrads[k].numpy(), tol)
    for k in after:
        check_close(f"{name} {k} after (float32 run)", after32[k].numpy(), after[k].numpy(), tol)

    fkw = dict(spec["forward_kwargs"])
    fkw.update({k: tjson(a) for k, a in kw_arrays.items()})
    rec = {"name": name, "module": spec["module"], "config": spec["config"],
           "state_dict": {k: tjson(v) for k, v in state.items()}, "mode": spec["mode"],
           "forward": spec["forward"], "forward_kwargs": fkw, "inputs": []}
    for s, a in zip(spec["inputs"], arrays):
        d = {"arg": s.arg}
        d.update(tjson(a))
        d["requires_grad"] = s.grad
        rec["inputs"].append(d)
    if single:
        rec["output"] = tjson(outs[0])
        rec["upstream"] = tjson(ups[0], with_dtype=False)
    else:
        rec["outputs"] = [tjson(o) for o in outs]
        rec["upstreams"] = [tjson(u, with_dtype=False) if u is not None else None for u in ups]
    rec["grads"] = {
        "input": [tjson(g, with_dtype=False) if g is not None else None for g in igrads],
        "parameters": {k: tjson(v, with_dtype=False) for k, v in pgrads.items()},
    }
    rec["state_dict_after"] = {k: tjson(v) for k, v in after.items()}
    rec["tolerance"] = tol
    return rec


def layer_cases():
    t = 1e-4
    x = lambda shape, **kw: R(shape, **kw)
    causal_mask = Bool([4, 4], [j > i for i in range(4) for j in range(4)], "attn_mask")
    src_mask = Bool([4, 4], [j > i for i in range(4) for j in range(4)], "src_mask")
    cases = [
        mcase("Linear", "Linear", {"in_features": 4, "out_features": 3}, [x([2, 4])]),
        mcase("Linear_no_bias_3d_input", "Linear",
              {"in_features": 4, "out_features": 3, "bias": False}, [x([2, 5, 4])]),
        mcase("Conv2d_padding1", "Conv2d",
              {"in_channels": 3, "out_channels": 4, "kernel_size": 3, "padding": 1},
              [x([2, 3, 4, 4])], tol=t),
        mcase("Conv2d_groups2_stride2_no_bias", "Conv2d",
              {"in_channels": 4, "out_channels": 6, "kernel_size": 3, "stride": 2, "padding": 1,
               "groups": 2, "bias": False}, [x([2, 4, 5, 5])], tol=t),
        mcase("Conv2d_dilation2", "Conv2d",
              {"in_channels": 2, "out_channels": 3, "kernel_size": [3, 2], "dilation": 2},
              [x([1, 2, 6, 6])], tol=t),
        mcase("MaxPool2d_k2", "MaxPool2d", {"kernel_size": 2}, [x([2, 2, 4, 4])], tol=t),
        mcase("MaxPool2d_k3_s2_p1", "MaxPool2d", {"kernel_size": 3, "stride": 2, "padding": 1},
              [x([1, 3, 5, 5])], tol=t),
        mcase("AvgPool2d_k2", "AvgPool2d", {"kernel_size": 2}, [x([2, 2, 4, 4])], tol=t),
        mcase("AvgPool2d_k3_s2_p1_exclude_pad", "AvgPool2d",
              {"kernel_size": 3, "stride": 2, "padding": 1, "count_include_pad": False},
              [x([1, 3, 5, 5])], tol=t),
        mcase("Flatten", "Flatten", {}, [x([2, 3, 2, 2])]),
        mcase("Flatten_start0", "Flatten", {"start_dim": 0, "end_dim": -1}, [x([2, 3, 2])]),
        mcase("Embedding", "Embedding", {"num_embeddings": 6, "embedding_dim": 4},
              [Int([2, 3], [1, 4, 1, 0, 5, 4], "input")]),
        mcase("Embedding_padding_idx", "Embedding",
              {"num_embeddings": 5, "embedding_dim": 3, "padding_idx": 0},
              [Int([2, 4], [0, 3, 2, 0, 1, 0, 3, 3], "input")]),
        mcase("LayerNorm_last_dim", "LayerNorm", {"normalized_shape": [4]},
              [x([3, 4], scale=2.0, shift=1.0)]),
        mcase("LayerNorm_last_two_dims", "LayerNorm", {"normalized_shape": [3, 4]},
              [x([2, 3, 4], scale=2.0)]),
        mcase("LayerNorm_no_affine_eps", "LayerNorm",
              {"normalized_shape": [5], "eps": 1e-3, "elementwise_affine": False},
              [x([2, 5])]),
        mcase("BatchNorm1d_2d_train", "BatchNorm1d", {"num_features": 3},
              [x([4, 3], scale=2.0, shift=0.5)]),
        mcase("BatchNorm1d_3d_train", "BatchNorm1d", {"num_features": 3},
              [x([2, 3, 4], scale=2.0)]),
        mcase("BatchNorm1d_2d_eval", "BatchNorm1d", {"num_features": 3}, [x([4, 3])],
              mode="eval"),
        mcase("BatchNorm1d_momentum_no_affine_train", "BatchNorm1d",
              {"num_features": 2, "momentum": 0.3, "affine": False}, [x([5, 2])]),
        mcase("BatchNorm2d_train", "BatchNorm2d", {"num_features": 3},
              [x([2, 3, 2, 3], scale=2.0)]),
        mcase("BatchNorm2d_eval", "BatchNorm2d", {"num_features": 3}, [x([2, 3, 2, 2])],
              mode="eval"),
        mcase("ReLU", "ReLU", {}, [x([3, 4])]),
        mcase("GELU", "GELU", {}, [x([3, 4], scale=2.0)]),
        mcase("GELU_tanh", "GELU", {"approximate": "tanh"}, [x([3, 4], scale=2.0)]),
        mcase("SiLU", "SiLU", {}, [x([3, 4], scale=2.0)]),
        mcase("Tanh", "Tanh", {}, [x([3, 4], scale=2.0)]),
        mcase("Sigmoid", "Sigmoid", {}, [x([3, 4], scale=2.0)]),
        mcase("LeakyReLU", "LeakyReLU", {"negative_slope": 0.1}, [x([3, 4])]),
        mcase("LeakyReLU_default", "LeakyReLU", {}, [x([3, 4])]),
        mcase("Softplus", "Softplus", {}, [x([3, 4], scale=2.0)]),
        mcase("Softplus_beta_threshold", "Softplus", {"beta": 2.0, "threshold": 5.0},
              [x([3, 4], scale=3.0)]),
        mcase("Sequential_Linear_ReLU_Linear", "Sequential",
              {"modules": [{"module": "Linear", "config": {"in_features": 4, "out_features": 8}},
                           {"module": "ReLU", "config": {}},
                           {"module": "Linear", "config": {"in_features": 8, "out_features": 3}}]},
              [x([5, 4])]),
    ]
    mha = {"embed_dim": 8, "num_heads": 2, "dropout": 0.0, "batch_first": True}
    cases += [
        mcase("MultiheadAttention_self", "MultiheadAttention", mha, [x([2, 4, 8], arg="x")],
              tol=t, forward="self_attention"),
        mcase("MultiheadAttention_self_need_weights_false", "MultiheadAttention", mha,
              [x([2, 4, 8], arg="x")], tol=t, forward="self_attention",
              forward_kwargs={"need_weights": False}),
        mcase("MultiheadAttention_self_causal_mask", "MultiheadAttention", mha,
              [x([2, 4, 8], arg="x")], tol=t, forward="self_attention",
              forward_kwargs={"attn_mask": causal_mask}),
        mcase("MultiheadAttention_self_per_head_weights", "MultiheadAttention", mha,
              [x([1, 3, 8], arg="x")], tol=t, forward="self_attention",
              forward_kwargs={"average_attn_weights": False}),
    ]
    for act in ["relu", "gelu"]:
        for norm_first in [False, True]:
            cfg = {"d_model": 8, "nhead": 2, "dim_feedforward": 16, "dropout": 0.0,
                   "activation": act, "batch_first": True, "norm_first": norm_first}
            nf = "norm_first" if norm_first else "post_norm"
            cases.append(mcase(f"TransformerEncoderLayer_{act}_{nf}", "TransformerEncoderLayer",
                               cfg, [x([2, 3, 8], arg="src")], tol=t))
    cfg = {"d_model": 8, "nhead": 2, "dim_feedforward": 16, "dropout": 0.0,
           "activation": "relu", "batch_first": True, "norm_first": False}
    cases += [
        mcase("TransformerEncoderLayer_relu_post_norm_causal_mask", "TransformerEncoderLayer",
              cfg, [x([2, 4, 8], arg="src")], tol=t, forward_kwargs={"src_mask": src_mask}),
        mcase("TransformerEncoderLayer_relu_post_norm_eval", "TransformerEncoderLayer",
              cfg, [x([2, 3, 8], arg="src")], tol=t, mode="eval"),
    ]
    return cases


# --------------------------------------------------------------------------------------
# Driver
# --------------------------------------------------------------------------------------

GROUPS = [
    ("creation", lambda: [run_creation_case(*c) for c in creation_cases()]),
    ("elementwise", lambda: [run_function_case(c) for c in elementwise_cases()]),
    ("reductions", lambda: [run_function_case(c) for c in reduction_cases()]),
    ("shape", lambda: [run_function_case(c) for c in shape_cases()]),
    ("matmul", lambda: [run_function_case(c) for c in matmul_cases()]),
    ("activations", lambda: [run_function_case(c) for c in activation_cases()]),
    ("normalization", lambda: [run_function_case(c) for c in normalization_cases()]),
    ("conv_pool", lambda: [run_function_case(c) for c in conv_pool_cases()]),
    ("attention", lambda: [run_function_case(c) for c in attention_cases()]),
    ("losses", lambda: [run_function_case(c) for c in loss_cases()]),
    ("layers", lambda: [run_module_case(c) for c in layer_cases()]),
]


def dump(group, cases):
    names = [c["name"] for c in cases]
    dupes = {n for n in names if names.count(n) > 1}
    if dupes:
        raise ValueError(f"{group}: duplicate case names {sorted(dupes)}")
    head = json.dumps({"generator": GENERATOR, "torch": torch.__version__})[:-1]
    lines = [json.dumps(c, separators=(",", ":"), allow_nan=False) for c in cases]
    return head + ', "cases": [\n' + ",\n".join(lines) + "\n]}\n"


# --------------------------------------------------------------------------------------
# --verify: replay the written JSON through torch (float64) using only what the files say
# --------------------------------------------------------------------------------------


def from_json(d, requires_grad=False):
    dtypes = {"float32": torch.float64, "int64": torch.int64, "bool": torch.bool}
    dt = dtypes[d.get("dtype", "float32")]
    t = torch.tensor(d["values"], dtype=dt).reshape(d["shape"])
    return t.requires_grad_(True) if requires_grad and dt == torch.float64 else t


def is_tensor_json(v):
    return isinstance(v, dict) and "shape" in v and "values" in v


def same(what, got, ref):
    if ref is None:
        if got is not None:
            raise Mismatch(f"{what}: expected null")
        return
    exp = from_json(ref)
    got = got.detach()
    if list(got.shape) != ref["shape"]:
        raise Mismatch(f"{what}: shape {list(got.shape)} vs {ref['shape']}")
    if exp.dtype == torch.float64:
        check_close(what, got.to(torch.float64).numpy(), exp.numpy(), 1e-12)
    elif not torch.equal(got, exp):
        raise Mismatch(f"{what}: values differ")


def replay(rec):
    name = rec["name"]
    if "module" in rec:
        mod = build_module(rec["module"], rec["config"]).double()
        mod.load_state_dict({k: from_json(v) for k, v in rec["state_dict"].items()})
        mod.train(rec["mode"] == "train")
        tensors = [from_json(d, d["requires_grad"]) for d in rec["inputs"]]
        fkw = {k: from_json(v) if is_tensor_json(v) else v
               for k, v in rec["forward_kwargs"].items()}
        if rec["forward"] == "self_attention":
            out = mod(tensors[0], tensors[0], tensors[0], **fkw)
        else:
            out = mod(*tensors, **fkw)
        params = dict(mod.named_parameters())
        wrt_names = list(params)
    else:
        if rec["op"] in ("zeros", "ones", "full", "arange"):
            out = getattr(torch, rec["op"])(**rec["kwargs"])
            if out.dtype in FLOAT_DTYPES:
                out = getattr(torch, rec["op"])(**rec["kwargs"], dtype=torch.float64)
            same(f"{name} output", out, rec["output"])
            return
        tensors = [from_json(d, d["requires_grad"]) for d in rec["inputs"]]
        spec = {"op": rec["op"], "kwargs": rec["kwargs"],
                "inputs": [In(d["shape"], arg=d["arg"]) for d in rec["inputs"]]}
        out = call_op(spec, tensors)
        params, wrt_names = {}, []
    outs = [out] if isinstance(out, torch.Tensor) else list(out)
    refs = [rec["output"]] if "output" in rec else rec["outputs"]
    ups = [rec["upstream"]] if "output" in rec else rec["upstreams"]
    if len(outs) != len(refs):
        raise Mismatch(f"{name}: {len(outs)} outputs vs {len(refs)}")
    for j, (o, r) in enumerate(zip(outs, refs)):
        same(f"{name} output {j}", o, r)
    grad_ts = [t for t, d in zip(tensors, rec["inputs"]) if d["requires_grad"]]
    wrt = grad_ts + [params[n] for n in wrt_names]
    if wrt:
        total = sum((o * from_json(u)).sum() for o, u in zip(outs, ups) if u is not None)
        g = torch.autograd.grad(total, wrt, allow_unused=True)
        g = [torch.zeros_like(t) if gi is None else gi for t, gi in zip(wrt, g)]
        input_refs = rec["grads"]["input"] if "module" in rec else rec["grads"]
        it = iter(g)
        for j, (d, r) in enumerate(zip(rec["inputs"], input_refs)):
            same(f"{name} grad {j}", next(it) if d["requires_grad"] else None, r)
        for n in wrt_names:
            same(f"{name} grad {n}", next(it), rec["grads"]["parameters"][n])
    if "module" in rec:
        sd = mod.state_dict()
        for k, r in rec["state_dict_after"].items():
            same(f"{name} {k} after", sd[k], r)
    for r in rec.get("outputs_after", []):
        t = tensors[[d["arg"] for d in rec["inputs"]].index(r["arg"])]
        same(f"{name} {r['arg']} after", t, r)


def verify(only):
    count = 0
    for group, _ in GROUPS:
        if only and group not in only:
            continue
        with open(os.path.join(OUT_DIR, group + ".json"), encoding="utf-8") as f:
            data = json.load(f)
        for rec in data["cases"]:
            replay(rec)
            count += 1
    print(f"verified {count} cases by replaying the JSON through torch {torch.__version__}")


def main(argv):
    args = argv[1:]
    if "--verify" in args:
        verify(set(a for a in args if a != "--verify"))
        return
    only = set(args)
    os.makedirs(OUT_DIR, exist_ok=True)
    for group, make in GROUPS:
        if only and group not in only:
            continue
        cases = make()
        text = dump(group, cases)
        path = os.path.join(OUT_DIR, group + ".json")
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        print(f"{os.path.relpath(path, REPO)}: {len(cases)} cases, {len(text)} bytes")
    print(f"torch {torch.__version__}")


if __name__ == "__main__":
    main(sys.argv)
