"""The tensor-semantics snippets of Tests/fixtures/torch_tensor_semantics.json (written once by
tools/torch_tensor_semantics.py from PyTorch) run through swifttrain: each gives torch's
result, or, where swifttrain differs on purpose, the result the fixture names with its reason
(docs/tensors.md). Torch is not needed here."""

import json
import os
import sys
import warnings

import numpy as np
import pytest

import swifttrain as st

REPO = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
sys.path.insert(0, os.path.join(REPO, "tools"))
from tensor_semantics_form import run as run_with  # noqa: E402 - the fixture's own form

FIXTURE = os.path.join(REPO, "Tests", "fixtures", "torch_tensor_semantics.json")
with open(FIXTURE) as f:
    CASES = json.load(f)["cases"]


def same(got, expected, where="result"):
    """Equal structure, dtypes and shapes; float values within 1e-5 (relative and absolute)."""
    if isinstance(expected, dict) and "raises" in expected:
        assert isinstance(got, dict) and got.get("raises") == expected["raises"], f"{where}: {got}"
        return
    if isinstance(expected, dict):
        assert isinstance(got, dict) and "raises" not in got, f"{where}: got {got}, expected {expected}"
        assert (got["dtype"], got["shape"]) == (expected["dtype"], expected["shape"]), f"{where}: {got}"
        a, e = np.array(got["values"], dtype=object).ravel(), np.array(expected["values"], dtype=object).ravel()
        for i, (x, y) in enumerate(zip(a.tolist(), e.tolist())):
            if isinstance(y, float) and not isinstance(x, str):
                assert abs(x - y) <= 1e-5 + 1e-5 * abs(y), f"{where}[{i}]: {x} vs torch's {y}"
            else:
                assert x == y, f"{where}[{i}]: {x} vs torch's {y}"
        return
    if isinstance(expected, list):
        assert isinstance(got, list) and len(got) == len(expected), f"{where}: {got} vs {expected}"
        for i, (g, e) in enumerate(zip(got, expected)):
            same(g, e, f"{where}[{i}]")
        return
    if isinstance(expected, float):
        assert abs(got - expected) <= 1e-5 + 1e-5 * abs(expected), f"{where}: {got} vs {expected}"
        return
    assert got == expected, f"{where}: {got} vs torch's {expected}"


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_snippet_gives_torchs_result_or_the_documented_difference(case):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got = run_with(case["code"], st)
    same(got, case.get("swifttrain", case["torch"]))


def test_every_documented_difference_is_an_error_with_a_way_out():
    """Where swifttrain differs, it raises (never a silently different value), and the
    message says what to do instead."""
    differing = [c for c in CASES if "swifttrain" in c]
    assert len(differing) >= 8
    hints = {"RuntimeError": "clone()", "TypeError": "swifttrain."}
    for case in differing:
        assert "raises" in case["swifttrain"] and case["why"], case["name"]
        got = run_with(case["code"], st)
        if case["name"] in ("double", "int"):
            assert ".float()" in got["message"] or ".long()" in got["message"], got
        else:
            assert hints[got["raises"]] in got["message"], (case["name"], got["message"])


def test_the_fixture_covers_the_issue():
    names = {c["name"] for c in CASES}
    for needed in ("tensor_copies_an_array", "from_numpy_shares", "index_then_index_writes_through",
                   "slice_add_changes_the_original", "float64_array", "parameter_registration",
                   "clip_grad_norm", "einsum_contractions", "retain_graph", "topk_gradient", "all_any"):
        assert needed in names
