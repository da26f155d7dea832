"""``swifttrain.optim`` and the schedulers against PyTorch / transformers reference values
(Tests/fixtures/torch/optimizers.json and schedulers.json, see the README there)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import swifttrain as st
from swifttrain import optim
from swifttrain.optim import lr_scheduler

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "torch"
OPTIMIZERS = json.loads((FIXTURES / "optimizers.json").read_text())
SCHEDULERS = json.loads((FIXTURES / "schedulers.json").read_text())


def _case_id(case):
    return case["name"]


# ---- optimizers -----------------------------------------------------------------------------

def set_grad(p, values):
    """Makes ``p.grad`` exactly ``values`` (None: no gradient). The binding has no grad
    setter, so the gradient comes from backward of sum(p * g), whose gradient is g."""
    p.grad = None
    if values is not None:
        g = st.tensor(np.asarray(values, dtype=np.float32).reshape(p.shape))
        (p * g).sum().backward()


def build(case):
    """The case's parameters (by name) and optimizer, from its resolved hyperparameters."""
    params = {entry["name"]: st.tensor(np.asarray(entry["values"], dtype=np.float32)
                                       .reshape(entry["shape"]), requires_grad=True)
              for entry in case["params"]}
    groups = [dict(group, params=[params[name] for name in group["params"]])
              for group in case["hyperparameters"]]
    return params, getattr(optim, case["optimizer"])(groups)


def assert_close(actual, expected, tolerance, what):
    actual = np.asarray(actual, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64).reshape(actual.shape)
    np.testing.assert_allclose(actual, expected, rtol=tolerance["rtol"], atol=tolerance["atol"],
                               err_msg=what)


@pytest.mark.parametrize("case", OPTIMIZERS["cases"], ids=_case_id)
def test_optimizer_matches_torch(case):
    params, optimizer = build(case)
    tolerance = case.get("tolerance", OPTIMIZERS["tolerance"])
    # The resolved hyperparameters read back as torch's param_groups (without tensors).
    for group, expected in zip(optimizer.param_groups, case["hyperparameters"]):
        got = {key: value for key, value in group.items() if key != "params"}
        assert got == {key: (tuple(v) if key == "betas" else v)
                       for key, v in expected.items() if key != "params"}
    lr_changes = case.get("lr_changes", {})
    for step, (gradients, expected) in enumerate(zip(case["gradients"], case["trajectory"]), 1):
        for i, lr in enumerate(lr_changes.get(str(step), [])):
            optimizer.param_groups[i]["lr"] = lr
        for name, p in params.items():
            set_grad(p, gradients[name])
        optimizer.step()
        for name, p in params.items():
            assert_close(p.detach().numpy(), expected[name], tolerance,
                         f"{case['name']}: {name} after step {step}")
    state_tolerance = case.get("state_tolerance", tolerance)
    state = optimizer.state
    for name, fields in case["state_after"].items():
        got = state.get(params[name], {})
        for field, expected in fields.items():
            assert field in got, f"{case['name']}: {name} has no {field!r} ({sorted(got)})"
            if field == "step":
                assert got[field].item() == expected
            else:
                assert_close(got[field].numpy(), expected, state_tolerance,
                             f"{case['name']}: state {name}.{field}")
        # torch keeps no "step" for SGD and Lion; the library counts steps for every kind.
        assert set(got) - set(fields) <= {"step"}


@pytest.mark.parametrize("name", ["adamw_two_groups", "sgd_momentum_none_grads"])
def test_state_dict_round_trip_continues_the_trajectory(name):
    """Saving after 10 steps and loading into a fresh optimizer over copies of the
    parameters gives the same next 10 steps as the uninterrupted run."""
    case = next(c for c in OPTIMIZERS["cases"] if c["name"] == name)
    params, optimizer = build(case)
    for gradients in case["gradients"][:10]:
        for key, p in params.items():
            set_grad(p, gradients[key])
        optimizer.step()
    saved = optimizer.state_dict()
    assert [group["params"] for group in saved["param_groups"]] == [
        list(range(start, start + len(group["params"])))
        for start, group in zip([0, len(case["hyperparameters"][0]["params"])],
                                case["hyperparameters"])]
    copies = {key: st.tensor(p.detach().numpy().copy(), requires_grad=True)
              for key, p in params.items()}
    groups = [dict(group, params=[copies[key] for key in group["params"]])
              for group in case["hyperparameters"]]
    resumed = getattr(optim, case["optimizer"])(groups)
    resumed.load_state_dict(saved)
    for step, gradients in enumerate(case["gradients"][10:], 11):
        for key in params:
            set_grad(params[key], gradients[key])
            set_grad(copies[key], gradients[key])
        optimizer.step()
        resumed.step()
        for key in params:
            np.testing.assert_array_equal(copies[key].detach().numpy(),
                                          params[key].detach().numpy(), err_msg=f"step {step}")


# ---- schedulers ------------------------------------------------------------------------------

# transformers' own "greedy" (GreedyLR) and "cosine_warmup_with_min_lr" are not implemented
# by the library; AllenNLP's momentum schedule runs inside the Trainer only (no C handle).
UNSUPPORTED = {"greedy", "cosine_warmup_with_min_lr", "inverted_triangular"}
SCHEDULER_CASES = [case for case in SCHEDULERS["cases"] if case["scheduler"] not in UNSUPPORTED]


def test_every_supported_scheduler_case_runs():
    skipped = {case["scheduler"] for case in SCHEDULERS["cases"]} - {
        case["scheduler"] for case in SCHEDULER_CASES}
    assert skipped == UNSUPPORTED
    assert len(SCHEDULER_CASES) == 39


def make_optimizer(base_lrs):
    """torch.optim.SGD with one group per base lr and lr=base_lrs[0], as the generator."""
    params = [st.zeros(2, requires_grad=True) for _ in base_lrs]
    groups = [{"params": [p], "lr": lr} for p, lr in zip(params, base_lrs)]
    return optim.SGD(groups, lr=base_lrs[0])


def make_scheduler(case, optimizer):
    kwargs = case["kwargs"]
    if case["source"] == "transformers.get_scheduler":
        return st.get_scheduler(case["scheduler"], optimizer, **kwargs)
    return getattr(lr_scheduler, case["scheduler"])(optimizer, **kwargs)


@pytest.mark.parametrize("case", SCHEDULER_CASES, ids=_case_id)
def test_scheduler_matches_reference(case):
    optimizer = make_optimizer(case["base_lrs"])
    scheduler = make_scheduler(case, optimizer)
    tolerance = SCHEDULERS["tolerance"]
    got = [scheduler.get_last_lr()]
    if "metrics" in case:
        for metric in case["metrics"]:
            scheduler.step(metric)
            got.append(scheduler.get_last_lr())
    else:
        for _ in range(case["num_steps"]):
            optimizer.step()
            scheduler.step()
            got.append(scheduler.get_last_lr())
    np.testing.assert_allclose(np.array(got), np.array(case["lrs"]), rtol=tolerance["rtol"],
                               atol=tolerance["atol"], err_msg=case["name"])
    # What the scheduler reports is what the optimizer will use.
    assert [group["lr"] for group in optimizer.param_groups] == got[-1]
