"""``swifttrain.optim``, the schedulers and the optimization arguments of
``TrainingArguments``: PyTorch's / HF's interface over the library, and errors."""

from __future__ import annotations

import math

import numpy as np
import pytest

import swifttrain as st
from swifttrain import _swifttrain as _C
from swifttrain import nn, optim
from swifttrain.optim import lr_scheduler


def param(*values):
    return st.tensor(np.asarray(values, dtype=np.float32), requires_grad=True)


def set_grad(p, values):
    p.grad = None
    (p * st.tensor(np.asarray(values, dtype=np.float32))).sum().backward()


# ---- optimizers: construction, groups, defaults ---------------------------------------------

OPTIMIZERS = [  # class, st_optimizer, PyTorch's defaults
    (optim.SGD, 1, {"lr": 1e-3, "momentum": 0, "dampening": 0, "weight_decay": 0,
                    "nesterov": False, "maximize": False}),
    (optim.Adam, 2, {"lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0,
                     "amsgrad": False, "maximize": False, "decoupled_weight_decay": False}),
    (optim.AdamW, 0, {"lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 1e-2,
                      "amsgrad": False, "maximize": False, "decoupled_weight_decay": True}),
    (optim.RMSprop, 4, {"lr": 1e-2, "momentum": 0, "alpha": 0.99, "eps": 1e-8,
                        "centered": False, "weight_decay": 0, "maximize": False}),
    (optim.Adagrad, 3, {"lr": 1e-2, "lr_decay": 0, "eps": 1e-10, "weight_decay": 0,
                        "initial_accumulator_value": 0, "maximize": False}),
    (optim.Adadelta, 5, {"lr": 1.0, "rho": 0.9, "eps": 1e-6, "weight_decay": 0,
                         "maximize": False}),
    (optim.Lion, 6, {"lr": 1e-4, "betas": (0.9, 0.99), "weight_decay": 0.0}),
]


@pytest.mark.parametrize("cls, kind, defaults", OPTIMIZERS,
                         ids=lambda v: getattr(v, "__name__", ""))
def test_defaults_are_torchs_and_the_librarys(cls, kind, defaults):
    opt = cls([param(1.0, 2.0)])
    assert opt.defaults == defaults
    core = _C.optim_options_init(kind)  # st_optim_options_init
    assert core["lr"] == defaults["lr"] and core["weight_decay"] == defaults["weight_decay"]
    if "betas" in defaults:
        assert (core["momentum"], core["beta2"]) == defaults["betas"]
    for key in ("eps", "alpha", "rho", "lr_decay", "initial_accumulator_value", "dampening"):
        if key in defaults:
            assert core[key] == defaults[key], key
    group = opt.param_groups[0]
    assert {k: v for k, v in group.items() if k != "params"} == defaults
    assert len(group["params"]) == 1 and len(group) == len(defaults) + 1


def test_params_from_a_model_and_param_groups():
    st.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
    weights = [p for name, p in model.named_parameters() if name.endswith("weight")]
    biases = [p for name, p in model.named_parameters() if name.endswith("bias")]
    opt = optim.SGD([{"params": weights}, {"params": biases, "lr": 0.5, "weight_decay": 0.0}],
                    lr=0.1, momentum=0.9, weight_decay=1e-4)
    assert [g["lr"] for g in opt.param_groups] == [0.1, 0.5]
    assert [g["weight_decay"] for g in opt.param_groups] == [1e-4, 0.0]
    assert [g["momentum"] for g in opt.param_groups] == [0.9, 0.9]
    extra = param(1.0)
    opt.add_param_group({"params": extra, "momentum": 0.5, "name": "extra"})
    assert opt.param_groups[2]["momentum"] == 0.5 and opt.param_groups[2]["lr"] == 0.1
    assert opt.param_groups[2]["name"] == "extra" and opt.param_groups[2]["params"] == [extra]
    adam = optim.Adam([{"params": [param(1.0)]}, {"params": [param(2.0)], "betas": (0.5, 0.999)}])
    assert [g["betas"] for g in adam.param_groups] == [(0.9, 0.999), (0.5, 0.999)]
    assert "Parameter Group 1" in repr(adam) and "betas: (0.5, 0.999)" in repr(adam)
    # The optimizer-wide values come from the first group; later groups inherit them.
    rms = optim.RMSprop([{"params": [param(1.0)], "eps": 1e-6, "centered": True}], lr=0.1)
    rms.add_param_group({"params": [param(2.0)], "momentum": 0.5})
    assert [(g["eps"], g["centered"], g["momentum"]) for g in rms.param_groups] == [
        (1e-6, True, 0), (1e-6, True, 0.5)]
    with pytest.raises(ValueError, match="eps.*first group"):
        rms.add_param_group({"params": [param(3.0)], "eps": 1e-8})
    lion = optim.Lion([{"params": [param(1.0)], "betas": (0.95, 0.98)}])
    lion.add_param_group({"params": [param(2.0)]})
    assert lion.param_groups[1]["betas"] == (0.9, 0.98)


def test_group_writes_reach_the_library():
    p = param(1.0, 1.0)
    opt = optim.SGD([p], lr=0.1)
    set_grad(p, [1.0, 2.0])
    opt.param_groups[0]["lr"] = 0.5          # a manual change takes effect on the next step
    opt.step()
    np.testing.assert_allclose(p.detach().numpy(), [0.5, 0.0])
    assert _core_group(opt, 0)["lr"] == 0.5
    opt.param_groups[0]["weight_decay"] = 0.25
    opt.param_groups[0]["momentum"] = 0.75
    assert _core_group(opt, 0) == {"num_params": 1, "lr": 0.5, "initial_lr": 0.1,
                                   "weight_decay": 0.25, "momentum": 0.75}
    adam = optim.AdamW([param(1.0)])
    adam.param_groups[0]["betas"] = (0.8, 0.999)
    assert _core_group(adam, 0)["momentum"] == 0.8
    with pytest.raises(ValueError, match="betas"):
        adam.param_groups[0]["betas"] = (0.8, 0.9)  # beta2 is one per optimizer
    with pytest.raises(ValueError, match="eps"):
        adam.param_groups[0]["eps"] = 1e-6
    with pytest.raises(ValueError, match="lr.*>= 0"):
        adam.param_groups[0]["lr"] = -1.0


def _core_group(opt, index):
    return opt._core.get_param_group(index)


def test_step_skips_parameters_without_grad_and_closure():
    a, b = param(1.0), param(1.0)
    opt = optim.SGD([a, b], lr=0.5)
    set_grad(a, [2.0])
    opt.step()
    assert (a.item(), b.item()) == (0.0, 1.0)
    assert set(opt.state) <= {a}  # b has no state: it was never updated

    x = st.tensor([3.0])
    calls = []

    def closure():
        calls.append(st.is_grad_enabled())
        opt.zero_grad()
        loss = (b * x).sum()
        loss.backward()
        return loss

    with st.no_grad():
        loss = opt.step(closure)
    assert calls == [True] and loss.item() == 3.0
    assert b.item() == pytest.approx(1.0 - 0.5 * 3.0)


def test_zero_grad():
    p = param(1.0, 2.0)
    opt = optim.Adam([p])
    set_grad(p, [1.0, 1.0])
    opt.zero_grad(set_to_none=False)
    np.testing.assert_array_equal(p.grad.numpy(), [0.0, 0.0])
    opt.zero_grad()
    assert p.grad is None


def test_state_dict_structure_and_errors():
    a, b = param(1.0, 2.0), param(3.0)
    opt = optim.Adam([{"params": [a]}, {"params": [b], "lr": 0.01}], amsgrad=True)
    set_grad(a, [0.5, -0.5])
    opt.step()
    sd = opt.state_dict()
    assert list(sd["state"]) == [0]  # b never had a gradient
    assert set(sd["state"][0]) == {"step", "exp_avg", "exp_avg_sq", "max_exp_avg_sq"}
    assert sd["state"][0]["step"].item() == 1
    assert [g["params"] for g in sd["param_groups"]] == [[0], [1]]
    assert sd["param_groups"][1]["lr"] == 0.01 and sd["param_groups"][0]["amsgrad"] is True

    fresh = optim.Adam([{"params": [param(1.0, 2.0)]}, {"params": [param(3.0)]}], amsgrad=True)
    fresh.load_state_dict(sd)
    assert fresh.param_groups[1]["lr"] == 0.01  # group settings come back too
    np.testing.assert_array_equal(fresh.state_dict()["state"][0]["exp_avg"].numpy(),
                                  sd["state"][0]["exp_avg"].numpy())
    with pytest.raises(ValueError, match="number of parameter groups"):
        optim.Adam([param(1.0)]).load_state_dict(sd)
    with pytest.raises(ValueError, match="size"):
        optim.Adam([{"params": [param(1.0, 2.0), param(0.0)]}, {"params": [param(3.0)]}]
                   ).load_state_dict(sd)
    mis_shaped = optim.Adam([{"params": [param(1.0)]}, {"params": [param(3.0)]}], amsgrad=True)
    with pytest.raises(ValueError, match="exp_avg"):
        mis_shaped.load_state_dict(sd)


def test_optimizer_argument_errors():
    with pytest.raises(TypeError, match="iterable of Tensors"):
        optim.SGD(param(1.0))
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.SGD([])
    with pytest.raises(TypeError, match="only optimize Tensors"):
        optim.SGD([np.zeros(3)])
    with pytest.raises(NotImplementedError, match="maximize"):
        optim.SGD([param(1.0)], maximize=True)
    p = param(1.0)
    opt = optim.SGD([p])
    with pytest.raises(ValueError, match="another group"):
        opt.add_param_group({"params": [p]})
    with pytest.raises(ValueError, match="nesterov"):
        optim.SGD([{"params": [param(1.0)]}, {"params": [param(2.0)], "nesterov": True}],
                  momentum=0.9)


# (d) bad hyper-parameters: ValueError (InvalidArgumentError) naming the argument.
@pytest.mark.parametrize("make, fragments", [
    (lambda p: optim.SGD(p, lr=-0.1), ["lr", "-0.1"]),
    (lambda p: optim.Adam(p, lr=-1), ["lr", "-1"]),
    (lambda p: optim.AdamW([{"params": p, "lr": -2.0}]), ["lr", "-2"]),
    (lambda p: optim.Adam(p, betas=(1.0, 0.999)), ["beta1", "[0, 1)"]),
    (lambda p: optim.AdamW(p, betas=(0.9, 1.5)), ["beta2", "[0, 1)"]),
    (lambda p: optim.Lion(p, betas=(-0.1, 0.99)), ["beta1", "[0, 1)"]),
    (lambda p: optim.Adam(p, eps=-1e-8), ["eps"]),
    (lambda p: optim.SGD(p, momentum=0.9, dampening=0.1, nesterov=True), ["nesterov"]),
    (lambda p: optim.SGD(p, weight_decay=-1), ["weight_decay"]),
    (lambda p: optim.RMSprop(p, alpha=1.5), ["alpha"]),
    (lambda p: optim.Adagrad(p, lr_decay=-1), ["lr_decay"]),
    (lambda p: optim.Adadelta(p, rho=2), ["rho"]),
])
def test_bad_optimizer_hyperparameters(make, fragments):
    with pytest.raises(ValueError) as caught:
        make([param(1.0)])
    assert isinstance(caught.value, st.InvalidArgumentError)
    for fragment in fragments:
        assert fragment in str(caught.value)


# ---- schedulers ---------------------------------------------------------------------------

def test_lambda_lr_with_a_function_and_scheduler_state():
    opt = optim.SGD([{"params": [param(1.0)]}, {"params": [param(1.0)], "lr": 0.5}], lr=1.0)
    sched = lr_scheduler.LambdaLR(opt, lambda epoch: 0.5 ** epoch)
    assert sched.get_last_lr() == [1.0, 0.5] and sched.last_epoch == 0
    opt.step()
    sched.step()
    assert sched.get_last_lr() == [0.5, 0.25] and opt.param_groups[1]["lr"] == 0.25
    assert [g["initial_lr"] for g in opt.param_groups] == [1.0, 0.5]
    state = sched.state_dict()
    assert state["last_epoch"] == 1 and state["base_lrs"] == [1.0, 0.5]

    cosine = st.get_scheduler("cosine", opt, num_warmup_steps=2, num_training_steps=10)
    assert isinstance(cosine, lr_scheduler.LambdaLR)
    for _ in range(4):
        cosine.step()
    saved = cosine.state_dict()
    again = st.get_scheduler("cosine", opt, num_warmup_steps=2, num_training_steps=10)
    again.load_state_dict(saved)
    assert again.last_epoch == 4
    cosine.step()
    again.step()
    assert again.get_last_lr() == cosine.get_last_lr()


def test_schedules_drive_the_optimizer():
    p = param(0.0)
    opt = optim.SGD([p], lr=1.0)
    sched = lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
    moved = []
    for _ in range(4):
        set_grad(p, [-1.0])
        before = p.item()
        opt.step()
        sched.step()
        moved.append(p.item() - before)
    assert moved == [1.0, 1.0, 0.5, 0.5]

    plateau = lr_scheduler.ReduceLROnPlateau(opt, patience=0, factor=0.5)
    lr = opt.param_groups[0]["lr"]
    plateau.step(1.0)
    plateau.step(st.tensor(1.0))  # no improvement
    assert opt.param_groups[0]["lr"] == plateau.get_last_lr()[0] == lr * 0.5


def test_reduce_lr_on_plateau_state_dict_resumes_the_same_way():
    """torch's state_dict keys; a plateau restored mid-way (even one made with other
    arguments) reduces the rate at the same evaluations as the one it was saved from."""
    def make(**kwargs):
        opt = optim.SGD([param(1.0)], lr=1.0)
        return opt, lr_scheduler.ReduceLROnPlateau(opt, **kwargs)

    opt, plateau = make(patience=2, factor=0.5, cooldown=1)
    assert plateau.state_dict()["best"] == math.inf  # torch's mode_worse before any metric
    metrics = [1.0, 0.9, 0.95, 0.95, 0.95, 0.95, 0.8, 0.85, 0.85, 0.85, 0.85]
    for m in metrics[:4]:
        plateau.step(m)
    saved = plateau.state_dict()
    assert set(saved) == {"mode", "factor", "patience", "threshold", "threshold_mode",
                          "cooldown", "eps", "min_lrs", "mode_worse", "best", "num_bad_epochs",
                          "cooldown_counter", "last_epoch", "_last_lr"}
    assert (saved["best"], saved["num_bad_epochs"], saved["last_epoch"]) == (0.9, 2, 4)
    opt2, restored = make()  # torch's defaults; the saved arguments replace them
    opt2.param_groups[0]["lr"] = opt.param_groups[0]["lr"]
    restored.load_state_dict(saved)
    assert (restored.patience, restored.factor, restored.cooldown) == (2, 0.5, 1)
    for m in metrics[4:]:
        plateau.step(m)
        restored.step(m)
        assert opt2.param_groups[0]["lr"] == opt.param_groups[0]["lr"]
    assert opt.param_groups[0]["lr"] < 1.0  # the sequence did reduce it
    with pytest.raises(KeyError, match="num_bad_epochs"):
        restored.load_state_dict({"best": 1.0})
    with pytest.raises(ValueError, match="must be >= 0|between 0"):
        restored.load_state_dict(dict(saved, num_bad_epochs=-1))


@pytest.mark.parametrize("name, kwargs, missing", [
    ("linear", {}, "num_warmup_steps"),
    ("cosine", {"num_warmup_steps": 0}, "num_training_steps"),
    ("polynomial", {"num_warmup_steps": 5}, "num_training_steps"),
    ("cosine_with_min_lr", {"num_warmup_steps": 5}, "num_training_steps"),
    ("constant_with_warmup", {}, "num_warmup_steps"),
    ("inverse_sqrt", {}, "num_warmup_steps"),
    ("warmup_stable_decay", {"num_warmup_steps": 5,
                             "scheduler_specific_kwargs": {"num_decay_steps": 5}},
     "num_training_steps"),
])
def test_get_scheduler_names_the_missing_argument(name, kwargs, missing):
    opt = optim.SGD([param(1.0)], lr=0.1)
    with pytest.raises(ValueError, match=f"{name} requires `{missing}`"):
        st.get_scheduler(name, opt, **kwargs)


def test_get_scheduler_errors():
    opt = optim.SGD([param(1.0)], lr=0.1)
    with pytest.raises(ValueError, match="'greedy' is not a valid SchedulerType"):
        st.get_scheduler("greedy", opt)
    with pytest.raises(ValueError, match="num_cylces"):  # unknown key, from the library
        st.get_scheduler("cosine", opt, 0, 10, {"num_cylces": 2})
    with pytest.raises(ValueError, match="patiense"):
        st.get_scheduler("reduce_lr_on_plateau", opt, scheduler_specific_kwargs={"patiense": 1})
    with pytest.raises(ValueError, match="lr_end"):
        st.get_scheduler("polynomial", opt, 0, 10, {"lr_end": 1.0})
    with pytest.raises(ValueError, match="factor"):
        lr_scheduler.ReduceLROnPlateau(opt, factor=1.5)
    with pytest.raises(ValueError, match="mode"):
        lr_scheduler.ReduceLROnPlateau(opt, mode="mid")
    with pytest.raises(ValueError, match="step_size"):
        lr_scheduler.StepLR(opt, step_size=0)
    with pytest.raises(TypeError, match="not a swifttrain.optim Optimizer"):
        st.get_scheduler("linear", object(), 0, 10)
    assert st.get_scheduler(st.SchedulerType.CONSTANT, opt).get_last_lr() == [0.1]


# ---- TrainingArguments ------------------------------------------------------------------------

def test_new_training_arguments_defaults_and_translation():
    args = st.TrainingArguments()
    assert (args.gradient_accumulation_steps, args.warmup_ratio, args.lr_scheduler_kwargs,
            args.optim_args, args.max_micro_batch_size, args.max_grad_value,
            args.nonfinite_grad_norm, args.ema_decay, args.momentum_scheduler_type,
            args.momentum_scheduler_kwargs, args.metric_for_best_model) == (
        1, 0.0, None, None, 0, 0.0, "error", 0.0, "none", None, None)  # HF's None
    core = st.TrainingArguments(
        warmup_steps=0.1, lr_scheduler_type="cosine_with_restarts",
        lr_scheduler_kwargs={"num_cycles": 2, "extra": None, "flag": True},
        momentum_scheduler_type="inverted_triangular",
        momentum_scheduler_kwargs='{"cool_down": 2, "warm_up": 3}',  # JSON, as HF takes it
        optim="sgd", optim_args="momentum=0.9,nesterov=true", gradient_accumulation_steps=4,
        nonfinite_grad_norm="skip", metric_for_best_model="eval_accuracy",
        ema_decay=0.999).to_core().as_dict()
    assert core["warmup_steps"] == 0.1 and core["gradient_accumulation_steps"] == 4
    assert core["lr_scheduler_kwargs"] == {"num_cycles": 2, "extra": None, "flag": True}  # as HF's dict
    assert core["momentum_scheduler_kwargs"] == {"cool_down": 2, "warm_up": 3}
    assert core["optim_args"] == "momentum=0.9,nesterov=true"
    assert core["metric_for_best_model"] == "eval_accuracy" and core["ema_decay"] == 0.999
    assert (core["nonfinite_grad_norm"], core["momentum_scheduler_type"]) == ("skip", "inverted_triangular")


@pytest.mark.parametrize("kwargs, fragments", [
    ({"optim": "adafactor"}, ["optim", "adafactor", "lion"]),
    ({"lr_scheduler_type": "greedy"}, ["lr_scheduler_type", "greedy", "cosine"]),
    ({"warmup_steps": 2.5}, ["warmup_steps", "2.5"]),
    ({"warmup_ratio": 1.0}, ["warmup_ratio"]),
    ({"gradient_accumulation_steps": 0}, ["gradient_accumulation_steps"]),
    ({"ema_decay": 1.0}, ["ema_decay"]),
    ({"max_grad_value": -1.0}, ["max_grad_value"]),
    ({"nonfinite_grad_norm": "ignore"}, ["nonfinite_grad_norm", "skip"]),
    ({"momentum_scheduler_type": "cyclic"}, ["momentum_scheduler_type", "inverted_triangular"]),
    ({"optim_args": "momentum"}, ["optim_args", "momentum"]),
    ({"adam_beta1": 1.0}, ["adam_beta1"]),
])
def test_bad_optimization_arguments(kwargs, fragments):
    with pytest.raises(ValueError) as caught:
        st.TrainingArguments(**kwargs)
    assert isinstance(caught.value, st.InvalidArgumentError)
    for fragment in fragments:
        assert fragment in str(caught.value)


@pytest.mark.parametrize("kwargs, fragments", [
    ({"warmup_steps": 100}, ["warmup of 100 steps", "45 training steps", "warmup_steps"]),
    ({"warmup_ratio": 0.999}, ["warmup of 45 steps", "warmup_ratio"]),
    ({"lr_scheduler_type": "cosine", "lr_scheduler_kwargs": {"num_cylces": 2}},
     ["lr_scheduler_kwargs", "num_cylces", "num_cycles"]),
    ({"optim": "sgd", "optim_args": "momentun=0.9"}, ["optim_args", "momentun"]),
])
def test_run_dependent_errors_come_from_train(kwargs, fragments, digits, quiet_args, silent):
    st.manual_seed(0)
    model = nn.Sequential(nn.Linear(64, 10))
    args = quiet_args(num_train_epochs=1, per_device_train_batch_size=32, **kwargs)
    trainer = silent(st.Trainer(model, args, train_dataset=digits.train))
    with pytest.raises(ValueError) as caught:
        trainer.train()
    for fragment in fragments:
        assert fragment in str(caught.value)


@pytest.mark.parametrize("name, options", [
    ("linear", {}), ("cosine", {"num_cycles": 0.75}), ("cosine_with_restarts", {"num_cycles": 2}),
    ("polynomial", {"power": 2.0, "lr_end": 1e-4}), ("constant_with_warmup", {}),
    ("inverse_sqrt", {"timescale": 3}), ("cosine_with_min_lr", {"min_lr_rate": 0.1}),
    ("warmup_stable_decay", {"num_decay_steps": 8, "decay_type": "1-sqrt"}),
])
def test_trainer_schedule_is_get_schedulers(name, options, digits, quiet_args, silent):
    """The rates the Trainer logs are those get_scheduler gives for the same settings
    (HF logs, after step k, the lr of step k + 1)."""
    st.manual_seed(0)
    model = nn.Sequential(nn.Linear(64, 10))
    args = quiet_args(lr_scheduler_type=name, lr_scheduler_kwargs=options, warmup_ratio=0.2,
                      num_train_epochs=1, per_device_train_batch_size=64, logging_steps=1,
                      learning_rate=0.01)
    trainer = silent(st.Trainer(model, args, train_dataset=digits.train))
    trainer.train()
    logged = [entry["learning_rate"] for entry in trainer.state.log_history
              if "learning_rate" in entry]
    steps = trainer.state.max_steps
    assert len(logged) == steps == 23
    opt = optim.AdamW(model.parameters(), lr=0.01)
    scheduler = st.get_scheduler(name, opt, num_warmup_steps=5,  # ceil(0.2 * 23)
                                 num_training_steps=steps, scheduler_specific_kwargs=options)
    expected = []
    for _ in range(steps):
        scheduler.step()
        expected.append(scheduler.get_last_lr()[0])
    np.testing.assert_allclose(logged, expected, rtol=1e-12, atol=0)


def test_option_values_that_cannot_be_spelled():
    with pytest.raises(TypeError, match="lr_scheduler_kwargs"):
        st.TrainingArguments(lr_scheduler_kwargs={"num_cycles": [1, 2]})
    with pytest.raises(ValueError, match="may not contain"):
        st.TrainingArguments(lr_scheduler_kwargs={"decay_type": "a,b"})


# ---- behaviour that must match torch: gradients, group checks, torch-shaped states ------------

def test_step_leaves_the_gradient_unchanged():
    p = param(1.0, 1.0)
    opt = optim.SGD([p], lr=0.1, weight_decay=0.5)
    set_grad(p, [1.0, 2.0])
    opt.step()
    np.testing.assert_array_equal(p.grad.numpy(), [1.0, 2.0])


def test_set_param_group_checks_beta1():
    opt = optim.Adam([param(1.0)])
    with pytest.raises(ValueError, match="beta1"):
        opt.param_groups[0]["betas"] = (1.5, 0.999)


def test_load_torch_sgd_state_without_step():
    opt = optim.SGD([param(1.0, 2.0)], lr=0.1, momentum=0.9)
    opt.load_state_dict({"state": {0: {"momentum_buffer": st.tensor([0.5, 0.5])}},
                         "param_groups": [dict(opt.state_dict()["param_groups"][0])]})


def test_reduce_lr_on_plateau_edge_cases_as_torch():
    # a NaN first metric is never an improvement (torch's best starts at +inf)
    opt = optim.SGD([param(1.0)], lr=1.0)
    plateau = lr_scheduler.ReduceLROnPlateau(opt, patience=0, factor=0.1)
    for m in [math.nan, 1.0, 0.5, 0.25]:
        plateau.step(m)
    assert opt.param_groups[0]["lr"] == pytest.approx(0.1)  # torch ends at 0.1 too
    # one made by get_scheduler round-trips, in max mode too
    opt = optim.SGD([param(1.0)], lr=1.0)
    made = st.get_scheduler("reduce_lr_on_plateau", opt,
                            scheduler_specific_kwargs={"mode": "max", "patience": 3})
    made.step(2.0)
    saved = made.state_dict()
    assert (saved["mode"], saved["patience"], saved["mode_worse"], saved["best"]) == \
        ("max", 3, -math.inf, 2.0)
    made.load_state_dict(saved)
    # a state that fails to load leaves the scheduler as it was
    with pytest.raises(ValueError):
        made.load_state_dict(dict(saved, factor=0.5, num_bad_epochs=-1))
    assert made.factor == 0.1 and made.state_dict() == saved
