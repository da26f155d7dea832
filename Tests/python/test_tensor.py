"""Tensors as a PyTorch user expects them: creation and types, shared memory with numpy,
operators and broadcasting, autograd (no_grad, detach, accumulation), indexing, printing."""

from __future__ import annotations

import gc
import threading
import weakref

import numpy as np
import pytest

import swifttrain as st
import swifttrain.functional as F


# ---- creation and types ------------------------------------------------------------------

@pytest.mark.parametrize("data, dtype, shape", [
    ([[1.0, 2.0], [3.0, 4.0]], st.float32, (2, 2)),
    ([1, 2, 3], st.int64, (3,)),
    ([True, False], st.bool, (2,)),
    (2.5, st.float32, ()),
    (7, st.int64, ()),
    (np.zeros((2, 1, 3), dtype=np.float32), st.float32, (2, 1, 3)),
    (np.arange(4, dtype=np.int64), st.int64, (4,)),
])
def test_tensor_types_follow_torch(data, dtype, shape):
    t = st.tensor(data)
    assert t.dtype is dtype and t.shape == shape and t.ndim == len(shape) == t.dim()
    assert t.numel() == int(np.prod(shape))
    np.testing.assert_array_equal(np.asarray(t), np.asarray(data).astype(dtype._numpy))


def test_dtype_argument_and_conversion():
    t = st.tensor([1, 2, 3], dtype=st.float32)
    assert t.dtype is st.float32 and t.tolist() == [1.0, 2.0, 3.0]
    assert st.tensor([1.7, -2.2]).long().tolist() == [1, -2]
    assert st.tensor([0, 3]).to(st.bool).tolist() == [False, True]
    assert st.float is st.float32 and st.long is st.int64 and repr(st.int64) == "swifttrain.int64"


def test_creation_functions():
    assert st.zeros(2, 3).tolist() == [[0.0] * 3] * 2
    assert st.zeros((2, 3), dtype=st.int64).dtype is st.int64
    assert st.ones([2]).tolist() == [1.0, 1.0]
    assert st.full((2,), 3).dtype is st.int64 and st.full((2,), 0.5).tolist() == [0.5, 0.5]
    assert st.arange(4).tolist() == [0, 1, 2, 3] and st.arange(4).dtype is st.int64
    np.testing.assert_allclose(np.asarray(st.arange(0, 1, 0.25)), [0, 0.25, 0.5, 0.75])
    r = st.rand(1000, seed=3)
    values = np.asarray(r)
    assert r.shape == (1000,) and values.min() >= 0 and values.max() < 1
    assert st.rand(5, seed=3).tolist() == st.rand(5, seed=3).tolist()
    n = np.asarray(st.randn(20000, seed=1))
    assert abs(n.mean()) < 0.05 and abs(n.std() - 1) < 0.05
    st.manual_seed(11)
    first = st.randn(4).tolist()
    st.manual_seed(11)
    assert st.randn(4).tolist() == first and st.randn(4).tolist() != first
    assert st.zeros_like(st.ones(2, 2, dtype=st.int64)).dtype is st.int64


# ---- shared memory -----------------------------------------------------------------------

@pytest.mark.parametrize("array, name", [
    (np.arange(6, dtype=np.float64).reshape(2, 3), "float32"),
    (np.arange(4, dtype=np.int32), "int64"),
    (np.arange(4, dtype=np.uint8), "int64"),
    (np.ones(2, dtype=np.float16), "float32"),
])
def test_other_array_types_need_an_explicit_dtype(array, name):
    for make in (st.tensor, st.as_tensor):
        with pytest.raises(TypeError, match=f"{array.dtype}.*dtype=swifttrain.{name}"):
            make(array)
    t = st.tensor(array, dtype=getattr(st, name))
    assert t.dtype.name == name
    np.testing.assert_array_equal(np.asarray(t), array.astype(name))
    assert st.as_tensor(array, dtype=name).dtype.name == name


def test_tensor_copies_and_from_numpy_and_as_tensor_share():
    array = np.arange(6, dtype=np.float32).reshape(2, 3)
    copied, shared, as_tensor = st.tensor(array), st.from_numpy(array), st.as_tensor(array)
    array[0, 0] = 42.0
    assert copied[0, 0].item() == 0.0 and not copied._shares_buffer
    assert shared[0, 0].item() == 42.0 and as_tensor[0, 0].item() == 42.0
    np.asarray(shared)[1, 2] = -1.0
    assert array[1, 2] == -1.0 and as_tensor[1, 2].item() == -1.0
    assert shared._shares_buffer and as_tensor._shares_buffer


def test_tensor_keeps_the_array_alive():
    array = np.arange(4, dtype=np.float32)
    ref = weakref.ref(array)
    t = st.from_numpy(array)
    view = t.reshape(2, 2)  # a view reading the same memory
    del array, t
    gc.collect()
    assert ref() is not None
    assert view.tolist() == [[0.0, 1.0], [2.0, 3.0]]
    del view
    gc.collect()
    assert ref() is None


def test_converted_inputs_are_copied():
    doubles = np.ones(3)
    t = st.as_tensor(doubles, dtype=st.float32)
    doubles[0] = 5
    assert t.tolist() == [1.0, 1.0, 1.0] and not t._shares_buffer
    strided = np.arange(8, dtype=np.float32)[::2]
    assert st.tensor(strided).tolist() == [0.0, 2.0, 4.0, 6.0]
    with pytest.raises(ValueError, match="C-contiguous"):
        st.from_numpy(strided)
    with pytest.raises(TypeError, match="float64"):
        st.from_numpy(doubles)


def test_numpy_views_share_memory_and_keep_the_tensor_alive():
    t = st.zeros(2, 3)
    view = np.asarray(t)
    assert view.dtype == np.float32 and view.shape == (2, 3) and view.strides == (12, 4)
    view[0, 1] = 7.0  # write through numpy, read through the tensor
    assert t.tolist()[0][1] == 7.0
    t2 = t * 1.0
    out = t2.numpy()
    assert np.shares_memory(out, np.asarray(t2))
    ints = np.asarray(st.arange(3))
    bools = np.asarray(st.tensor([True, False]))
    assert ints.dtype == np.int64 and bools.dtype == np.bool_
    ref = weakref.ref(t2)
    del t2
    gc.collect()
    assert ref() is not None  # `out` holds the exporter
    out[0, 1] = 3.0
    assert out[0, 1] == 3.0


def test_numpy_refuses_a_tensor_that_requires_grad():
    t = st.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="detach"):
        t.numpy()
    assert t.detach().numpy().tolist() == [1.0, 1.0]


# ---- operators -----------------------------------------------------------------------------

def test_operators_and_reflected_operators():
    a = st.tensor([[1.0, 2.0], [3.0, 4.0]])
    b = st.tensor([10.0, 20.0])  # broadcasts over rows
    assert (a + b).tolist() == [[11.0, 22.0], [13.0, 24.0]]
    assert (a - b).tolist() == [[-9.0, -18.0], [-7.0, -16.0]]
    assert (a * b).tolist() == [[10.0, 40.0], [30.0, 80.0]]
    np.testing.assert_allclose(np.asarray(b / a), [[10.0, 10.0], [10.0 / 3.0, 5.0]], rtol=1e-6)
    assert (1 + a).tolist() == (a + 1).tolist() == [[2.0, 3.0], [4.0, 5.0]]
    assert (10 - a).tolist() == [[9.0, 8.0], [7.0, 6.0]]
    assert (2 * a).tolist() == (a * 2).tolist()
    assert (12 / a).tolist() == [[12.0, 6.0], [4.0, 3.0]]
    assert (a ** 2).tolist() == [[1.0, 4.0], [9.0, 16.0]]
    assert (2 ** a).tolist() == [[2.0, 4.0], [8.0, 16.0]]
    assert (a @ a).tolist() == [[7.0, 10.0], [15.0, 22.0]]
    assert (-a).tolist() == [[-1.0, -2.0], [-3.0, -4.0]] and abs(-a).tolist() == a.tolist()
    assert (np.float32(2) * a).tolist() == (a * 2).tolist()
    assert (np.array([1.0, 1.0]) + a).tolist() == (a + 1).tolist()


def test_broadcasting_shapes():
    x = st.ones(2, 1, 3)
    y = st.ones(4, 1)
    assert (x + y).shape == (2, 4, 3)
    assert (st.ones(5, 3, 4) @ st.ones(4, 2)).shape == (5, 3, 2)
    assert (st.ones(3) @ st.ones(3)).shape == ()


def test_comparisons_return_bool_tensors():
    a = st.tensor([1.0, 2.0, 3.0])
    for result, expected in [(a == 2, [False, True, False]), (a != 2, [True, False, True]),
                             (a < 2, [True, False, False]), (a <= 2, [True, True, False]),
                             (a > 2, [False, False, True]), (a >= 2, [False, True, True]),
                             (a == st.tensor([1.0, 0.0, 3.0]), [True, False, True])]:
        assert result.dtype is st.bool and result.tolist() == expected
    assert (st.arange(3) == 1).tolist() == [False, True, False]
    assert st.where(a > 1, a, 0.0).tolist() == [0.0, 2.0, 3.0]


def test_in_place_updates_under_no_grad():
    w = st.ones(3, requires_grad=True)
    (w * st.tensor([1.0, 2.0, 3.0])).sum().backward()
    with pytest.raises(RuntimeError, match="no_grad"):
        w -= 0.1
    with st.no_grad():
        w -= 0.5 * w.grad
    assert w.requires_grad and np.allclose(np.asarray(w.detach()), [0.5, 0.0, -0.5])


# ---- reductions, shapes, indexing ----------------------------------------------------------

def test_reductions_and_named_tuples():
    x = st.tensor([[1.0, 5.0, 3.0], [4.0, 2.0, 6.0]])
    assert x.sum().item() == 21.0 and x.sum(dim=0).tolist() == [5.0, 7.0, 9.0]
    assert x.mean(dim=(0, 1)).item() == 3.5 and x.sum(1, keepdim=True).shape == (2, 1)
    assert x.max().item() == 6.0 and x.max().shape == ()
    values, indices = x.max(dim=1)
    assert values.tolist() == [5.0, 6.0] and indices.tolist() == [1, 2]
    assert x.min(0).indices.tolist() == [0, 1, 0]
    assert x.argmax().item() == 5 and x.argmax(dim=1).tolist() == [1, 2]
    np.testing.assert_allclose(x.var().item(), np.var(np.asarray(x), ddof=1), rtol=1e-6)
    np.testing.assert_allclose(x.std(dim=1, unbiased=False).tolist(),
                               np.std(np.asarray(x), axis=1), rtol=1e-6)
    np.testing.assert_allclose(x.var(1, correction=0).tolist(), np.var(np.asarray(x), axis=1),
                               rtol=1e-6)


def test_shape_methods():
    x = st.arange(24).reshape(2, 3, 4)
    assert x.view(6, 4).shape == (6, 4) and x.reshape((4, -1)).shape == (4, 6)
    assert x.flatten().shape == (24,) and x.flatten(1).shape == (2, 12)
    assert x.unsqueeze(0).squeeze(0).shape == (2, 3, 4) and st.ones(1, 3, 1).squeeze().shape == (3,)
    assert x.transpose(0, 2).shape == (4, 3, 2) and x.permute(2, 0, 1).shape == (4, 2, 3)
    assert st.ones(3, 1).expand(3, 4).shape == (3, 4)
    m = st.tensor([[1.0, 2.0, 3.0]])
    assert m.T.shape == (3, 1) and m.t().tolist() == [[1.0], [2.0], [3.0]]
    assert [p.shape for p in st.arange(5).split(2)] == [(2,), (2,), (1,)]
    assert [p.tolist() for p in st.arange(5).split([1, 4])] == [[0], [1, 2, 3, 4]]
    assert len(st.arange(6).chunk(3)) == 3
    idx = st.tensor([[0, 0], [1, 0]])
    assert st.tensor([[1.0, 2.0], [3.0, 4.0]]).gather(1, idx).tolist() == [[1, 1], [4, 3]]
    assert x.float().index_select(1, st.tensor([2, 0])).shape == (2, 2, 4)
    assert st.cat([st.ones(2), st.zeros(1)]).tolist() == [1.0, 1.0, 0.0]
    assert st.stack([st.ones(2), st.zeros(2)], dim=1).shape == (2, 2)


def test_getitem():
    x = st.arange(12).reshape(3, 4)
    assert x[1].tolist() == [4, 5, 6, 7] and x[-1, -1].item() == 11
    assert x[:, 1].tolist() == [1, 5, 9] and x[0:3:2, 1:].tolist() == [[1, 2, 3], [9, 10, 11]]
    assert x[..., 0].tolist() == [0, 4, 8] and x[None].shape == (1, 3, 4)
    assert x.float()[st.tensor([2, 0])].tolist() == [[8, 9, 10, 11], [0, 1, 2, 3]]
    with pytest.raises(IndexError, match="out of bounds"):
        x[3]
    with pytest.raises(IndexError, match="too many indices"):
        x[0, 0, 0]
    with pytest.raises(ValueError, match="step must be greater than zero"):
        x[::-1]
    assert [row.tolist() for row in st.arange(4).reshape(2, 2)] == [[0, 1], [2, 3]]


def test_python_protocols_and_repr():
    t = st.tensor([[1.0, 2.0]], requires_grad=True)
    assert repr(t) == "tensor([[1., 2.]], requires_grad=True)"
    assert repr(st.tensor([0.5, 1.25])) == "tensor([0.5000, 1.2500])"
    assert repr(st.arange(3)) == "tensor([0, 1, 2])"
    assert repr(st.tensor(True)) == "tensor(True)"
    assert len(st.zeros(4, 2)) == 4
    assert float(st.tensor(2.5)) == 2.5 and int(st.tensor(7)) == 7 and bool(st.tensor([1.0]))
    assert st.tensor(3).item() == 3 and isinstance(st.tensor(3).item(), int)
    assert f"{st.tensor(0.123456):.3f}" == "0.123"
    with pytest.raises(RuntimeError, match="ambiguous"):
        bool(st.zeros(2))
    with pytest.raises(TypeError, match="0-d"):
        len(st.tensor(1.0))


# ---- autograd ------------------------------------------------------------------------------

def test_backward_accumulates_and_zero_grad():
    x = st.tensor([1.0, 2.0, 3.0], requires_grad=True)
    assert x.is_leaf and x.grad is None
    y = (x * x).sum()
    assert not y.is_leaf and y.requires_grad
    y.backward()
    assert x.grad.tolist() == [2.0, 4.0, 6.0]
    (x * 3).sum().backward()  # gradients add up
    assert x.grad.tolist() == [5.0, 7.0, 9.0]
    x.grad = None
    assert x.grad is None
    (x * 2).sum().backward()
    x.zero_grad()
    assert x.grad is None


def test_backward_with_gradient_argument():
    x = st.tensor([1.0, 2.0], requires_grad=True)
    (x * x).backward(st.tensor([1.0, 0.5]))
    assert x.grad.tolist() == [2.0, 2.0]


def test_no_grad_and_enable_grad():
    x = st.ones(2, requires_grad=True)
    assert st.is_grad_enabled()
    with st.no_grad():
        assert not st.is_grad_enabled()
        assert not (x * 2).requires_grad
        with st.enable_grad():
            assert (x * 2).requires_grad
        assert not st.is_grad_enabled()
    assert st.is_grad_enabled() and (x * 2).requires_grad

    @st.no_grad()
    def predict(value):
        return value * 2

    assert not predict(x).requires_grad and st.is_grad_enabled()
    with st.set_grad_enabled(False):
        assert not st.is_grad_enabled()
    assert st.is_grad_enabled()


def test_grad_mode_is_per_thread():
    seen = []
    with st.no_grad():
        thread = threading.Thread(target=lambda: seen.append(st.is_grad_enabled()))
        thread.start()
        thread.join()
    assert seen == [True]


def test_detach_shares_values_and_stops_gradients():
    x = st.tensor([1.0, 2.0], requires_grad=True)
    d = x.detach()
    assert not d.requires_grad and d.is_leaf
    np.asarray(d)[0] = 9.0  # same memory
    assert x.detach().tolist()[0] == 9.0
    (x * d).sum().backward()
    assert x.grad.tolist() == [9.0, 2.0]


def test_a_small_regression_by_hand():
    # Fit y = 3x - 1 with a manual SGD loop: forward, backward and in-place updates.
    st.manual_seed(0)
    x = st.rand(64, 1, seed=5)
    y = x * 3 - 1
    model = st.nn.Linear(1, 1)
    for _ in range(300):
        loss = F.mse_loss(model(x), y)
        model.zero_grad()
        loss.backward()
        with st.no_grad():
            for p in model.parameters():
                p -= 0.5 * p.grad
    assert loss.item() < 1e-4
    assert abs(model.weight.item() - 3) < 0.05 and abs(model.bias.item() + 1) < 0.05
