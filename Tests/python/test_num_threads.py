"""swifttrain.set_num_threads / get_num_threads: the library's one thread count (OpenBLAS's
and the worker pool's), like torch's, read from SWIFTTRAIN_NUM_THREADS at start."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

import swifttrain as st


@pytest.fixture
def restore_threads():
    before = st.get_num_threads()
    yield
    st.set_num_threads(before)


def test_round_trip(restore_threads):
    assert st.get_num_threads() >= 1
    for n in (1, 3, 2):
        st.set_num_threads(n)
        assert st.get_num_threads() == n


@pytest.mark.parametrize("bad", [0, -1, 1025, 2**31 - 1])
def test_bad_counts_raise_value_error(restore_threads, bad):
    st.set_num_threads(2)
    with pytest.raises(ValueError, match=f"num_threads must be between 1 and 1024, got {bad}") as info:
        st.set_num_threads(bad)
    assert isinstance(info.value, st.InvalidArgumentError)
    assert st.get_num_threads() == 2


def test_wrong_types(restore_threads):
    with pytest.raises(TypeError):
        st.set_num_threads(2.0)
    with pytest.raises(TypeError):
        st.set_num_threads("2")
    with pytest.raises(OverflowError):
        st.set_num_threads(2**80)


def test_training_gives_the_same_weights_with_one_and_two_threads(restore_threads):
    """AdamW on a layer of 256 x 512 weights (two chunks of the pool): the same bits."""
    results = []
    for threads in (1, 2):
        st.set_num_threads(threads)
        st.manual_seed(0)
        layer = st.nn.Linear(512, 256)
        optimizer = st.optim.AdamW(layer.parameters(), lr=1e-2)
        x = st.randn(8, 512, seed=1)
        for _ in range(3):
            optimizer.zero_grad()
            (layer(x) ** 2).mean().backward()
            optimizer.step()
        results.append(layer.weight.tolist())
    assert results[0] == results[1]


def test_environment_variable_sets_the_default():
    env = dict(os.environ, SWIFTTRAIN_NUM_THREADS="3", OPENBLAS_NUM_THREADS="1")
    code = "import swifttrain as st; print(st.get_num_threads())"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "3"
