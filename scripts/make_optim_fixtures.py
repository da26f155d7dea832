#!/usr/bin/env python3
"""Generate reference fixtures for swifttrain's optimizers and learning-rate schedules.

Writes Tests/fixtures/torch/optimizers.json and Tests/fixtures/torch/schedulers.json (see
the "Optimizers and schedulers" section of Tests/fixtures/torch/README.md for the format).
torch, numpy and transformers are needed only here, never at test time:

    /tmp/torchvenv/bin/pip install torch numpy transformers
    /tmp/torchvenv/bin/python scripts/make_optim_fixtures.py             # both files
    /tmp/torchvenv/bin/python scripts/make_optim_fixtures.py optimizers  # one file
    /tmp/torchvenv/bin/python scripts/make_optim_fixtures.py --verify    # replay the JSON

optimizers.json
  * parameters and per-step gradients are drawn in float32 with numpy from seeds derived
    from the case name, so they are float32-representable and independent of case order;
  * the gradients are fixed (not computed from a loss): step k uses gradients[k];
  * the trajectory and the final optimizer state are torch's own float32 results (the
    library computes in float32). The same case is also run in float64 and every value of
    the float32 run must lie within the case's tolerance of the float64 run, so the
    tolerance is meaningful for any correct float32 implementation. A failure aborts.
  * torch has no Lion. Lion cases use the update rule of the paper (Chen et al. 2023,
    "Symbolic Discovery of Optimization Algorithms", https://arxiv.org/abs/2302.06675,
    Algorithm 2), as implemented in lucidrains/lion-pytorch and optax.lion, computed here
    in float64 numpy (and checked against a float32 run the same way).

schedulers.json
  * learning rates from transformers.get_scheduler, torch.optim.lr_scheduler.StepLR /
    ExponentialLR, and momentum values from AllenNLP's "inverted_triangular" momentum
    scheduler (re-implemented below, AllenNLP is not installed). All are Python floats
    (float64) and recorded at full precision.

The output is deterministic (rerun -> identical files).
"""

import json
import math
import os
import sys
import zlib

import numpy as np
import torch

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT_DIR = os.path.join(REPO, "Tests", "fixtures", "torch")
GENERATOR = "scripts/make_optim_fixtures.py"

torch.set_num_threads(1)
torch.use_deterministic_algorithms(True)

NUM_STEPS = 20  # optimizer steps per case
OPT_TOL = {"rtol": 1e-6, "atol": 1e-7}  # |actual - expected| <= atol + rtol * |expected|
SCHED_TOL = {"rtol": 1e-9, "atol": 1e-15}

# Hyperparameter keys that only select an implementation (or do not apply on CPU); they
# are left out of "hyperparameters".
IMPL_KEYS = ("foreach", "differentiable", "fused", "capturable")


def seed_of(*parts):
    return zlib.crc32("/".join(str(p) for p in parts).encode())


def draw(shape, seed, scale=1.0):
    rng = np.random.default_rng(seed)
    n = int(np.prod(shape, dtype=np.int64))
    return (rng.standard_normal(n) * scale).astype(np.float32).reshape(shape)


def flat(arr):
    a = np.asarray(arr, dtype=np.float64).ravel()
    if not np.all(np.isfinite(a)):
        raise ValueError("non-finite value in a fixture")
    return [float(v) for v in a]


class Mismatch(Exception):
    pass


def worst_ratio(got, ref, tol):
    """max over elements of |got - ref| / (atol + rtol * |ref|)."""
    got = np.asarray(got, dtype=np.float64)
    ref = np.asarray(ref, dtype=np.float64)
    if got.shape != ref.shape:
        raise Mismatch(f"shape {got.shape} vs {ref.shape}")
    if got.size == 0:
        return 0.0
    return float(np.max(np.abs(got - ref) / (tol["atol"] + tol["rtol"] * np.abs(ref))))


# ======================================================================================
# Optimizers
# ======================================================================================

W, B, S = ("weight", [3, 2]), ("bias", [2]), ("scale", [4])


def ocase(name, optimizer, kwargs, params=(W, B), groups=None, none_steps=None,
          lr_changes=None, grad_scale=1.0, tolerance=None, state_tolerance=None,
          reason=None):
    """none_steps: {param: [1-based steps without a gradient]};
    lr_changes: {1-based step: [lr per group]} set just before that step;
    grad_scale: standard deviation of the drawn gradients."""
    return {"name": name, "optimizer": optimizer, "kwargs": kwargs, "params": list(params),
            "groups": groups, "none_steps": none_steps or {}, "lr_changes": lr_changes,
            "grad_scale": grad_scale, "tolerance": tolerance,
            "state_tolerance": state_tolerance, "reason": reason}


# SGD with momentum 0.9 and lr 0.1 moves the parameters by lr * buf with buf ~ 10 * g; with
# N(0, 1) gradients the parameters reach |p| ~ 8 within 20 steps and float32 rounding of
# those O(1..10) values exceeds atol 1e-7 where an element crosses zero. The momentum cases
# therefore use gradients ~N(0, 0.1^2) (realistic for lr 0.1) and keep the default tolerance.

# RMSprop's momentum buffer accumulates g / (sqrt(v) + eps), which is ~1 / sqrt(1 - alpha)
# = 10 per step in the first steps whatever the gradient scale, so the buffer reaches
# |buf| ~ 20..50 and float32 rounding leaves up to ~4e-6 absolute error in it, also in
# elements that have come back near zero. The parameters move by lr * buf; with lr 1e-3
# (not the default 1e-2) they stay within the default tolerance, and only the final
# momentum_buffer needs a looser absolute tolerance ("state_tolerance").
RMSPROP_MOMENTUM_STATE_TOL = {"rtol": 1e-6, "atol": 1e-5}
RMSPROP_MOMENTUM_REASON = (
    "state_tolerance only: RMSprop's momentum_buffer sums g/(sqrt(v)+eps), which is ~10 "
    "per step early on whatever the gradient scale, so |buf| reaches ~20..50 and float32 "
    "rounding leaves up to ~4e-6 absolute error in it, also where it comes back near zero; "
    "atol 1e-5 for momentum_buffer. Trajectories use the default tolerance (lr 1e-3 keeps "
    "lr*buf small)")


def optimizer_cases():
    none_b = {"bias": [1, 5, 6, 13]}  # includes step 1: state is created late
    two_groups_sgd = [{"params": ["weight", "scale"], "weight_decay": 0.01},
                      {"params": ["bias"], "lr": 0.05, "weight_decay": 0.0}]
    two_groups_adamw = [{"params": ["weight", "scale"]},
                        {"params": ["bias"], "lr": 0.005, "weight_decay": 0.0}]
    return [
        # SGD
        ocase("sgd_defaults", "SGD", {}),
        ocase("sgd_plain", "SGD", {"lr": 0.1}),
        # momentum cases: gradients ~N(0, 0.1^2) keep the buffers O(0.5) (see above)
        ocase("sgd_momentum", "SGD", {"lr": 0.1, "momentum": 0.9}, grad_scale=0.1),
        ocase("sgd_momentum_dampening", "SGD", {"lr": 0.1, "momentum": 0.9, "dampening": 0.1},
              grad_scale=0.1),
        ocase("sgd_nesterov", "SGD", {"lr": 0.1, "momentum": 0.9, "nesterov": True},
              grad_scale=0.1),
        ocase("sgd_weight_decay", "SGD", {"lr": 0.1, "weight_decay": 0.01}),
        ocase("sgd_momentum_weight_decay", "SGD",
              {"lr": 0.1, "momentum": 0.9, "weight_decay": 0.01}, grad_scale=0.1),
        ocase("sgd_two_groups", "SGD", {"lr": 0.1, "momentum": 0.9}, (W, B, S),
              groups=two_groups_sgd, grad_scale=0.1),
        ocase("sgd_momentum_none_grads", "SGD", {"lr": 0.1, "momentum": 0.9},
              none_steps=none_b, grad_scale=0.1),
        ocase("sgd_momentum_lr_changes", "SGD", {"lr": 0.1, "momentum": 0.9},
              lr_changes={8: [0.05], 15: [0.2]}, grad_scale=0.1),
        ocase("sgd_two_groups_lr_changes", "SGD", {"lr": 0.1, "momentum": 0.9}, (W, B, S),
              groups=two_groups_sgd, lr_changes={11: [0.02, 0.01]}, grad_scale=0.1),
        # Adam
        ocase("adam_defaults", "Adam", {}),
        ocase("adam_amsgrad", "Adam", {"amsgrad": True}),
        ocase("adam_weight_decay", "Adam", {"weight_decay": 0.01}),
        ocase("adam_lr_betas_eps", "Adam", {"lr": 0.01, "betas": [0.8, 0.99], "eps": 1e-6}),
        ocase("adam_none_grads", "Adam", {"lr": 0.01}, none_steps=none_b),
        ocase("adam_lr_changes", "Adam", {"lr": 0.01}, lr_changes={6: [0.001], 16: [0.02]}),
        ocase("adam_two_groups", "Adam", {"lr": 0.01, "weight_decay": 0.01}, (W, B, S),
              groups=two_groups_adamw),
        # AdamW
        ocase("adamw_defaults", "AdamW", {}),
        ocase("adamw_amsgrad", "AdamW", {"amsgrad": True}),
        ocase("adamw_no_weight_decay", "AdamW", {"weight_decay": 0.0}),
        ocase("adamw_two_groups", "AdamW", {"lr": 0.01, "weight_decay": 0.1}, (W, B, S),
              groups=two_groups_adamw),
        ocase("adamw_none_grads", "AdamW", {"lr": 0.01, "weight_decay": 0.1},
              none_steps=none_b),
        ocase("adamw_lr_changes", "AdamW", {"lr": 0.01, "weight_decay": 0.1},
              lr_changes={6: [0.001], 16: [0.02]}),
        # RMSprop
        ocase("rmsprop_defaults", "RMSprop", {}),
        ocase("rmsprop_centered", "RMSprop", {"centered": True}),
        ocase("rmsprop_momentum", "RMSprop", {"lr": 0.001, "momentum": 0.9},
              state_tolerance=RMSPROP_MOMENTUM_STATE_TOL, reason=RMSPROP_MOMENTUM_REASON),
        ocase("rmsprop_centered_momentum", "RMSprop",
              {"lr": 0.001, "centered": True, "momentum": 0.9},
              state_tolerance=RMSPROP_MOMENTUM_STATE_TOL, reason=RMSPROP_MOMENTUM_REASON),
        ocase("rmsprop_weight_decay", "RMSprop", {"weight_decay": 0.01}),
        ocase("rmsprop_none_grads", "RMSprop", {"lr": 0.001, "momentum": 0.9, "centered": True},
              none_steps=none_b, state_tolerance=RMSPROP_MOMENTUM_STATE_TOL,
              reason=RMSPROP_MOMENTUM_REASON),
        # Adagrad
        ocase("adagrad_defaults", "Adagrad", {}),
        ocase("adagrad_lr_decay", "Adagrad", {"lr_decay": 0.01}),
        ocase("adagrad_initial_accumulator_value", "Adagrad",
              {"initial_accumulator_value": 0.1}),
        ocase("adagrad_weight_decay", "Adagrad", {"weight_decay": 0.01}),
        ocase("adagrad_none_grads", "Adagrad", {"lr": 0.1, "lr_decay": 0.01},
              none_steps=none_b),
        # Adadelta
        ocase("adadelta_defaults", "Adadelta", {}),
        ocase("adadelta_weight_decay", "Adadelta", {"weight_decay": 0.01}),
        ocase("adadelta_lr_rho", "Adadelta", {"lr": 0.5, "rho": 0.95}),
        ocase("adadelta_none_grads", "Adadelta", {}, none_steps=none_b),
        # Lion (paper rule, numpy)
        ocase("lion_defaults", "Lion", {}),
        ocase("lion_weight_decay", "Lion", {"lr": 0.001, "weight_decay": 0.1}),
        ocase("lion_betas", "Lion", {"lr": 0.0003, "betas": [0.95, 0.98]}),
        ocase("lion_none_grads", "Lion", {"lr": 0.001, "weight_decay": 0.1},
              none_steps=none_b),
    ]


def draw_case_inputs(spec):
    name = spec["name"]
    params = {pn: draw(shape, seed_of(name, "param", pn)) for pn, shape in spec["params"]}
    grads = []
    for k in range(1, NUM_STEPS + 1):
        step = {}
        for pn, shape in spec["params"]:
            if k in spec["none_steps"].get(pn, []):
                step[pn] = None
            else:
                step[pn] = draw(shape, seed_of(name, "grad", k, pn), spec["grad_scale"])
        grads.append(step)
    return params, grads


# ---- Lion: the paper's rule ---------------------------------------------------------

LION_DEFAULTS = {"lr": 1e-4, "betas": (0.9, 0.99), "weight_decay": 0.0}


class NumpyLion:
    """Lion (Chen et al. 2023, arXiv:2302.06675, Algorithm 2), per parameter:

        c = b1 * m + (1 - b1) * g          # interpolation used for the update
        p = p - lr * (sign(c) + wd * p)    # decoupled weight decay, sign(0) = 0
        m = b2 * m + (1 - b2) * g          # momentum, m starts at 0

    Same as lucidrains/lion-pytorch (p *= 1 - lr*wd; p -= lr*sign(c)) and optax.lion.
    Parameters without a gradient at a step are skipped (no state change)."""

    def __init__(self, params, dtype, **kwargs):
        hp = dict(LION_DEFAULTS)
        hp.update(kwargs)
        hp["betas"] = tuple(hp["betas"])
        self.hp = hp
        self.dtype = dtype
        self.params = {n: v.astype(dtype) for n, v in params.items()}
        self.state = {}
        self.min_abs_c = math.inf  # smallest |c| seen: how far every sign() is from a flip

    def step(self, grads):
        lr = self.dtype(self.hp["lr"])
        wd = self.dtype(self.hp["weight_decay"])
        b1, b2 = (self.dtype(b) for b in self.hp["betas"])
        one = self.dtype(1)
        for n, p in self.params.items():
            g = grads.get(n)
            if g is None:
                continue
            g = g.astype(self.dtype)
            m = self.state.setdefault(n, {"exp_avg": np.zeros_like(p)})["exp_avg"]
            c = b1 * m + (one - b1) * g
            self.min_abs_c = min(self.min_abs_c, float(np.min(np.abs(c))))
            self.params[n] = p - lr * (np.sign(c) + wd * p)
            self.state[n]["exp_avg"] = b2 * m + (one - b2) * g


# ---- torch runs ---------------------------------------------------------------------


def build_torch_optimizer(opt_name, kwargs, groups, tensors):
    kw = {k: tuple(v) if k == "betas" else v for k, v in kwargs.items()}
    if groups:
        arg = []
        for g in groups:
            d = {k: tuple(v) if k == "betas" else v for k, v in g.items() if k != "params"}
            d["params"] = [tensors[n] for n in g["params"]]
            arg.append(d)
    else:
        arg = list(tensors.values())
    return getattr(torch.optim, opt_name)(arg, **kw)


def run_optimizer(opt_name, kwargs, groups, lr_changes, params, grads, dtype):
    """Returns (trajectory, state, hyperparameters); values as float64 numpy arrays."""
    names = list(params)
    if opt_name == "Lion":
        npdt = {torch.float32: np.float32, torch.float64: np.float64}[dtype]
        if groups:
            raise ValueError("Lion cases use one param group")
        opt = NumpyLion(params, npdt, **kwargs)
        traj = []
        for k, step_grads in enumerate(grads, start=1):
            if lr_changes and k in lr_changes:
                opt.hp["lr"] = lr_changes[k][0]
            opt.step(step_grads)
            traj.append({n: opt.params[n].astype(np.float64) for n in names})
        state = {n: {"exp_avg": opt.state[n]["exp_avg"].astype(np.float64)}
                 for n in names if n in opt.state}
        hp = [{"params": names, "lr": opt.hp["lr"], "betas": list(opt.hp["betas"]),
               "weight_decay": opt.hp["weight_decay"]}]
        if opt.min_abs_c < 1e-5:
            raise Mismatch(f"Lion: |c| = {opt.min_abs_c:.3g} is so small that float32 "
                           "rounding could flip sign(c); change the case")
        return traj, state, hp

    tensors = {n: torch.nn.Parameter(torch.from_numpy(v.copy()).to(dtype))
               for n, v in params.items()}
    opt = build_torch_optimizer(opt_name, kwargs, groups, tensors)
    hp = []
    by_id = {id(t): n for n, t in tensors.items()}
    for g in opt.param_groups:
        d = {"params": [by_id[id(p)] for p in g["params"]]}
        for k, v in g.items():
            if k == "params" or k in IMPL_KEYS:
                continue
            d[k] = list(v) if isinstance(v, tuple) else v
        hp.append(d)
    traj = []
    for k, step_grads in enumerate(grads, start=1):
        if lr_changes and k in lr_changes:
            for g, lr in zip(opt.param_groups, lr_changes[k]):
                g["lr"] = lr
        for n, t in tensors.items():
            g = step_grads[n]
            t.grad = None if g is None else torch.from_numpy(g.copy()).to(dtype)
        opt.step()
        traj.append({n: t.detach().to(torch.float64).numpy().copy()
                     for n, t in tensors.items()})
    state = {}
    for n, t in tensors.items():
        st = opt.state.get(t)
        if not st:
            continue
        d = {}
        for k, v in st.items():
            if v is None:
                d[k] = None
            elif k == "step":
                d[k] = int(v.item()) if isinstance(v, torch.Tensor) else int(v)
            else:
                d[k] = v.detach().to(torch.float64).numpy().copy()
        state[n] = d
    return traj, state, hp


def run_optimizer_case(spec):
    params, grads = draw_case_inputs(spec)
    tol = spec["tolerance"] or OPT_TOL
    stol = spec["state_tolerance"] or tol
    lrc = spec["lr_changes"]
    traj32, state32, hp = run_optimizer(spec["optimizer"], spec["kwargs"], spec["groups"],
                                        lrc, params, grads, torch.float32)
    traj64, state64, _ = run_optimizer(spec["optimizer"], spec["kwargs"], spec["groups"],
                                       lrc, params, grads, torch.float64)
    lion = spec["optimizer"] == "Lion"
    # recorded: torch float32 (Lion: numpy float64); checked against the other precision
    traj_rec, state_rec = (traj64, state64) if lion else (traj32, state32)
    traj_chk, state_chk = (traj32, state32) if lion else (traj64, state64)
    worst = 0.0
    for a, b in zip(traj_chk, traj_rec):
        for n in a:
            worst = max(worst, worst_ratio(a[n], b[n], tol))
    if set(state_chk) != set(state_rec):
        raise Mismatch(f"{spec['name']}: state keys differ between precisions")
    for n in state_rec:
        for k, v in state_rec[n].items():
            w = state_chk[n][k]
            if k == "step":
                if v != w:
                    raise Mismatch(f"{spec['name']}: step differs")
            elif v is not None:
                worst = max(worst, worst_ratio(w, v, stol))
    if worst > 1.0:
        raise Mismatch(f"{spec['name']}: float32 vs float64 run differ by {worst:.3g} x "
                       f"the tolerance {tol} / state tolerance {stol}")

    rec = {"name": spec["name"], "optimizer": spec["optimizer"],
           "reference": "numpy float64, Lion paper rule" if lion else "torch float32",
           "kwargs": spec["kwargs"],
           "params": [{"name": n, "shape": list(params[n].shape), "values": flat(params[n])}
                      for n in params]}
    if spec["groups"]:
        rec["param_groups"] = spec["groups"]
    rec["hyperparameters"] = hp
    if lrc:
        rec["lr_changes"] = {str(k): v for k, v in sorted(lrc.items())}
    rec["gradients"] = [{n: None if g is None else flat(g) for n, g in step.items()}
                        for step in grads]
    rec["trajectory"] = [{n: flat(v) for n, v in step.items()} for step in traj_rec]
    rec["state_after"] = {
        n: {k: (v if k == "step" or v is None else flat(v)) for k, v in st.items()}
        for n, st in state_rec.items()}
    rec["tolerance"] = dict(tol)
    if spec["state_tolerance"]:
        rec["state_tolerance"] = dict(stol)
    if spec["reason"]:
        rec["reason"] = spec["reason"]
    rec["_worst"] = worst
    return rec


# ======================================================================================
# Schedulers
# ======================================================================================

BASE_LR = 1e-3
N_TRAIN = 50


def hf(name, scheduler, warmup, training=N_TRAIN, extra=None, base_lrs=(BASE_LR,),
       metrics=None, num_steps=N_TRAIN):
    return {"name": name, "source": "transformers.get_scheduler", "scheduler": scheduler,
            "kwargs": {"num_warmup_steps": warmup, "num_training_steps": training,
                       "scheduler_specific_kwargs": extra or {}},
            "base_lrs": list(base_lrs), "metrics": metrics, "num_steps": num_steps}


def tq(name, scheduler, kwargs, base_lrs=(BASE_LR,), num_steps=N_TRAIN):
    return {"name": name, "source": "torch.optim.lr_scheduler", "scheduler": scheduler,
            "kwargs": kwargs, "base_lrs": list(base_lrs), "metrics": None,
            "num_steps": num_steps}


def allen(name, kwargs, base_momentums, num_epochs):
    return {"name": name, "source": "allennlp (reimplemented)",
            "scheduler": "inverted_triangular", "kwargs": kwargs, "base_lrs": [BASE_LR] *
            len(base_momentums), "base_momentums": list(base_momentums), "metrics": None,
            "num_steps": num_epochs}


# Metric sequences fed to the metric-driven schedulers, one value per evaluation.
PLATEAU_METRICS = (
    [1.0, 0.9, 0.8, 0.75, 0.74, 0.74, 0.7399, 0.75, 0.76, 0.741, 0.745, 0.742, 0.7401,
     0.75, 0.75, 0.75, 0.75, 0.749, 0.748, 0.747, 0.746, 0.7, 0.69, 0.695, 0.69, 0.69,
     0.69, 0.69, 0.69, 0.69, 0.69, 0.69, 0.69, 0.69, 0.689999, 0.69, 0.69, 0.69, 0.69,
     0.69])
SHORT_METRICS = [1.0, 0.8, 0.7, 0.7, 0.71, 0.72, 0.69, 0.69, 0.69999, 0.7, 0.7, 0.7,
                 0.65, 0.66, 0.66, 0.66, 0.66, 0.66, 0.66, 0.66, 0.66, 0.66, 0.66, 0.66]
ACCURACY_METRICS = [0.5, 0.6, 0.65, 0.66, 0.66, 0.6605, 0.7, 0.7, 0.69, 0.7, 0.7, 0.71,
                    0.71, 0.7101, 0.71, 0.71, 0.72, 0.72, 0.72, 0.72]
IMPROVING_METRICS = ([round(1.0 - 0.02 * i, 2) for i in range(16)]
                     + [0.7, 0.7, 0.7, 0.71, 0.7, 0.7, 0.7, 0.7, 0.7, 0.7, 0.7, 0.7, 0.7,
                        0.7, 0.7, 0.7, 0.7, 0.7, 0.7, 0.7])


def scheduler_cases():
    two = (BASE_LR, 5e-4)
    wsd = "warmup_stable_decay"
    poly = {"power": 2.0, "lr_end": 1e-7}
    return [
        hf("linear_warmup0", "linear", 0),
        hf("linear_warmup10", "linear", 10),
        hf("linear_warmup10_two_groups", "linear", 10, base_lrs=two),
        hf("cosine_warmup0", "cosine", 0),
        hf("cosine_warmup10", "cosine", 10),
        hf("cosine_warmup5_num_cycles_0.25", "cosine", 5, extra={"num_cycles": 0.25}),
        hf("cosine_with_restarts_warmup0_cycles2", "cosine_with_restarts", 0,
           extra={"num_cycles": 2}),
        hf("cosine_with_restarts_warmup10_cycles2", "cosine_with_restarts", 10,
           extra={"num_cycles": 2}),
        hf("polynomial_warmup0_power2", "polynomial", 0, extra=poly),
        hf("polynomial_warmup10_power2", "polynomial", 10, extra=poly),
        hf("polynomial_warmup10_power2_two_groups", "polynomial", 10, extra=poly,
           base_lrs=two),
        hf("polynomial_warmup10_defaults", "polynomial", 10),
        hf("polynomial_warmup10_power2_past_end", "polynomial", 10, training=40, extra=poly),
        hf("constant", "constant", 0),
        hf("constant_with_warmup10", "constant_with_warmup", 10),
        hf("constant_with_warmup0", "constant_with_warmup", 0),
        hf("inverse_sqrt_warmup0_default_timescale", "inverse_sqrt", 0, training=None),
        hf("inverse_sqrt_warmup10_default_timescale", "inverse_sqrt", 10, training=None),
        hf("inverse_sqrt_warmup10_timescale20", "inverse_sqrt", 10, training=None,
           extra={"timescale": 20}),
        hf("inverse_sqrt_warmup0_timescale5", "inverse_sqrt", 0, training=None,
           extra={"timescale": 5}),
        hf("reduce_lr_on_plateau_defaults", "reduce_lr_on_plateau", None, training=None,
           metrics=PLATEAU_METRICS),
        hf("reduce_lr_on_plateau_patience2_factor0.5", "reduce_lr_on_plateau", None,
           training=None, extra={"patience": 2, "factor": 0.5}, metrics=SHORT_METRICS),
        hf("reduce_lr_on_plateau_cooldown_min_lr_two_groups", "reduce_lr_on_plateau", None,
           training=None, extra={"patience": 1, "factor": 0.5, "cooldown": 2,
                                 "min_lr": 2e-4},
           base_lrs=two, metrics=SHORT_METRICS),
        hf("reduce_lr_on_plateau_max_abs", "reduce_lr_on_plateau", None, training=None,
           extra={"mode": "max", "threshold_mode": "abs", "threshold": 0.001,
                  "patience": 2, "factor": 0.2}, metrics=ACCURACY_METRICS),
        hf("cosine_with_min_lr_warmup0_min_lr", "cosine_with_min_lr", 0,
           extra={"min_lr": 1e-5}),
        hf("cosine_with_min_lr_warmup10_min_lr", "cosine_with_min_lr", 10,
           extra={"min_lr": 1e-5}),
        hf("cosine_with_min_lr_warmup10_min_lr_rate", "cosine_with_min_lr", 10,
           extra={"min_lr_rate": 0.1}),
        hf("cosine_with_min_lr_warmup10_min_lr_two_groups", "cosine_with_min_lr", 10,
           extra={"min_lr": 1e-5}, base_lrs=two),
        hf("cosine_warmup_with_min_lr_warmup10_min_lr_rate", "cosine_warmup_with_min_lr", 10,
           extra={"min_lr_rate": 0.1}),
        hf("cosine_warmup_with_min_lr_warmup10_warmup_lr_rate", "cosine_warmup_with_min_lr",
           10, extra={"min_lr_rate": 0.1, "warmup_lr_rate": 0.05}),
        hf("cosine_warmup_with_min_lr_warmup0_min_lr", "cosine_warmup_with_min_lr", 0,
           extra={"min_lr": 1e-5}),
        hf("wsd_linear_decay_min_lr_ratio", wsd, 10, training=None,
           extra={"num_stable_steps": 20, "num_decay_steps": 20, "decay_type": "linear",
                  "min_lr_ratio": 0.1}),
        hf("wsd_cosine_decay_min_lr_ratio", wsd, 10, training=None,
           extra={"num_stable_steps": 20, "num_decay_steps": 20, "decay_type": "cosine",
                  "min_lr_ratio": 0.1}),
        hf("wsd_1-sqrt_decay_min_lr_ratio", wsd, 10, training=None,
           extra={"num_stable_steps": 20, "num_decay_steps": 20, "decay_type": "1-sqrt",
                  "min_lr_ratio": 0.1}),
        hf("wsd_linear_decay_warmup0", wsd, 0, training=None,
           extra={"num_stable_steps": 30, "num_decay_steps": 20, "decay_type": "linear"}),
        hf("wsd_defaults_from_num_training_steps", wsd, 5,
           extra={"num_decay_steps": 15}),
        hf("wsd_cosine_warmup_1-sqrt_decay_tail", wsd, 10, training=None,
           extra={"num_stable_steps": 10, "num_decay_steps": 10, "warmup_type": "cosine",
                  "decay_type": "1-sqrt", "min_lr_ratio": 0.05}),
        hf("wsd_1-sqrt_warmup_linear_decay", wsd, 10, training=None,
           extra={"num_stable_steps": 20, "num_decay_steps": 20, "warmup_type": "1-sqrt",
                  "decay_type": "linear", "min_lr_ratio": 0.1}),
        hf("greedy_defaults", "greedy", None, training=None, metrics=IMPROVING_METRICS),
        hf("greedy_patience2", "greedy", None, training=None,
           extra={"patience": 2, "factor": 0.5, "min_lr": 1e-4, "max_lr": 4e-3},
           metrics=SHORT_METRICS),
        tq("StepLR_step10_gamma0.5", "StepLR", {"step_size": 10, "gamma": 0.5}),
        tq("StepLR_step7_gamma0.1_two_groups", "StepLR", {"step_size": 7, "gamma": 0.1},
           base_lrs=two),
        tq("ExponentialLR_gamma0.9", "ExponentialLR", {"gamma": 0.9}),
        tq("ExponentialLR_gamma0.95_two_groups", "ExponentialLR", {"gamma": 0.95},
           base_lrs=two),
        allen("inverted_triangular_cool10_warm10_ratio10",
              {"cool_down": 10, "warm_up": 10, "ratio": 10}, [0.9], 30),
        allen("inverted_triangular_cool5_warm15_ratio4_two_groups",
              {"cool_down": 5, "warm_up": 15, "ratio": 4}, [0.9, 0.5], 25),
    ]


def make_sched_optimizer(base_lrs, momentums=None):
    """SGD whose defaults lr is base_lrs[0]; one param group per base lr."""
    groups = []
    for i, lr in enumerate(base_lrs):
        g = {"params": [torch.nn.Parameter(torch.zeros(1))], "lr": lr}
        if momentums is not None:
            g["momentum"] = momentums[i]
        groups.append(g)
    return torch.optim.SGD(groups, lr=base_lrs[0])


def inverted_triangular_values(base_values, cool_down, warm_up, ratio, step):
    """AllenNLP InvertedTriangular.get_values(), with step = last_epoch + 1, from
    allennlp/training/momentum_schedulers/inverted_triangular.py (github.com/allenai/allennlp,
    e.g. commit 6081fa1683ba178f013920a3b2642fb6ebc80db5). The value for epoch e is
    get_values() at step = e: the scheduler starts with last_epoch = -1 (momentum = base),
    and Scheduler.step() at the end of each epoch increments last_epoch."""
    if step <= cool_down:
        return [m - (m - m / ratio) * (step / cool_down) for m in base_values]
    if step <= cool_down + warm_up:
        return [(m / ratio) + (m - m / ratio) * (step - cool_down) / warm_up
                for m in base_values]
    return list(base_values)


def run_scheduler(case):
    """Returns the list of per-group values (lr, or momentum for AllenNLP)."""
    src, name, kw = case["source"], case["scheduler"], case["kwargs"]
    if src == "allennlp (reimplemented)":
        opt = make_sched_optimizer(case["base_lrs"], case["base_momentums"])
        base = [g["momentum"] for g in opt.param_groups]
        out = []
        for e in range(case["num_steps"] + 1):
            vals = inverted_triangular_values(base, kw["cool_down"], kw["warm_up"],
                                              kw["ratio"], e)
            for g, v in zip(opt.param_groups, vals):
                g["momentum"] = v  # what AllenNLP's Scheduler.step() writes
            out.append([g["momentum"] for g in opt.param_groups])
        return out
    opt = make_sched_optimizer(case["base_lrs"])
    if src == "transformers.get_scheduler":
        from transformers import get_scheduler
        sched = get_scheduler(name, opt, **kw)
    else:
        sched = getattr(torch.optim.lr_scheduler, name)(opt, **kw)
    out = [list(sched.get_last_lr())]
    if case.get("metrics") is not None:
        for m in case["metrics"]:
            sched.step(m)
            out.append(list(sched.get_last_lr()))
        return out
    for _ in range(case["num_steps"]):
        opt.step()
        sched.step()
        out.append(list(sched.get_last_lr()))
    return out


def run_scheduler_case(case):
    vals = run_scheduler(case)
    for row in vals:
        for v in row:
            if not isinstance(v, float) or not math.isfinite(v):
                raise ValueError(f"{case['name']}: bad value {v!r}")
    rec = {"name": case["name"], "source": case["source"], "scheduler": case["scheduler"],
           "kwargs": case["kwargs"], "base_lrs": case["base_lrs"]}
    if case["source"] == "allennlp (reimplemented)":
        rec["base_momentums"] = case["base_momentums"]
        rec["num_epochs"] = case["num_steps"]
        rec["momentums"] = vals
    else:
        if case.get("metrics") is not None:
            rec["metrics"] = case["metrics"]
        else:
            rec["num_steps"] = case["num_steps"]
        rec["lrs"] = vals
    return rec


# ======================================================================================
# Driver
# ======================================================================================


def versions():
    import transformers
    return {"torch": torch.__version__, "transformers": transformers.__version__,
            "numpy": np.__version__}


def dump(head, cases):
    names = [c["name"] for c in cases]
    dupes = {n for n in names if names.count(n) > 1}
    if dupes:
        raise ValueError(f"duplicate case names {sorted(dupes)}")
    h = json.dumps(head)[:-1]
    lines = [json.dumps(c, separators=(",", ":"), allow_nan=False) for c in cases]
    return h + ', "cases": [\n' + ",\n".join(lines) + "\n]}\n"


def make_optimizers():
    recs = [run_optimizer_case(s) for s in optimizer_cases()]
    for r in recs:
        print(f"  {r['name']:40s} worst |f32-f64| / tol = {r.pop('_worst'):.3f}")
    v = versions()
    head = {"generator": GENERATOR, "torch": v["torch"], "numpy": v["numpy"],
            "num_steps": NUM_STEPS, "tolerance": OPT_TOL}
    return dump(head, recs), len(recs)


def make_schedulers():
    recs = [run_scheduler_case(c) for c in scheduler_cases()]
    v = versions()
    head = {"generator": GENERATOR, "torch": v["torch"], "transformers": v["transformers"],
            "tolerance": SCHED_TOL}
    return dump(head, recs), len(recs)


GROUPS = [("optimizers", make_optimizers), ("schedulers", make_schedulers)]


# ---- --verify: rebuild every case from what the JSON says ---------------------------


def exact(what, got, ref):
    got = np.asarray(got, dtype=np.float64).ravel()
    ref = np.asarray(ref, dtype=np.float64).ravel()
    if got.shape != ref.shape or not np.array_equal(got, ref):
        raise Mismatch(f"{what}: replay differs")


def replay_optimizer(rec):
    params = {p["name"]: np.array(p["values"], dtype=np.float32).reshape(p["shape"])
              for p in rec["params"]}
    grads = [{n: None if v is None else
              np.array(v, dtype=np.float32).reshape(params[n].shape)
              for n, v in step.items()} for step in rec["gradients"]]
    lrc = {int(k): v for k, v in rec.get("lr_changes", {}).items()}
    dtype = torch.float64 if rec["optimizer"] == "Lion" else torch.float32
    traj, state, hp = run_optimizer(rec["optimizer"], rec["kwargs"], rec.get("param_groups"),
                                    lrc, params, grads, dtype)
    if hp != rec["hyperparameters"]:
        raise Mismatch(f"{rec['name']}: hyperparameters differ")
    for k, (a, b) in enumerate(zip(traj, rec["trajectory"])):
        for n in b:
            exact(f"{rec['name']} step {k + 1} {n}", a[n], b[n])
    if len(traj) != len(rec["trajectory"]) or set(state) != set(rec["state_after"]):
        raise Mismatch(f"{rec['name']}: trajectory length or state keys differ")
    for n, st in rec["state_after"].items():
        if set(st) != set(state[n]):
            raise Mismatch(f"{rec['name']}: state keys of {n} differ")
        for k, v in st.items():
            if k == "step" or v is None:
                if state[n][k] != v:
                    raise Mismatch(f"{rec['name']}: state {n}.{k} differs")
            else:
                exact(f"{rec['name']} state {n}.{k}", state[n][k], v)


def replay_scheduler(rec):
    case = dict(rec)
    if rec["source"] == "allennlp (reimplemented)":
        case["num_steps"] = rec["num_epochs"]
        ref = rec["momentums"]
    else:
        case.setdefault("metrics", None)
        case.setdefault("num_steps", None)
        ref = rec["lrs"]
    got = run_scheduler(case)
    if got != ref:
        raise Mismatch(f"{rec['name']}: replay differs")


def verify(only):
    v = versions()
    for group, _ in GROUPS:
        if only and group not in only:
            continue
        with open(os.path.join(OUT_DIR, group + ".json"), encoding="utf-8") as f:
            data = json.load(f)
        for key in ("torch", "transformers"):
            if key in data and data[key] != v[key]:
                print(f"note: {group}.json was made with {key} {data[key]}, "
                      f"this is {v[key]}")
        for rec in data["cases"]:
            if group == "optimizers":
                replay_optimizer(rec)
            else:
                replay_scheduler(rec)
        print(f"{group}.json: verified {len(data['cases'])} cases by replaying the JSON")


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
        text, n = make()
        path = os.path.join(OUT_DIR, group + ".json")
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        print(f"{os.path.relpath(path, REPO)}: {n} cases, {len(text)} bytes")
    v = versions()
    print(f"torch {v['torch']}, transformers {v['transformers']}, numpy {v['numpy']}")


if __name__ == "__main__":
    main(sys.argv)
